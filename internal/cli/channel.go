package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// channelOptions are the flags of `kvsrtc channel …`.
type channelOptions struct {
	IO         *IOStreams
	AWS        awsOptions
	Channel    channelFlags
	MessageTTL time.Duration
	Tags       []string
	Prefix     string
}

func init() {
	commands = append(commands, newChannelCmd)
}

func newChannelCmd(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channel",
		Short: "Create, describe, list, update and delete signaling channels",
	}
	sub := func(use, short, example string, run func(context.Context, *channelOptions) error, setup func(*cobra.Command, *channelOptions)) {
		opts := &channelOptions{IO: ios}
		c := &cobra.Command{
			Use: use, Short: short, Example: example, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), opts) },
		}
		addAWSFlags(c, &opts.AWS)
		setup(c, opts)
		cmd.AddCommand(c)
	}
	ttl := func(c *cobra.Command, o *channelOptions, def time.Duration) {
		c.Flags().DurationVar(&o.MessageTTL, "message-ttl", def, "how long undelivered messages are kept (5s to 120s)")
	}
	sub("create", "Create a signaling channel (SINGLE_MASTER)", "  kvsrtc channel create --channel-name cam --region us-west-2",
		runChannelCreate, func(c *cobra.Command, o *channelOptions) {
			c.Flags().StringVar(&o.Channel.Name, "channel-name", "", "name of the new channel")
			ttl(c, o, 60*time.Second)
			c.Flags().StringArrayVar(&o.Tags, "tag", nil, "tag as key=value (repeatable)")
		})
	sub("describe", "Describe a signaling channel", "  kvsrtc channel describe --channel-name cam --json",
		runChannelDescribe, func(c *cobra.Command, o *channelOptions) { o.Channel.add(c) })
	sub("list", "List signaling channels", "  kvsrtc channel list --prefix cam",
		runChannelList, func(c *cobra.Command, o *channelOptions) {
			c.Flags().StringVar(&o.Prefix, "prefix", "", "only channels whose name begins with this")
		})
	sub("update", "Change a channel's message TTL", "  kvsrtc channel update --channel-name cam --message-ttl 90s",
		runChannelUpdate, func(c *cobra.Command, o *channelOptions) { o.Channel.add(c); ttl(c, o, 0) })
	sub("delete", "Delete a signaling channel", "  kvsrtc channel delete --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700506395046",
		runChannelDelete, func(c *cobra.Command, o *channelOptions) { o.Channel.add(c) })
	cmd.AddCommand(newChannelStorageCmd(ios)) // channelstorage.go
	return cmd
}

// channelJSON is the --json shape of a channel; field names are stable.
type channelJSON struct {
	ChannelARN        string    `json:"channelArn"`
	ChannelName       string    `json:"channelName,omitempty"`
	Status            string    `json:"status,omitempty"`
	Type              string    `json:"type,omitempty"`
	MessageTTLSeconds int32     `json:"messageTtlSeconds,omitempty"`
	Version           string    `json:"version,omitempty"`
	CreationTime      time.Time `json:"creationTime,omitzero"`
}

func channelOf(info *types.ChannelInfo) channelJSON {
	c := channelJSON{ChannelARN: aws.ToString(info.ChannelARN), ChannelName: aws.ToString(info.ChannelName),
		Status: string(info.ChannelStatus), Type: string(info.ChannelType), Version: aws.ToString(info.Version)}
	if info.SingleMasterConfiguration != nil {
		c.MessageTTLSeconds = aws.ToInt32(info.SingleMasterConfiguration.MessageTtlSeconds)
	}
	if info.CreationTime != nil {
		c.CreationTime = info.CreationTime.UTC()
	}
	return c
}

// load parses the channel flags and loads credentials; it needs a
// region from somewhere (flag, env, profile, ARN, credentials URL).
func (o *channelOptions) load(ctx context.Context) (*awsEnv, channel.ARN, error) {
	arn, region, err := o.Channel.parse(&o.AWS)
	if err != nil {
		return nil, arn, err
	}
	env, err := o.AWS.load(ctx, o.IO, region)
	if err != nil {
		return nil, arn, err
	}
	if env.cfg.Region == "" {
		return nil, arn, fmt.Errorf("%w: pass --region or set AWS_REGION", resolve.ErrNoRegion)
	}
	return env, arn, nil
}

// describe finds a channel by ARN or name.
func (o *channelOptions) describe(ctx context.Context, env *awsEnv, arn channel.ARN) (*types.ChannelInfo, error) {
	in := &kinesisvideo.DescribeSignalingChannelInput{}
	what := arn.String()
	switch {
	case o.Channel.ARN != "":
		in.ChannelARN = aws.String(arn.String())
	case o.Channel.Name != "":
		in.ChannelName, what = aws.String(o.Channel.Name), o.Channel.Name
	default:
		return nil, usageErrorf("give --channel-arn or --channel-name")
	}
	out, err := env.resolver.Client().DescribeSignalingChannel(ctx, in, inRegion(arn))
	if err != nil {
		return nil, fmt.Errorf("describe channel %s: %w", what, resolve.Classify(err, "kinesisvideo:DescribeSignalingChannel", arn.String()))
	}
	if out.ChannelInfo == nil {
		return nil, fmt.Errorf("describe channel %s: no ChannelInfo in the answer", what)
	}
	return out.ChannelInfo, nil
}

// inRegion calls in the ARN's region when there is one.
func inRegion(arn channel.ARN) func(*kinesisvideo.Options) {
	return func(o *kinesisvideo.Options) {
		if arn.Region != "" {
			o.Region = arn.Region
		}
	}
}

