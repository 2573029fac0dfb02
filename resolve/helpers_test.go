package resolve_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// testSecret is a secret key no output may contain.
const testSecret = "kvsrtcTESTsecretKEY0123456789abcdefSECRET"

// testCredential is an emulator credential with testSecret.
func testCredential(actions ...string) emulator.Credential {
	return emulator.Credential{AccessKeyID: "AKIDKVSRTCRESOLVE01", SecretAccessKey: testSecret, Actions: actions}
}

// fastRetryer retries like the SDK's standard retryer, with 1 ms backoff
// and no retry quota, so tests of retries take no time.
func fastRetryer(attempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
}

// start starts an emulator and returns it with a config for it.
func start(t testing.TB, opts emulator.Options) (*emulator.Emulator, aws.Config) {
	t.Helper()
	e := emulatortest.Start(t, opts)
	cfg := emulatortest.Config(e)
	cfg.Retryer = fastRetryer(3)
	return e, cfg
}

// createChannel creates a channel on the emulator with the default
// credential (every action allowed) and returns its ARN.
func createChannel(t testing.TB, e *emulator.Emulator, name string) channel.ARN {
	t.Helper()
	cfg := emulatortest.Config(e)
	c := kinesisvideo.NewFromConfig(cfg)
	out, err := c.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		t.Fatalf("create channel %s: %v", name, err)
	}
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		t.Fatalf("parse ARN: %v", err)
	}
	return arn
}

// fakeClock is a settable clock for cache lifetimes.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rewriter is an HTTP client that lets a test change responses.
type rewriter struct {
	next    aws.HTTPClient
	rewrite func(req *http.Request, resp *http.Response) *http.Response
	calls   atomic.Int64
}

func (w *rewriter) Do(req *http.Request) (*http.Response, error) {
	w.calls.Add(1)
	resp, err := w.next.Do(req)
	if err != nil || w.rewrite == nil {
		return resp, err
	}
	return w.rewrite(req, resp), nil
}

// throttleFirst answers the first n requests whose path ends with suffix
// with KVS's throttling error, without sending them.
type throttleFirst struct {
	next   aws.HTTPClient
	suffix string
	n      int64
	seen   atomic.Int64
}

func (th *throttleFirst) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, th.suffix) && th.seen.Add(1) <= th.n {
		body := `{"Message":"Too many requests for this channel"}`
		return &http.Response{
			StatusCode: 400,
			Header: http.Header{
				"X-Amzn-Errortype": {"ClientLimitExceededException:https://kinesisvideo.amazonaws.com/doc/2017-09-30/"},
				"Content-Type":     {"application/json"},
				"Date":             {time.Now().UTC().Format(http.TimeFormat)},
			},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	}
	return th.next.Do(req)
}

// logBuffer is a debug logger writing into a buffer, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var _ = resolve.New
