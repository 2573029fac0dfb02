package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
)

// endpointsOptions are the flags of `kvsrtc endpoints`.
type endpointsOptions struct {
	IO      *IOStreams
	AWS     awsOptions
	Channel channelFlags
	Role    string
	WebRTC  bool
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newEndpointsCmd(ios, nil) })
}

// newEndpointsCmd builds `kvsrtc endpoints`; runF replaces the work in tests
// of flag parsing.
func newEndpointsCmd(ios *IOStreams, runF func(context.Context, *endpointsOptions) error) *cobra.Command {
	opts := &endpointsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "Resolve a channel's signaling endpoints (HTTPS, WSS) for a role",
		Long: `Resolve a signaling channel's endpoints for a role with
GetSignalingChannelEndpoint. The region and partition come from the channel
ARN; the control-plane host comes from the AWS SDK's endpoint rules.

Results are cached for 10 hours in the user cache dir (` + envCacheDir + `
moves it, --no-cache skips it): a second run makes no call.`,
		Example: `  kvsrtc endpoints --channel-arn arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/cam/1700506395046 --role viewer
  kvsrtc endpoints --channel-name cam --region us-west-2 --role master --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runEndpoints(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	cmd.Flags().StringVar(&opts.Role, "role", "viewer", "master or viewer")
	cmd.Flags().BoolVar(&opts.WebRTC, "webrtc", false, "also resolve the WEBRTC (ingestion) endpoint")
	return cmd
}

// endpointsJSON is the --json output of `kvsrtc endpoints`; field names are stable.
type endpointsJSON struct {
	ChannelARN   string    `json:"channelArn"`
	Role         string    `json:"role"`
	Region       string    `json:"region"`
	ControlPlane string    `json:"controlPlane"`
	HTTPS        string    `json:"https"`
	WSS          string    `json:"wss"`
	WebRTC       string    `json:"webrtc,omitempty"`
	FetchedAt    time.Time `json:"fetchedAt"`
	Expires      time.Time `json:"expires"`
	Cached       bool      `json:"cached"`
}

// loadChannel parses flags, loads credentials and finds the channel.
func loadChannel(ctx context.Context, ios *IOStreams, aws *awsOptions, ch *channelFlags, roleFlag string) (*awsEnv, channel.ARN, channel.Role, error) {
	role, err := channel.ParseRole(roleFlag)
	if err != nil {
		return nil, channel.ARN{}, 0, &UsageError{Err: err}
	}
	arn, region, err := ch.parse(aws)
	if err != nil {
		return nil, channel.ARN{}, 0, err
	}
	env, err := aws.load(ctx, ios, region)
	if err != nil {
		return nil, channel.ARN{}, 0, err
	}
	arn, err = env.channel(ctx, ch, arn)
	if err != nil {
		env.done()
		return nil, channel.ARN{}, 0, err
	}
	return env, arn, role, nil
}

func runEndpoints(ctx context.Context, opts *endpointsOptions) error {
	opts.AWS.webrtc = opts.WebRTC
	env, arn, role, err := loadChannel(ctx, opts.IO, &opts.AWS, &opts.Channel, opts.Role)
	if err != nil {
		return err
	}
	defer env.done()
	r := env.resolver
	ep, err := r.Endpoints(ctx, arn, role)
	if err != nil {
		return err
	}
	cp, _ := r.ControlPlaneURL(arn.Region)
	out := endpointsJSON{ChannelARN: ep.ChannelARN, Role: role.String(), Region: arn.Region, ControlPlane: cp,
		HTTPS: ep.HTTPS, WSS: ep.WSS, WebRTC: ep.WebRTC, FetchedAt: ep.FetchedAt, Expires: ep.Expires, Cached: ep.FromCache}
	if ep.FromCache && env.verbose {
		fmt.Fprintf(env.stderr, "cache: endpoints from %s\n", env.cachePath)
	}
	if opts.AWS.JSON {
		return writeJSON(opts.IO.Out, out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "channel\t%s\n", out.ChannelARN)
	fmt.Fprintf(tw, "role\t%s\n", out.Role)
	fmt.Fprintf(tw, "control plane\t%s\n", out.ControlPlane)
	fmt.Fprintf(tw, "https\t%s\n", out.HTTPS)
	fmt.Fprintf(tw, "wss\t%s\n", out.WSS)
	if out.WebRTC != "" {
		fmt.Fprintf(tw, "webrtc\t%s\n", out.WebRTC)
	}
	fmt.Fprintf(tw, "expires\t%s\n", expiry(out.Expires, out.Cached))
	return tw.Flush()
}

// expiry prints a time with how far off it is: "2026-01-02T15:04:05Z (in 9h59m, cached)".
func expiry(t time.Time, cached bool) string {
	s := fmt.Sprintf("%s (in %v", t.UTC().Format(time.RFC3339), time.Until(t).Round(time.Second))
	if cached {
		s += ", cached"
	}
	return s + ")"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
