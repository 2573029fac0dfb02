package cli

import (
	"regexp"
	"time"
)

// regionName is the shape of an AWS region name: us-west-2, cn-north-1,
// us-gov-west-1, eu-central-2, ap-southeast-5.
var regionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)

// checkEmulatorFlags refuses numeric and region flags out of range before
// the emulator starts (an --ice-ttl of 0s used to mean 300 s silently).
func checkEmulatorFlags(o *emulatorOptions) error {
	if !regionName.MatchString(o.Region) {
		return usageErrorf("--region %q: want a region name such as us-west-2 or cn-north-1 (two letters, a direction, a number)", o.Region)
	}
	if o.IceTTL < time.Second || o.IceTTL > 24*time.Hour {
		return usageErrorf("--ice-ttl %v: want 1s to 24h (the service's is 5m)", o.IceTTL)
	}
	if o.ClockOffset < -24*time.Hour || o.ClockOffset > 24*time.Hour {
		return usageErrorf("--clock-offset %v: want -24h to 24h", o.ClockOffset)
	}
	return nil
}
