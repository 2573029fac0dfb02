package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/web"
)

// webOptions are the flags of `kvsrtc web`.
type webOptions struct {
	IO         *IOStreams
	AWS        awsOptions
	Channel    channelFlags
	Listen     string
	URLExpires time.Duration
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newWebCmd(ios, nil) })
}

// newWebCmd builds `kvsrtc web`; runF replaces the work in tests of flag
// parsing.
func newWebCmd(ios *IOStreams, runF func(context.Context, *webOptions) error) *cobra.Command {
	opts := &webOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve a browser viewer for a channel; AWS credentials stay on the server",
		Long: `Serve a web page that views a signaling channel: the video, the connection
timeline and live WebRTC stats. For each page load the server resolves the
endpoints and ICE servers and gives the browser a client id, the ICE servers
and a signaling URL presigned for ConnectAsViewer that expires after
--url-expires. The secret key never reaches the browser.

Anyone who can load the page can view the channel: the default --listen is
loopback only. The URL is printed on stdout once listening ({"url": ...} with
--json); SIGINT or SIGTERM stop the server.`,
		Example: `  kvsrtc web --channel-name cam
  kvsrtc web --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700000000000 --listen 127.0.0.1:8080 --url-expires 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.URLExpires < time.Second || opts.URLExpires > 7*24*time.Hour {
				return usageErrorf("--url-expires %v: want 1s to 168h", opts.URLExpires)
			}
			if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
				return usageErrorf("--listen %q: want host:port", opts.Listen)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runWeb(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to serve the page on (port 0: any free port)")
	f.DurationVar(&opts.URLExpires, "url-expires", web.DefaultURLExpires, "lifetime of each presigned signaling URL given to a browser")
	return cmd
}

func runWeb(ctx context.Context, opts *webOptions) error {
	env, arn, _, err := loadChannel(ctx, opts.IO, &opts.AWS, &opts.Channel, "viewer")
	if err != nil {
		return err
	}
	defer env.done()
	// Fail before listening if the channel or the credentials are wrong.
	if _, err := env.resolver.Endpoints(ctx, arn, channel.RoleViewer); err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if opts.AWS.Verbose {
		logger = slog.New(slog.NewTextHandler(opts.IO.ErrOut, nil))
	}
	srv, err := web.New(web.Options{Resolver: env.resolver, Credentials: env.cfg.Credentials, ChannelARN: arn,
		URLExpires: opts.URLExpires, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/"
	if opts.AWS.JSON {
		if err := writeJSON(opts.IO.Out, map[string]string{"url": url, "channelArn": arn.String()}); err != nil {
			ln.Close()
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "viewing %s at %s\n", arn, url)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", url, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
