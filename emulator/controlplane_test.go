package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/aws/smithy-go"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

func newClient(e *emulator.Emulator, optFns ...func(*kinesisvideo.Options)) *kinesisvideo.Client {
	return kinesisvideo.NewFromConfig(emulatortest.Config(e), optFns...)
}

func noRetry(o *kinesisvideo.Options) { o.RetryMaxAttempts = 1 }

func createChannel(t *testing.T, c *kinesisvideo.Client, name string) string {
	t.Helper()
	out, err := c.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return aws.ToString(out.ChannelARN)
}

func TestChannelLifecycleWithSDK(t *testing.T) {
	for _, region := range []struct{ name, partition string }{{"us-west-2", "aws"}, {"cn-north-1", "aws-cn"}} {
		t.Run(region.name, func(t *testing.T) {
			e := emulatortest.Start(t, emulator.Options{Region: region.name})
			ctx := context.Background()
			c := newClient(e)
			before := time.Now()
			out, err := c.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{
				ChannelName:               aws.String("demo"),
				SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(30)},
				Tags:                      []types.Tag{{Key: aws.String("team"), Value: aws.String("video")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			arn := aws.ToString(out.ChannelARN)
			want := regexp.MustCompile(`^arn:` + region.partition + `:kinesisvideo:` + region.name + `:123456789012:channel/demo/\d{13}$`)
			if !want.MatchString(arn) {
				t.Fatalf("ARN %q does not match %v", arn, want)
			}
			d, err := c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("demo")})
			if err != nil {
				t.Fatal(err)
			}
			info := d.ChannelInfo
			if aws.ToString(info.ChannelARN) != arn || info.ChannelStatus != types.StatusActive || info.ChannelType != types.ChannelTypeSingleMaster ||
				aws.ToInt32(info.SingleMasterConfiguration.MessageTtlSeconds) != 30 || aws.ToString(info.Version) == "" {
				t.Fatalf("describe by name: %+v", info)
			}
			// §13: the ARN suffix and CreationTime are the same instant.
			if ms := info.CreationTime.UnixMilli(); !strings.HasSuffix(arn, fmt.Sprintf("/%d", ms)) || info.CreationTime.Before(before.Add(-time.Second)) {
				t.Fatalf("CreationTime %v (%d ms) does not match ARN %s", info.CreationTime, ms, arn)
			}
			d2, err := c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: aws.String(arn)})
			if err != nil || aws.ToString(d2.ChannelInfo.ChannelName) != "demo" {
				t.Fatalf("describe by ARN: %v %+v", err, d2)
			}

			// Update: wrong version is refused, the right one changes it.
			_, err = c.UpdateSignalingChannel(ctx, &kinesisvideo.UpdateSignalingChannelInput{ChannelARN: &arn, CurrentVersion: aws.String("nope"),
				SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(90)}})
			var vm *types.VersionMismatchException
			if !errors.As(err, &vm) {
				t.Fatalf("update with a stale version: want VersionMismatchException, got %v", err)
			}
			if _, err = c.UpdateSignalingChannel(ctx, &kinesisvideo.UpdateSignalingChannelInput{ChannelARN: &arn, CurrentVersion: info.Version,
				SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(90)}}); err != nil {
				t.Fatal(err)
			}
			d3, _ := c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &arn})
			if aws.ToInt32(d3.ChannelInfo.SingleMasterConfiguration.MessageTtlSeconds) != 90 || aws.ToString(d3.ChannelInfo.Version) == aws.ToString(info.Version) {
				t.Fatalf("after update: %+v", d3.ChannelInfo)
			}

			// Endpoints per role, in the requested order, distinct WSS per role.
			eps := map[string][]types.ResourceEndpointListItem{}
			for _, role := range []types.ChannelRole{types.ChannelRoleMaster, types.ChannelRoleViewer} {
				for _, order := range [][]types.ChannelProtocol{{types.ChannelProtocolHttps, types.ChannelProtocolWss}, {types.ChannelProtocolWss, types.ChannelProtocolHttps}} {
					g, err := c.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
						SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{Protocols: order, Role: role}})
					if err != nil {
						t.Fatal(err)
					}
					if len(g.ResourceEndpointList) != 2 || g.ResourceEndpointList[0].Protocol != order[0] || g.ResourceEndpointList[1].Protocol != order[1] {
						t.Fatalf("%s %v: got %+v", role, order, g.ResourceEndpointList)
					}
					eps[string(role)] = g.ResourceEndpointList
				}
			}
			byProto := func(l []types.ResourceEndpointListItem, p types.ChannelProtocol) string {
				for _, x := range l {
					if x.Protocol == p {
						return aws.ToString(x.ResourceEndpoint)
					}
				}
				return ""
			}
			mw, vw := byProto(eps["MASTER"], types.ChannelProtocolWss), byProto(eps["VIEWER"], types.ChannelProtocolWss)
			if !strings.HasPrefix(mw, "wss://") || !strings.HasPrefix(vw, "wss://") || mw == vw || !strings.HasPrefix(byProto(eps["MASTER"], types.ChannelProtocolHttps), e.URL()+"/r-") {
				t.Fatalf("endpoints: master %q viewer %q https %q", mw, vw, byProto(eps["MASTER"], types.ChannelProtocolHttps))
			}

			// Tags.
			if _, err := c.TagResource(ctx, &kinesisvideo.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.UntagResource(ctx, &kinesisvideo.UntagResourceInput{ResourceARN: &arn, TagKeyList: []string{"team"}}); err != nil {
				t.Fatal(err)
			}
			tags, err := c.ListTagsForResource(ctx, &kinesisvideo.ListTagsForResourceInput{ResourceARN: &arn})
			if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "test" {
				t.Fatalf("tags: %v %+v", err, tags)
			}

			// Delete, then it is gone.
			if _, err := c.DeleteSignalingChannel(ctx, &kinesisvideo.DeleteSignalingChannelInput{ChannelARN: &arn}); err != nil {
				t.Fatal(err)
			}
			_, err = c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &arn})
			var nf *types.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("describe after delete: want ResourceNotFoundException, got %v", err)
			}
		})
	}
}

