package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

func createStream(t *testing.T, c *kinesisvideo.Client, name string, retention int32) string {
	t.Helper()
	out, err := c.CreateStream(context.Background(), &kinesisvideo.CreateStreamInput{StreamName: aws.String(name), DataRetentionInHours: aws.Int32(retention)})
	if err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	return aws.ToString(out.StreamARN)
}

// The stream operations with the unmodified aws-sdk-go-v2 client.
func TestStreamLifecycleWithSDK(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	ctx := context.Background()
	c := newClient(e, noRetry)
	out, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String("cam-1"), DataRetentionInHours: aws.Int32(24),
		MediaType: aws.String("video/h264,audio/opus"), DeviceName: aws.String("porch"), Tags: map[string]string{"site": "home"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.StreamARN)
	if want := regexp.MustCompile(`^arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam-1/\d{13}$`); !want.MatchString(arn) {
		t.Fatalf("stream ARN %q does not match %v", arn, want)
	}
	d, err := c.DescribeStream(ctx, &kinesisvideo.DescribeStreamInput{StreamName: aws.String("cam-1")})
	if err != nil {
		t.Fatal(err)
	}
	si := d.StreamInfo
	if aws.ToString(si.StreamARN) != arn || si.Status != types.StatusActive || aws.ToInt32(si.DataRetentionInHours) != 24 ||
		aws.ToString(si.MediaType) != "video/h264,audio/opus" || aws.ToString(si.DeviceName) != "porch" || aws.ToString(si.Version) == "" ||
		!strings.HasPrefix(aws.ToString(si.KmsKeyId), "arn:aws:kms:us-west-2:123456789012:") {
		t.Fatalf("describe: %+v", si)
	}
	if ms := si.CreationTime.UnixMilli(); !strings.HasSuffix(arn, fmt.Sprintf("/%d", ms)) {
		t.Fatalf("CreationTime %v does not match ARN %s", si.CreationTime, arn)
	}
	if d2, err := c.DescribeStream(ctx, &kinesisvideo.DescribeStreamInput{StreamARN: &arn}); err != nil || aws.ToString(d2.StreamInfo.StreamName) != "cam-1" {
		t.Fatalf("describe by ARN: %v", err)
	}

	var inUse *types.ResourceInUseException
	if _, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String("cam-1")}); !errors.As(err, &inUse) {
		t.Fatalf("duplicate name: want ResourceInUseException, got %v", err)
	}
	var invalid *types.InvalidArgumentException
	if _, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String("bad name")}); !errors.As(err, &invalid) {
		t.Fatalf("bad name: want InvalidArgumentException, got %v", err)
	}
	var notFound *types.ResourceNotFoundException
	if _, err := c.DescribeStream(ctx, &kinesisvideo.DescribeStreamInput{StreamName: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Fatalf("unknown stream: want ResourceNotFoundException, got %v", err)
	}

	// List: prefix and pages.
	for _, n := range []string{"cam-2", "cam-3", "door"} {
		createStream(t, c, n, 1)
	}
	var names []string
	in := &kinesisvideo.ListStreamsInput{MaxResults: aws.Int32(2), StreamNameCondition: &types.StreamNameCondition{
		ComparisonOperator: types.ComparisonOperatorBeginsWith, ComparisonValue: aws.String("cam-")}}
	for p := kinesisvideo.NewListStreamsPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.StreamInfoList {
			names = append(names, aws.ToString(s.StreamName))
		}
	}
	if got := strings.Join(names, ","); got != "cam-1,cam-2,cam-3" {
		t.Fatalf("list cam-*: %s", got)
	}

	// Delete: a stale version is refused; then the stream is gone.
	var vm *types.VersionMismatchException
	if _, err := c.DeleteStream(ctx, &kinesisvideo.DeleteStreamInput{StreamARN: &arn, CurrentVersion: aws.String("stale")}); !errors.As(err, &vm) {
		t.Fatalf("delete with a stale version: want VersionMismatchException, got %v", err)
	}
	if _, err := c.DeleteStream(ctx, &kinesisvideo.DeleteStreamInput{StreamARN: &arn, CurrentVersion: si.Version}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeStream(ctx, &kinesisvideo.DescribeStreamInput{StreamARN: &arn}); !errors.As(err, &notFound) {
		t.Fatalf("after delete: want ResourceNotFoundException, got %v", err)
	}
	// Another account does not see this account's streams.
	other := emulator.Credential{AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret", Account: "210987654321"}
	e2 := emulatortest.Start(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, other}})
	createStream(t, newClient(e2), "mine", 1)
	cfg := emulatortest.Config(e2)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(other.AccessKeyID, other.SecretAccessKey, "")
	if l, err := kinesisvideo.NewFromConfig(cfg).ListStreams(ctx, &kinesisvideo.ListStreamsInput{}); err != nil || len(l.StreamInfoList) != 0 {
		t.Fatalf("other account lists %v, %v", l, err)
	}
}

