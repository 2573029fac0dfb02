package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
)

// checkARN judges the channel ARN (or name) and the region: shape,
// partition of the region, agreement with the region given.
func (s *state) checkARN(_ context.Context) {
	t0 := time.Now()
	c := s.check(StepARN, "arn", "", t0, t0)
	finish := func() {
		c.EndMs = s.ms(time.Now())
		c.Ms = c.EndMs - c.StartMs
		s.add(c)
	}
	if s.opts.ChannelARN == "" {
		switch {
		case s.opts.ChannelName == "":
			c.Status, c.Error, c.Fix = StatusFail, "no channel given", "pass --channel-arn or --channel-name"
		case channel.ValidName(s.opts.ChannelName) != nil:
			c.Status, c.Error, c.Fix = StatusFail, channel.ValidName(s.opts.ChannelName).Error(), "channel names are 1 to 256 of a-z, A-Z, 0-9, '_', '.' and '-'"
		case s.region == "":
			c.Status, c.Error, c.Fix = StatusFail, "no region", "pass --region or set AWS_REGION"
		default:
			c.Status = StatusPass
			c.Detail = fmt.Sprintf("channel name %s in %s (partition %s); the ARN comes from DescribeSignalingChannel",
				s.opts.ChannelName, s.region, channel.PartitionForRegion(s.region))
		}
		finish()
		return
	}
	arn, err := channel.ParseARN(s.opts.ChannelARN)
	if err != nil {
		c.Status, c.Error = StatusFail, err.Error()
		if fixed, ok := fixPartition(s.opts.ChannelARN); ok {
			c.Fix = "use " + fixed.String() + fmt.Sprintf(" (region %s is in partition %s)", fixed.Region, fixed.Partition)
			s.arn, s.arnOK = fixed, true
			s.report.Region = fixed.Region
		} else {
			c.Fix = "give an ARN of the form arn:<partition>:kinesisvideo:<region>:<account>:channel/<name>/<creation ms> (`kvsrtc channel describe --channel-name …` prints it)"
		}
		finish()
		return
	}
	s.arn, s.arnOK = arn, true
	if err := channel.CheckRegion(arn, s.opts.Region); err != nil {
		c.Status, c.Error = StatusFail, err.Error()
		c.Fix = "drop --region (and AWS_REGION) or set it to " + arn.Region + ", the channel's region"
		s.region = arn.Region
		finish()
		return
	}
	c.Status = StatusPass
	c.Detail = fmt.Sprintf("partition %s, region %s, account %s", arn.Partition, arn.Region, arn.Account)
	if cp, err := s.r.ControlPlaneURL(arn.Region); err == nil {
		c.Detail += ", control plane " + cp
	}
	finish()
}

// fixPartition returns the ARN with its region's partition, when that is
// all that is wrong with it.
func fixPartition(s string) (channel.ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return channel.ARN{}, false
	}
	want := channel.PartitionForRegion(parts[3])
	if want == "" || want == parts[1] {
		return channel.ARN{}, false
	}
	parts[1] = want
	arn, err := channel.ParseARN(strings.Join(parts, ":"))
	return arn, err == nil
}
