package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// iceOptions are the flags of `kvsrtc ice`.
type iceOptions struct {
	IO          *IOStreams
	AWS         awsOptions
	Channel     channelFlags
	Role        string
	ClientID    string
	ShowSecrets bool
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newICECmd(ios, nil) })
}

// newICECmd builds `kvsrtc ice`; runF replaces the work in tests of flag
// parsing.
func newICECmd(ios *IOStreams, runF func(context.Context, *iceOptions) error) *cobra.Command {
	opts := &iceOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "ice",
		Short: "Resolve a channel's ICE servers: the KVS STUN URL and TURN servers",
		Long: `Resolve the ICE servers a peer needs: the region's KVS STUN URL, then the
TURN servers GetIceServerConfig returns on the channel's HTTPS endpoint, with
their expiry times. TURN passwords print as **** unless --show-secrets.

ICE servers are cached until their Ttl less 30 s; endpoints for 10 hours.`,
		Example: `  kvsrtc ice --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700506395046 --role viewer --client-id viewer-1
  kvsrtc ice --channel-name cam --role master --json --show-secrets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.ClientID != "" {
				if err := channel.ValidClientID(opts.ClientID); err != nil {
					return &UsageError{Err: err}
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runICE(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	cmd.Flags().StringVar(&opts.Role, "role", "viewer", "master or viewer")
	cmd.Flags().StringVar(&opts.ClientID, "client-id", "", "client id sent to GetIceServerConfig (a viewer's id)")
	cmd.Flags().BoolVar(&opts.ShowSecrets, "show-secrets", false, "print TURN passwords instead of ****")
	return cmd
}

// iceJSON is the --json output of `kvsrtc ice`; field names are stable and
// iceServers is an RTCConfiguration.iceServers array.
type iceJSON struct {
	ChannelARN string              `json:"channelArn"`
	Role       string              `json:"role"`
	ClientID   string              `json:"clientId,omitempty"`
	ICEServers []resolve.ICEServer `json:"iceServers"`
	FetchedAt  time.Time           `json:"fetchedAt"`
	Expires    time.Time           `json:"expires"`
	Cached     bool                `json:"cached"`
}

func runICE(ctx context.Context, opts *iceOptions) error {
	env, arn, role, err := loadChannel(ctx, opts.IO, &opts.AWS, &opts.Channel, opts.Role)
	if err != nil {
		return err
	}
	defer env.done()
	res, err := env.resolver.Resolve(ctx, arn, role, opts.ClientID)
	if err != nil {
		return err
	}
	if env.verbose && res.ICE.FromCache {
		fmt.Fprintf(env.stderr, "cache: ICE servers from %s\n", env.cachePath)
	}
	ice := res.ICE
	if !opts.ShowSecrets {
		ice = ice.Redacted()
	}
	if opts.AWS.JSON {
		return writeJSON(opts.IO.Out, iceJSON{ChannelARN: arn.String(), Role: role.String(), ClientID: opts.ClientID,
			ICEServers: ice.Servers, FetchedAt: ice.FetchedAt, Expires: ice.Expires, Cached: ice.FromCache})
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "URL\tUSERNAME\tPASSWORD\tEXPIRES")
	for _, s := range ice.Servers {
		exp := "-"
		if !s.Expires.IsZero() {
			exp = s.Expires.UTC().Format(time.TimeOnly) + "Z"
		}
		user, pass := orDash(s.Username), orDash(s.Credential)
		for i, u := range s.URLs {
			if i > 0 {
				user, pass, exp = `"`, `"`, `"`
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u, user, pass, exp)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "refresh by %s\n", expiry(ice.Expires, ice.FromCache))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
