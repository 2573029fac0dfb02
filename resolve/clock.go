package resolve

import (
	"net/http"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// What aws-sdk-go-v2 v1.48.0 does about clock skew, and what this file adds.
//
// The SDK (aws/middleware RecordResponseTiming, aws/retry Attempt, the
// kinesisvideo client's timeOffset) measures Date − response time on every
// response, retries a refused signature (InvalidSignatureException, …) once
// the measured skew is over 4 minutes, signs that retry with the skew, and
// keeps the skew for the client's later calls. So the control-plane calls
// correct themselves and this package uses that as it is.
//
// It keeps the skew in an unexported atomic of the kinesisvideo client and
// passes it to the signer through an internal context key, so nothing outside
// the SDK can read it or sign with it. Two things here need it: the
// hand-written GetIceServerConfig call and presigned WSS URLs (package
// signaling). So the resolver measures the same offset itself — from the
// ResultMetadata the SDK records (GetServerTime, GetResponseAt) after each
// control-plane call, and from the Date header of its own GetIceServerConfig
// responses — and offers it through [Resolver.Clock] and
// [Resolver.ClockOffset].

// skewThreshold is the SDK's: a refused signature counts as clock skew when
// the measured offset differs from the one used by more than this.
const skewThreshold = 4 * time.Minute

// maxTrustedRoundTrip bounds the round trip of a response whose Date is
// trusted (the SDK's maxTrustedRequestDuration).
const maxTrustedRoundTrip = 15 * time.Minute

// clock is the local clock plus the service's measured offset.
type clock struct {
	now    func() time.Time
	offset atomic.Int64 // nanoseconds: service time − local time
	known  atomic.Bool
}

func (c *clock) Now() time.Time        { return c.now().Add(c.Offset()) }
func (c *clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

func (c *clock) set(d time.Duration) {
	c.offset.Store(int64(d))
	c.known.Store(true)
}

// observeMetadata records the offset the SDK measured for one call.
func (c *clock) observeMetadata(md middleware.Metadata) {
	server, ok1 := awsmiddleware.GetServerTime(md)
	at, ok2 := awsmiddleware.GetResponseAt(md)
	if ok1 && ok2 {
		c.set(server.Sub(at))
	}
}

// measure gives the offset a response's Date header shows, as the SDK
// computes it: none without a Date, from a cache (Age), or after too long a
// round trip.
func measure(h http.Header, sent, received time.Time) (time.Duration, bool) {
	d := h.Get("Date")
	if d == "" || h.Get("Age") != "" || received.Sub(sent) > maxTrustedRoundTrip {
		return 0, false
	}
	server, err := http.ParseTime(d)
	if err != nil {
		return 0, false
	}
	return server.Sub(received), true
}