func TestListSignalingChannelsPages(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	c := newClient(e)
	ctx := context.Background()
	for i := range 7 {
		createChannel(t, c, fmt.Sprintf("cam-%d", i))
	}
	createChannel(t, c, "other")
	var names []string
	p := kinesisvideo.NewListSignalingChannelsPaginator(c, &kinesisvideo.ListSignalingChannelsInput{
		MaxResults:           aws.Int32(3),
		ChannelNameCondition: &types.ChannelNameCondition{ComparisonOperator: types.ComparisonOperatorBeginsWith, ComparisonValue: aws.String("cam-")},
	})
	pages := 0
	for p.HasMorePages() && pages < 10 {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ci := range out.ChannelInfoList {
			names = append(names, aws.ToString(ci.ChannelName))
		}
	}
	if pages != 3 || strings.Join(names, ",") != "cam-0,cam-1,cam-2,cam-3,cam-4,cam-5,cam-6" {
		t.Fatalf("pages %d, names %v", pages, names)
	}
	all, err := c.ListSignalingChannels(ctx, &kinesisvideo.ListSignalingChannelsInput{})
	if err != nil || len(all.ChannelInfoList) != 8 || all.NextToken != nil {
		t.Fatalf("list all: %v, %d channels, token %v", err, len(all.ChannelInfoList), all.NextToken)
	}
}