func ttlSeconds(d time.Duration) (*int32, error) {
	if d%time.Second != 0 || d < 5*time.Second || d > 120*time.Second {
		return nil, usageErrorf("--message-ttl %v: want whole seconds from 5s to 120s", d)
	}
	return aws.Int32(int32(d / time.Second)), nil
}

func runChannelCreate(ctx context.Context, o *channelOptions) error {
	if o.Channel.Name == "" {
		return usageErrorf("--channel-name is required")
	}
	if err := channel.ValidName(o.Channel.Name); err != nil {
		return &UsageError{Err: err}
	}
	ttl, err := ttlSeconds(o.MessageTTL)
	if err != nil {
		return err
	}
	in := &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(o.Channel.Name), ChannelType: types.ChannelTypeSingleMaster,
		SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: ttl}}
	for _, t := range o.Tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return usageErrorf("--tag %q: want key=value", t)
		}
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	o.Channel.Name = "" // parse: a name to create is not one to look up
	env, _, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	out, err := env.resolver.Client().CreateSignalingChannel(ctx, in)
	if err != nil {
		return fmt.Errorf("create channel %s: %w", *in.ChannelName, resolve.Classify(err, "kinesisvideo:CreateSignalingChannel", ""))
	}
	arn := aws.ToString(out.ChannelARN)
	if o.AWS.JSON {
		return writeJSON(o.IO.Out, channelJSON{ChannelARN: arn, ChannelName: *in.ChannelName})
	}
	fmt.Fprintln(o.IO.Out, arn)
	return nil
}

func runChannelDescribe(ctx context.Context, o *channelOptions) error {
	env, arn, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	info, err := o.describe(ctx, env, arn)
	if err != nil {
		return err
	}
	c := channelOf(info)
	if o.AWS.JSON {
		return writeJSON(o.IO.Out, c)
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "name\t%s\n", c.ChannelName)
	fmt.Fprintf(tw, "arn\t%s\n", c.ChannelARN)
	fmt.Fprintf(tw, "status\t%s\n", c.Status)
	fmt.Fprintf(tw, "type\t%s\n", c.Type)
	fmt.Fprintf(tw, "message ttl\t%ds\n", c.MessageTTLSeconds)
	fmt.Fprintf(tw, "version\t%s\n", c.Version)
	fmt.Fprintf(tw, "created\t%s\n", c.CreationTime.Format(time.RFC3339))
	return tw.Flush()
}

func runChannelList(ctx context.Context, o *channelOptions) error {
	env, _, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	in := &kinesisvideo.ListSignalingChannelsInput{}
	if o.Prefix != "" {
		in.ChannelNameCondition = &types.ChannelNameCondition{ComparisonOperator: types.ComparisonOperatorBeginsWith, ComparisonValue: aws.String(o.Prefix)}
	}
	list := []channelJSON{}
	p := kinesisvideo.NewListSignalingChannelsPaginator(env.resolver.Client(), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list channels: %w", resolve.Classify(err, "kinesisvideo:ListSignalingChannels", ""))
		}
		for i := range page.ChannelInfoList {
			list = append(list, channelOf(&page.ChannelInfoList[i]))
		}
	}
	if o.AWS.JSON {
		return writeJSON(o.IO.Out, struct {
			Channels []channelJSON `json:"channels"`
		}{list})
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tCREATED\tARN")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ChannelName, c.Status, c.CreationTime.Format(time.DateOnly), c.ChannelARN)
	}
	return tw.Flush()
}

func runChannelUpdate(ctx context.Context, o *channelOptions) error {
	ttl, err := ttlSeconds(o.MessageTTL)
	if err != nil {
		return err
	}
	env, arn, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	info, err := o.describe(ctx, env, arn)
	if err != nil {
		return err
	}
	_, err = env.resolver.Client().UpdateSignalingChannel(ctx, &kinesisvideo.UpdateSignalingChannelInput{
		ChannelARN: info.ChannelARN, CurrentVersion: info.Version,
		SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: ttl},
	}, inRegion(arn))
	if err != nil {
		return fmt.Errorf("update channel %s: %w", aws.ToString(info.ChannelARN), resolve.Classify(err, "kinesisvideo:UpdateSignalingChannel", aws.ToString(info.ChannelARN)))
	}
	if o.AWS.JSON {
		c := channelOf(info)
		c.MessageTTLSeconds = *ttl
		return writeJSON(o.IO.Out, c)
	}
	fmt.Fprintf(o.IO.Out, "updated %s: message ttl %ds\n", aws.ToString(info.ChannelARN), *ttl)
	return nil
}

func runChannelDelete(ctx context.Context, o *channelOptions) error {
	env, arn, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	if o.Channel.ARN == "" {
		info, err := o.describe(ctx, env, arn)
		if err != nil {
			return err
		}
		if arn, err = channel.ParseARN(aws.ToString(info.ChannelARN)); err != nil {
			return err
		}
	}
	_, err = env.resolver.Client().DeleteSignalingChannel(ctx, &kinesisvideo.DeleteSignalingChannelInput{ChannelARN: aws.String(arn.String())}, inRegion(arn))
	if err != nil {
		return fmt.Errorf("delete channel %s: %w", arn, resolve.Classify(err, "kinesisvideo:DeleteSignalingChannel", arn.String()))
	}
	// Cached endpoints of a deleted channel are useless (and its name may
	// be reused by a new channel with a new ARN).
	env.resolver.Invalidate(ctx, arn, channel.RoleUnknown)
	env.resolver.InvalidateName(ctx, arn.Region, arn.Name)
	if o.AWS.JSON {
		return writeJSON(o.IO.Out, channelJSON{ChannelARN: arn.String(), ChannelName: arn.Name, Status: "DELETING"})
	}
	fmt.Fprintf(o.IO.Out, "deleted %s\n", arn)
	return nil
}
