package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// fixFor is the one-sentence fix for a classified resolve error of a call
// needing action on the channel.
func (s *state) fixFor(err error, action string) string {
	var ad *resolve.AccessDeniedError
	switch {
	case errors.As(err, &ad):
		return fmt.Sprintf("allow %s on %s in the IAM policy of this credential", ad.Action, s.resource())
	case errors.Is(err, resolve.ErrAccessDenied):
		return fmt.Sprintf("allow %s on %s in the IAM policy of this credential", action, s.resource())
	case errors.Is(err, resolve.ErrClockSkew):
		return "set the system clock (e.g. `timedatectl set-ntp true`)"
	case errors.Is(err, resolve.ErrAuth):
		return "check the credentials (see the credentials step) or refresh them"
	case errors.Is(err, resolve.ErrChannelNotFound):
		return "check the channel name or ARN and the region (`kvsrtc channel list`), or create it (`kvsrtc channel create`)"
	case errors.Is(err, resolve.ErrUnreachable):
		return "check the network, --endpoint-url (AWS_ENDPOINT_URL_KINESIS_VIDEO) and --ca-bundle (AWS_CA_BUNDLE)"
	case errors.Is(err, resolve.ErrThrottled):
		return "the account or channel is over its API rate: wait and try again"
	case errors.Is(err, resolve.ErrEndpointMissing):
		return "the service did not return both WSS and HTTPS endpoints: check the channel is a SINGLE_MASTER signaling channel"
	}
	return "run again with -v to see the calls"
}

func (s *state) resource() string {
	if s.arnOK {
		return s.arn.String()
	}
	return "the channel"
}

// slow appends a note to a check that took long enough for a closer
// region to matter.
func slow(c *Check) {
	if time.Duration(c.Ms*float64(time.Millisecond)) >= SlowCall {
		c.Detail += fmt.Sprintf("; slow (%.1f s): a region closer to this machine answers faster", c.Ms/1000)
	}
}

// needCreds skips a step that signs requests when the credentials were
// refused. It reports whether it skipped.
func (s *state) needCreds(step Step, name, metric string) bool {
	if s.credsBad {
		s.skip(step, name, metric, "needs credentials the service accepts")
		return true
	}
	return false
}

// checkDescribe calls DescribeSignalingChannel (by ARN, or by name to
// find the ARN).
func (s *state) checkDescribe(ctx context.Context) {
	const name, metric = "describeChannel", "describeCallTime"
	if s.needCreds(StepDescribe, name, metric) {
		return
	}
	if !s.arnOK && s.opts.ChannelName == "" {
		s.skip(StepDescribe, name, metric, "no usable channel ARN or name")
		return
	}
	in := &kinesisvideo.DescribeSignalingChannelInput{}
	if s.arnOK {
		in.ChannelARN = aws.String(s.arn.String())
	} else {
		in.ChannelName = aws.String(s.opts.ChannelName)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	t0 := time.Now()
	out, err := s.r.Client().DescribeSignalingChannel(ctx, in, func(o *kinesisvideo.Options) { o.Region = s.region })
	c := s.check(StepDescribe, name, metric, t0, time.Now())
	if err != nil {
		err = resolve.Classify(err, "kinesisvideo:DescribeSignalingChannel", aws.ToString(in.ChannelARN))
		c.Status, c.Error, c.Fix = StatusFail, err.Error(), s.fixFor(err, "kinesisvideo:DescribeSignalingChannel")
		if errors.Is(err, resolve.ErrAccessDenied) && s.arnOK {
			c.Fix += " (the C SDK calls it before connecting; kvsrtc needs it only with --channel-name)"
		}
		if errors.Is(err, resolve.ErrChannelNotFound) {
			s.arnOK = false // nothing later can use it
		}
		s.add(c)
		return
	}
	s.controlPlaneOK = true
	info := out.ChannelInfo
	if info == nil || info.ChannelARN == nil {
		c.Status, c.Error, c.Fix = StatusFail, "DescribeSignalingChannel returned no ChannelARN", "report this answer of the service"
		s.add(c)
		return
	}
	arn, perr := channel.ParseARN(*info.ChannelARN)
	if perr == nil && !s.arnOK {
		s.arn, s.arnOK = arn, true
	}
	var parts []string
	parts = append(parts, "status "+string(info.ChannelStatus), "type "+string(info.ChannelType))
	if info.SingleMasterConfiguration != nil && info.SingleMasterConfiguration.MessageTtlSeconds != nil {
		parts = append(parts, fmt.Sprintf("message TTL %d s", *info.SingleMasterConfiguration.MessageTtlSeconds))
	}
	if s.opts.ChannelARN == "" {
		parts = append(parts, "ARN "+aws.ToString(info.ChannelARN))
	}
	c.Detail = strings.Join(parts, ", ")
	switch {
	case info.ChannelStatus != "ACTIVE":
		c.Status, c.Error = StatusFail, "the channel is "+string(info.ChannelStatus)
		c.Fix = "wait until the channel is ACTIVE, or create it again"
	case info.ChannelType != "" && info.ChannelType != "SINGLE_MASTER":
		c.Status, c.Error = StatusFail, "the channel type is "+string(info.ChannelType)
		c.Fix = "use a SINGLE_MASTER signaling channel"
	default:
		c.Status = StatusPass
		slow(&c)
	}
	s.add(c)
}

// checkEndpoints calls GetSignalingChannelEndpoint for WSS and HTTPS.
func (s *state) checkEndpoints(ctx context.Context) {
	const name, metric = "getEndpoint", "getEndpointCallTime"
	if s.needCreds(StepEndpoints, name, metric) {
		return
	}
	if !s.arnOK {
		s.skip(StepEndpoints, name, metric, "no usable channel ARN")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	t0 := time.Now()
	ep, err := s.r.Endpoints(ctx, s.arn, s.opts.Role)
	c := s.check(StepEndpoints, name, metric, t0, time.Now())
	if err != nil {
		c.Status, c.Error, c.Fix = StatusFail, err.Error(), s.fixFor(err, "kinesisvideo:GetSignalingChannelEndpoint")
		s.add(c)
		return
	}
	s.controlPlaneOK = true
	s.ep, s.epOK = ep, true
	c.Status = StatusPass
	c.Detail = fmt.Sprintf("WSS %s, HTTPS %s", ep.WSS, ep.HTTPS)
	if ep.FromCache {
		c.Detail += " (from a cache: not a real call)"
	}
	slow(&c)
	s.add(c)
}