func TestShuffleEndpoints(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{ShuffleEndpoints: true})
	c := newClient(e)
	arn := createChannel(t, c, "shuffled")
	firsts := map[types.ChannelProtocol]int{}
	for range 40 {
		g, err := c.GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
			SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
				Protocols: []types.ChannelProtocol{types.ChannelProtocolHttps, types.ChannelProtocolWss}, Role: types.ChannelRoleViewer}})
		if err != nil {
			t.Fatal(err)
		}
		firsts[g.ResourceEndpointList[0].Protocol]++
	}
	// 40 fair coin flips all landing one way: p = 2^-39.
	if firsts[types.ChannelProtocolHttps] == 0 || firsts[types.ChannelProtocolWss] == 0 {
		t.Fatalf("order never changed: %v", firsts)
	}
}

// Each documented error comes back as the SDK's typed error.
func TestTypedErrors(t *testing.T) {
	restricted := emulator.Credential{AccessKeyID: "AKIDRESTRICTED", SecretAccessKey: "restricted-secret",
		Actions: []string{"kinesisvideo:CreateSignalingChannel", "kinesisvideo:Describe*"}}
	e := emulatortest.Start(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, restricted}})
	c := newClient(e, noRetry)
	ctx := context.Background()
	arn := createChannel(t, c, "taken")
	var tags []types.Tag
	for i := range 50 {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
	}
	cfg := emulatortest.Config(e)
	cfg.Credentials = aws.NewCredentialsCache(staticCreds(restricted))
	rc := kinesisvideo.NewFromConfig(cfg, noRetry)

	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
		want  string
	}{
		{"invalid name", func() error {
			_, err := c.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("bad name!")})
			return err
		}, func(err error) bool { var x *types.InvalidArgumentException; return errors.As(err, &x) }, "InvalidArgumentException"},
		{"name in use", func() error {
			_, err := c.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("taken")})
			return err
		}, func(err error) bool { var x *types.ResourceInUseException; return errors.As(err, &x) }, "ResourceInUseException"},
		{"not found", func() error {
			_, err := c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("absent")})
			return err
		}, func(err error) bool { var x *types.ResourceNotFoundException; return errors.As(err, &x) }, "ResourceNotFoundException"},
		{"version mismatch on delete", func() error {
			_, err := c.DeleteSignalingChannel(ctx, &kinesisvideo.DeleteSignalingChannelInput{ChannelARN: &arn, CurrentVersion: aws.String("old")})
			return err
		}, func(err error) bool { var x *types.VersionMismatchException; return errors.As(err, &x) }, "VersionMismatchException"},
		{"too many tags", func() error {
			if _, err := c.TagResource(ctx, &kinesisvideo.TagResourceInput{ResourceARN: &arn, Tags: tags}); err != nil {
				return fmt.Errorf("first 50 tags: %w", err)
			}
			_, err := c.TagResource(ctx, &kinesisvideo.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("one-more"), Value: aws.String("v")}}})
			return err
		}, func(err error) bool { var x *types.TagsPerResourceExceededLimitException; return errors.As(err, &x) }, "TagsPerResourceExceededLimitException"},
		{"webrtc endpoint without storage", func() error {
			_, err := c.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
				SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{Protocols: []types.ChannelProtocol{types.ChannelProtocolWebrtc}}})
			return err
		}, func(err error) bool { var x *types.InvalidArgumentException; return errors.As(err, &x) }, "InvalidArgumentException"},
		{"access denied names the action", func() error {
			_, err := rc.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn})
			return err
		}, func(err error) bool {
			var x *types.AccessDeniedException
			return errors.As(err, &x) && strings.Contains(x.ErrorMessage(), "kinesisvideo:GetSignalingChannelEndpoint")
		}, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !tt.check(err) {
				t.Fatalf("want %s, got %v", tt.want, err)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.want {
				t.Fatalf("error code: want %s, got %v", tt.want, err)
			}
		})
	}
	// The restricted key may still do what it was allowed.
	if _, err := rc.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("taken")}); err != nil {
		t.Fatalf("allowed action refused: %v", err)
	}
}

type staticCreds emulator.Credential

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
		CanExpire: !s.Expiration.IsZero(), Expires: s.Expiration}, nil
}