// UpdateMediaStorageConfiguration's rules and the WEBRTC endpoint they open.
func TestMediaStorageRules(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	ctx := context.Background()
	c := newClient(e, noRetry)
	ch := createChannel(t, c, "ingest")
	ch2 := createChannel(t, c, "other")
	stream := createStream(t, c, "ingest-stream", 24)
	noRetention := createStream(t, c, "no-retention", 0)
	enable := func(channel, stream string) error {
		_, err := c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &channel,
			MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusEnabled, StreamARN: aws.String(stream)}})
		return err
	}
	webrtc := func(channel string) (string, error) {
		out, err := c.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &channel,
			SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
				Protocols: []types.ChannelProtocol{types.ChannelProtocolWebrtc}, Role: types.ChannelRoleMaster}})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ResourceEndpointList[0].ResourceEndpoint), nil
	}
	var invalid *types.InvalidArgumentException
	if _, err := webrtc(ch); !errors.As(err, &invalid) {
		t.Fatalf("WEBRTC before media storage is enabled: want InvalidArgumentException, got %v", err)
	}
	d, err := c.DescribeMediaStorageConfiguration(ctx, &kinesisvideo.DescribeMediaStorageConfigurationInput{ChannelARN: &ch})
	if err != nil || d.MediaStorageConfiguration.Status != types.MediaStorageConfigurationStatusDisabled || d.MediaStorageConfiguration.StreamARN != nil {
		t.Fatalf("describe a new channel: %v %+v", err, d)
	}

	var notFound *types.ResourceNotFoundException
	var noData *types.NoDataRetentionException
	var inUse *types.ResourceInUseException
	missing := strings.Replace(stream, "ingest-stream", "missing", 1)
	for _, tc := range []struct {
		name, stream string
		target       any
	}{
		{"unknown stream", missing, &notFound},
		{"no data retention", noRetention, &noData},
	} {
		if err := enable(ch, tc.stream); !errors.As(err, tc.target) {
			t.Errorf("%s: want %T, got %v", tc.name, tc.target, err)
		}
	}
	_, err = c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &ch,
		MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusEnabled}})
	if !errors.As(err, &invalid) {
		t.Fatalf("ENABLED without StreamARN: want InvalidArgumentException, got %v", err)
	}

	if err := enable(ch, stream); err != nil {
		t.Fatal(err)
	}
	d, err = c.DescribeMediaStorageConfiguration(ctx, &kinesisvideo.DescribeMediaStorageConfigurationInput{ChannelName: aws.String("ingest")})
	if err != nil || d.MediaStorageConfiguration.Status != types.MediaStorageConfigurationStatusEnabled || aws.ToString(d.MediaStorageConfiguration.StreamARN) != stream {
		t.Fatalf("describe after enable: %v %+v", err, d)
	}
	if err := enable(ch, stream); err != nil {
		t.Fatalf("enabling again into the same stream: %v", err)
	}
	if err := enable(ch2, stream); !errors.As(err, &inUse) {
		t.Fatalf("a second channel into the same stream: want ResourceInUseException, got %v", err)
	}
	ep, err := webrtc(ch)
	if err != nil || !strings.HasPrefix(ep, "https://") {
		t.Fatalf("WEBRTC endpoint after enable: %q %v", ep, err)
	}
	if ep2, _ := webrtc(ch); ep2 != ep {
		t.Fatalf("WEBRTC endpoint is not stable: %s then %s", ep, ep2)
	}
	if _, err := c.DeleteStream(ctx, &kinesisvideo.DeleteStreamInput{StreamARN: &stream}); !errors.As(err, &inUse) {
		t.Fatalf("deleting the stream a channel stores into: want ResourceInUseException, got %v", err)
	}

	_, err = c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &ch,
		MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webrtc(ch); !errors.As(err, &invalid) {
		t.Fatalf("WEBRTC after disable: want InvalidArgumentException, got %v", err)
	}
	if _, err := c.DeleteStream(ctx, &kinesisvideo.DeleteStreamInput{StreamARN: &stream}); err != nil {
		t.Fatalf("delete after disable: %v", err)
	}
}

// Streams persist in the data dir like channels.
func TestStreamsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := emulator.Start(context.Background(), emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	arn := createStream(t, newClient(e), "kept", 2)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := emulatortest.Start(t, emulator.Options{DataDir: dir})
	d, err := newClient(e2).DescribeStream(context.Background(), &kinesisvideo.DescribeStreamInput{StreamName: aws.String("kept")})
	if err != nil || aws.ToString(d.StreamInfo.StreamARN) != arn || aws.ToInt32(d.StreamInfo.DataRetentionInHours) != 2 {
		t.Fatalf("after restart: %v %+v", err, d)
	}
}
