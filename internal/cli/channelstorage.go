package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/resolve"
)

// channelStorageOptions are the flags of `kvsrtc channel storage`.
type channelStorageOptions struct {
	channelOptions
	Stream         string
	Create         bool
	RetentionHours int
	Disable        bool
}

// newChannelStorageCmd is `kvsrtc channel storage`: show or set a channel's
// media storage (the stream WebRTC ingestion records into, spec §6).
func newChannelStorageCmd(ios *IOStreams) *cobra.Command {
	o := &channelStorageOptions{channelOptions: channelOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Show or set a channel's media storage: the stream kvsrtc master --storage records into",
		Long: `Without --stream or --disable, show the channel's media storage configuration.
With --stream, enable it into that stream (UpdateMediaStorageConfiguration
ENABLED); --create-stream makes the stream first if it does not exist. With
--disable, turn it off. Works against AWS and the emulator alike.`,
		Example: `  kvsrtc channel storage --channel-name cam
  kvsrtc channel storage --channel-name cam --stream cam-stream --create-stream --retention-hours 24
  kvsrtc channel storage --channel-name cam --disable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.Disable && o.Stream != "":
				return usageErrorf("give --stream or --disable, not both")
			case o.Create && o.Stream == "":
				return usageErrorf("--create-stream needs --stream")
			case o.RetentionHours < 1 || o.RetentionHours > 87600:
				return usageErrorf("--retention-hours %d: want 1 to 87600 (WebRTC ingestion needs a stream that keeps data)", o.RetentionHours)
			}
			return runChannelStorage(cmd.Context(), o)
		},
	}
	addAWSFlags(cmd, &o.AWS)
	o.Channel.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Stream, "stream", "", "enable media storage into this stream (name or ARN)")
	f.BoolVar(&o.Create, "create-stream", false, "create the stream if it does not exist")
	f.IntVar(&o.RetentionHours, "retention-hours", 24, "with --create-stream: the new stream's data retention")
	f.BoolVar(&o.Disable, "disable", false, "turn media storage off")
	return cmd
}

// mediaStorageJSON is the --json output; field names are stable.
type mediaStorageJSON struct {
	ChannelARN string `json:"channelArn"`
	Status     string `json:"status"`
	StreamARN  string `json:"streamArn,omitempty"`
	Created    bool   `json:"streamCreated,omitempty"`
}

func runChannelStorage(ctx context.Context, o *channelStorageOptions) error {
	env, arn, err := o.load(ctx)
	if err != nil {
		return err
	}
	defer env.done()
	info, err := o.describe(ctx, env, arn)
	if err != nil {
		return err
	}
	chARN := aws.ToString(info.ChannelARN)
	c := env.resolver.Client()
	out := mediaStorageJSON{ChannelARN: chARN}
	update := func(status types.MediaStorageConfigurationStatus, stream *string) error {
		_, err := c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &chARN,
			MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: status, StreamARN: stream}}, inRegion(arn))
		if err != nil {
			return fmt.Errorf("update media storage of channel %s: %w", aws.ToString(info.ChannelName), resolve.Classify(err, "kinesisvideo:UpdateMediaStorageConfiguration", chARN))
		}
		return nil
	}
	switch {
	case o.Disable:
		if err := update(types.MediaStorageConfigurationStatusDisabled, nil); err != nil {
			return err
		}
	case o.Stream != "":
		in := &kinesisvideo.DescribeStreamInput{StreamName: aws.String(o.Stream)}
		if len(o.Stream) > 4 && o.Stream[:4] == "arn:" {
			in = &kinesisvideo.DescribeStreamInput{StreamARN: aws.String(o.Stream)}
		}
		s, err := c.DescribeStream(ctx, in, inRegion(arn))
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf) && o.Create && in.StreamName != nil:
			cs, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String(o.Stream),
				DataRetentionInHours: aws.Int32(int32(o.RetentionHours))}, inRegion(arn))
			if err != nil {
				return fmt.Errorf("create stream %s: %w", o.Stream, resolve.Classify(err, "kinesisvideo:CreateStream", ""))
			}
			out.StreamARN, out.Created = aws.ToString(cs.StreamARN), true
		case errors.As(err, &nf):
			return notFoundError{fmt.Errorf("stream %s does not exist (add --create-stream to make it)", o.Stream)}
		case err != nil:
			return fmt.Errorf("describe stream %s: %w", o.Stream, resolve.Classify(err, "kinesisvideo:DescribeStream", ""))
		default:
			out.StreamARN = aws.ToString(s.StreamInfo.StreamARN)
		}
		if err := update(types.MediaStorageConfigurationStatusEnabled, aws.String(out.StreamARN)); err != nil {
			return err
		}
	}
	d, err := c.DescribeMediaStorageConfiguration(ctx, &kinesisvideo.DescribeMediaStorageConfigurationInput{ChannelARN: &chARN}, inRegion(arn))
	if err != nil {
		return fmt.Errorf("describe media storage of channel %s: %w", aws.ToString(info.ChannelName), resolve.Classify(err, "kinesisvideo:DescribeMediaStorageConfiguration", chARN))
	}
	if m := d.MediaStorageConfiguration; m != nil {
		out.Status, out.StreamARN = string(m.Status), aws.ToString(m.StreamARN)
	}
	if o.AWS.JSON {
		return writeJSON(o.IO.Out, out)
	}
	if out.Created {
		fmt.Fprintf(o.IO.Out, "created stream %s (retention %d h)\n", out.StreamARN, o.RetentionHours)
	}
	fmt.Fprintf(o.IO.Out, "channel %s: media storage %s", aws.ToString(info.ChannelName), out.Status)
	if out.StreamARN != "" {
		fmt.Fprintf(o.IO.Out, " into %s", out.StreamARN)
	}
	fmt.Fprintln(o.IO.Out)
	return nil
}
