package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

const waitLimit = 10 * time.Second

// recorder collects what a Client reports through its callbacks.
type recorder struct {
	mu        sync.Mutex
	states    []State
	errs      []error
	refreshes []RefreshReason
	stateCh   chan StateChange
	refreshCh chan RefreshReason
	retrieves atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{stateCh: make(chan StateChange, 256), refreshCh: make(chan RefreshReason, 256)}
}

func (r *recorder) stateSeq() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states)
}

func (r *recorder) refreshSeq() []RefreshReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.refreshes)
}

// waitState waits for the next report of state s and returns it.
func (r *recorder) waitState(t *testing.T, s State) StateChange {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case sc := <-r.stateCh:
			if sc.State == s {
				return sc
			}
		case <-deadline:
			t.Fatalf("no state %s within %v; states so far %v", s, waitLimit, r.stateSeq())
		}
	}
}

func (r *recorder) waitRefresh(t *testing.T) RefreshReason {
	t.Helper()
	select {
	case rr := <-r.refreshCh:
		return rr
	case <-time.After(waitLimit):
		t.Fatalf("no refresh within %v", waitLimit)
		return RefreshUnknown
	}
}

// options returns Options that reach fs as role, with fast backoff, and
// record callbacks in rec.
func (fs *fakeService) options(role channel.Role, clientID string, rec *recorder) Options {
	return Options{
		Role:       role,
		ChannelARN: testARN,
		ClientID:   clientID,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			rec.retrieves.Add(1)
			return fs.creds, nil
		}),
		Endpoint:   func(context.Context) (string, error) { return fs.endpoint(role), nil },
		HTTPClient: fs.srv.Client(),
		Backoff:    Backoff{Min: time.Millisecond, Max: 50 * time.Millisecond},
		Refresh: func(_ context.Context, reason RefreshReason) error {
			rec.mu.Lock()
			rec.refreshes = append(rec.refreshes, reason)
			rec.mu.Unlock()
			rec.refreshCh <- reason
			return nil
		},
		OnStateChange: func(sc StateChange) {
			rec.mu.Lock()
			rec.states = append(rec.states, sc.State)
			rec.errs = append(rec.errs, sc.Err)
			rec.mu.Unlock()
			rec.stateCh <- sc
		},
	}
}

func dialTest(t *testing.T, o Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := Dial(ctx, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recv returns the next message of type mt, failing on any other.
func recv(t *testing.T, c *Client, mt wire.MessageType) Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("messages closed while waiting for %s", mt)
		}
		if m.MessageType != mt {
			t.Fatalf("got %s, want %s", m.MessageType, mt)
		}
		return m
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", mt, waitLimit)
		return Message{}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

var (
	testOffer  = wire.SessionDescription{Type: "offer", SDP: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-pwd:supersecretpwd\r\n"}
	testAnswer = wire.SessionDescription{Type: "answer", SDP: "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
	mid0       = "0"
	line0      = uint16(0)
	testCand   = wire.ICECandidateInit{Candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", SDPMid: &mid0, SDPMLineIndex: &line0}
)

func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("frame %q: %v", raw, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestRoundTrip(t *testing.T) {
	fs := newFakeService(t)
	mrec, vrec := newRecorder(), newRecorder()
	master := dialTest(t, fs.options(channel.RoleMaster, "", mrec))
	fs.waitAccepted(t)
	viewer := dialTest(t, fs.options(channel.RoleViewer, "viewer-1", vrec))
	fs.waitAccepted(t)
	ctx := ctxT(t)

	if _, err := viewer.SendOffer(ctx, "", testOffer); err != nil {
		t.Fatal(err)
	}
	m := recv(t, master, wire.MessageTypeSDPOffer)
	if m.SenderClientID != "viewer-1" || m.FromMaster() {
		t.Fatalf("offer sender %q", m.SenderClientID)
	}
	if sd, err := m.SessionDescription(); err != nil || sd != testOffer {
		t.Fatalf("offer %+v, %v", sd, err)
	}
	if _, err := viewer.SendICECandidate(ctx, "", testCand); err != nil {
		t.Fatal(err)
	}
	if c, err := recv(t, master, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != testCand.Candidate || *c.SDPMid != "0" {
		t.Fatalf("candidate %+v, %v", c, err)
	}
	if _, err := master.SendAnswer(ctx, "viewer-1", testAnswer); err != nil {
		t.Fatal(err)
	}
	a := recv(t, viewer, wire.MessageTypeSDPAnswer)
	if !a.FromMaster() {
		t.Fatalf("answer to a viewer carries sender %q", a.SenderClientID)
	}
	if sd, _ := a.SessionDescription(); sd != testAnswer {
		t.Fatalf("answer %+v", sd)
	}
	if _, err := master.SendICECandidate(ctx, "viewer-1", testCand); err != nil {
		t.Fatal(err)
	}
	recv(t, viewer, wire.MessageTypeICECandidate)

	// Client frames: lowercase camelCase, compact, no recipient from a viewer.
	for _, raw := range fs.framesFrom("viewer-1") {
		if k := jsonKeys(t, raw); !slices.Equal(k, []string{"action", "messagePayload"}) {
			t.Errorf("viewer frame keys %v: %s", k, raw)
		}
		if bytes.Contains(raw, []byte(": ")) || bytes.Contains(raw, []byte("\n")) {
			t.Errorf("viewer frame not compact: %s", raw)
		}
	}
	for _, raw := range fs.framesFrom("") {
		if k := jsonKeys(t, raw); !slices.Equal(k, []string{"action", "messagePayload", "recipientClientId"}) {
			t.Errorf("master frame keys %v: %s", k, raw)
		}
	}
	if !bytes.HasPrefix(fs.framesFrom("viewer-1")[0], []byte(`{"action":"SDP_OFFER","messagePayload":"`)) {
		t.Errorf("offer frame %s", fs.framesFrom("viewer-1")[0])
	}

	// Recipient rules (§4.4).
	if _, err := viewer.SendOffer(ctx, "someone", testOffer); !errors.Is(err, ErrInvalidRecipient) {
		t.Errorf("viewer with a recipient: %v", err)
	}
	if _, err := master.SendOffer(ctx, "", testOffer); !errors.Is(err, ErrInvalidRecipient) {
		t.Errorf("master offer to nobody: %v", err)
	}

	vs, ms := viewer.Stats(), master.Stats()
	if vs.MessagesSent != 2 || vs.MessagesReceived != 2 || ms.MessagesSent != 2 || ms.MessagesReceived != 2 {
		t.Errorf("stats viewer %+v master %+v", vs, ms)
	}
	if vs.Reconnects != 0 || vs.Errors != 0 || vs.ConnectTime <= 0 {
		t.Errorf("viewer stats %+v", vs)
	}
	if master.State() != StateConnected {
		t.Errorf("state %s", master.State())
	}
}

func TestStatusResponseByCorrelationID(t *testing.T) {
	fs := newFakeService(t)
	master := dialTest(t, fs.options(channel.RoleMaster, "", newRecorder()))
	ctx := ctxT(t)

	id, err := master.SendOffer(ctx, "nobody", testOffer, WithNewCorrelationID())
	if err != nil || id == "" {
		t.Fatalf("send: %q, %v", id, err)
	}
	st := recv(t, master, wire.MessageTypeStatusResponse).StatusResponse
	if st == nil || st.CorrelationID != id || st.StatusCode != "400" || st.ErrorType != "InvalidArgumentException" {
		t.Fatalf("status response %+v for %s", st, id)
	}
	id2, err := master.SendICECandidate(ctx, "nobody", testCand, WithCorrelationID("cand.1"))
	if err != nil || id2 != "cand.1" {
		t.Fatalf("send: %q, %v", id2, err)
	}
	if st := recv(t, master, wire.MessageTypeStatusResponse).StatusResponse; st.CorrelationID != "cand.1" {
		t.Fatalf("status response for %s", st.CorrelationID)
	}
	frames := fs.framesFrom("")
	if k := jsonKeys(t, frames[0]); !slices.Equal(k, []string{"action", "correlationId", "messagePayload", "recipientClientId"}) {
		t.Fatalf("frame keys %v", k)
	}
	// No correlation id: the failure is silent, and no id is returned.
	if id, err := master.SendAnswer(ctx, "nobody", testAnswer); err != nil || id != "" {
		t.Fatalf("send without id: %q, %v", id, err)
	}
	if _, err := master.SendAnswer(ctx, "viewer", testAnswer, WithCorrelationID("bad id!")); !errors.Is(err, wire.ErrInvalidID) {
		t.Fatalf("invalid correlation id: %v", err)
	}
}

// stepClock advances one second per call, so every presign has a new
// X-Amz-Date.
func stepClock() func() time.Time {
	var n atomic.Int64
	start := time.Now()
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

func TestGoAwayReconnectsByItself(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	o := fs.options(channel.RoleViewer, "viewer-1", rec)
	o.Clock = stepClock()
	endpoints := atomic.Int64{}
	o.Endpoint = func(context.Context) (string, error) { endpoints.Add(1); return fs.endpoint(channel.RoleViewer), nil }
	viewer := dialTest(t, o)
	first := fs.waitAccepted(t)

	fs.push(first, wire.ServerMessage{MessageType: wire.MessageTypeGoAway})
	recv(t, viewer, wire.MessageTypeGoAway)
	if r := rec.waitRefresh(t); r != RefreshGoAway {
		t.Fatalf("refresh %s, want go-away", r)
	}
	fs.waitAccepted(t)
	rec.waitState(t, StateConnected) // the first Connected
	rec.waitState(t, StateConnected) // after the reconnection
	if got := fs.upgradeCount.Load(); got != 2 {
		t.Fatalf("%d upgrades, want 2", got)
	}
	want := []State{StateConnecting, StateConnected, StateReconnecting, StateConnected}
	if got := rec.stateSeq(); !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if err := rec.errs[2]; !errors.Is(err, errGoAway) {
		t.Fatalf("reconnecting because %v", err)
	}
	if endpoints.Load() != 2 || rec.retrieves.Load() != 2 {
		t.Fatalf("endpoint fetched %d times, credentials %d, want 2 each", endpoints.Load(), rec.retrieves.Load())
	}
	fs.mu.Lock()
	d0, d1 := fs.queries[0].Get("X-Amz-Date"), fs.queries[1].Get("X-Amz-Date")
	fs.mu.Unlock()
	if d0 == d1 {
		t.Fatalf("reconnection reused X-Amz-Date %s", d0)
	}
	if s := viewer.Stats(); s.Reconnects != 1 {
		t.Fatalf("stats %+v", s)
	}
	// The new connection carries frames.
	master := dialTest(t, fs.options(channel.RoleMaster, "", newRecorder()))
	fs.waitAccepted(t)
	if _, err := viewer.SendOffer(ctxT(t), "", testOffer); err != nil {
		t.Fatal(err)
	}
	recv(t, master, wire.MessageTypeSDPOffer)
}

func TestReconnectICEServer(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	master := dialTest(t, fs.options(channel.RoleMaster, "", rec))
	sc := fs.waitAccepted(t)
	fs.push(sc, wire.ServerMessage{MessageType: wire.MessageTypeReconnectICEServer})
	recv(t, master, wire.MessageTypeReconnectICEServer)
	if r := rec.waitRefresh(t); r != RefreshReconnectICEServer {
		t.Fatalf("refresh %s", r)
	}
	fs.waitAccepted(t)
	rec.waitState(t, StateReconnecting)
	rec.waitState(t, StateConnected)
	if s := master.Stats(); s.ICERefreshes != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// The service closes with 1001 "Going away" three times in a row: the client
// reconnects each time, with a backoff bound that doubles.
func TestServerCloseReconnectsWithBackoff(t *testing.T) {
	fs := newFakeService(t)
	var logs syncBuffer
	rec := newRecorder()
	o := fs.options(channel.RoleMaster, "", rec)
	o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Backoff = Backoff{Min: 2 * time.Millisecond, Max: time.Second}
	master := dialTest(t, o)
	sc := fs.waitAccepted(t)
	fs.mu.Lock()
	fs.closeOnOpen = 2
	fs.mu.Unlock()
	sc.conn.Close(websocket.StatusGoingAway, "Going away")
	for range 3 {
		fs.waitAccepted(t)
	}
	rec.waitState(t, StateReconnecting)
	for range 3 {
		rec.waitState(t, StateConnected)
	}
	rec.mu.Lock()
	firstErr := rec.errs[2]
	rec.mu.Unlock()
	if firstErr == nil || !strings.Contains(firstErr.Error(), "1001") || !strings.Contains(firstErr.Error(), "Going away") {
		t.Fatalf("reconnecting because %v", firstErr)
	}
	var bounds []time.Duration
	for _, line := range bytes.Split(logs.Bytes(), []byte("\n")) {
		var rec struct {
			Msg         string
			Bound, Wait time.Duration
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "signaling backoff" {
			if rec.Wait < 0 || rec.Wait > rec.Bound {
				t.Errorf("wait %v outside [0, %v]", rec.Wait, rec.Bound)
			}
			bounds = append(bounds, rec.Bound)
		}
	}
	want := []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}
	if !slices.Equal(bounds, want) {
		t.Fatalf("backoff bounds %v, want %v", bounds, want)
	}
	if s := master.Stats(); s.Reconnects != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// A reconnection refused with 403 or 404, or that cannot reach the endpoint,
// calls Refresh with the matching reason and then succeeds.
func TestRefreshOnFailedReconnect(t *testing.T) {
	tests := []struct {
		name   string
		refuse []int
		dead   bool // the endpoint refuses TCP connections once
		want   []RefreshReason
	}{
		{name: "403 twice", refuse: []int{403, 403}, want: []RefreshReason{RefreshAuth, RefreshAuth}},
		{name: "404", refuse: []int{404}, want: []RefreshReason{RefreshNotFound}},
		{name: "500", refuse: []int{500}, want: []RefreshReason{RefreshEndpoint}},
		{name: "connection refused", dead: true, want: []RefreshReason{RefreshEndpoint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeService(t)
			rec := newRecorder()
			o := fs.options(channel.RoleViewer, "viewer-1", rec)
			var calls atomic.Int64
			deadURL := deadEndpoint(t)
			o.Endpoint = func(context.Context) (string, error) {
				if calls.Add(1) == 2 && tt.dead {
					return deadURL, nil
				}
				return fs.endpoint(channel.RoleViewer), nil
			}
			c := dialTest(t, o)
			sc := fs.waitAccepted(t)
			fs.refuseNext(tt.refuse...)
			sc.conn.Close(websocket.StatusGoingAway, "Going away")
			fs.waitAccepted(t)
			rec.waitState(t, StateReconnecting)
			rec.waitState(t, StateConnected)
			if got := rec.refreshSeq(); !slices.Equal(got, tt.want) {
				t.Fatalf("refreshes %v, want %v", got, tt.want)
			}
			if s := c.Stats(); s.Errors != uint64(len(tt.want)) || s.Reconnects != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// deadEndpoint returns a wss URL on a port nobody listens on.
func deadEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "wss://" + addr + "/v-1a2b3c4d"
}

func TestDialRefused(t *testing.T) {
	fs := newFakeService(t)
	fs.refuseNext(403)
	rec := newRecorder()
	_, err := Dial(ctxT(t), fs.options(channel.RoleMaster, "", rec))
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 403 || StatusCode(err) != 403 || he.ErrorType != "RefusedForbidden" {
		t.Fatalf("dial error %v", err)
	}
	if got := rec.stateSeq(); !slices.Equal(got, []State{StateConnecting, StateClosed}) {
		t.Fatalf("states %v", got)
	}
	if _, err := Dial(ctxT(t), Options{Role: channel.RoleViewer, ChannelARN: testARN}); err == nil {
		t.Fatal("viewer without client id accepted")
	}
}

// A 403 whose Date is far from the signing clock makes the next presign use
// the service's time.
func TestClockSkewCorrected(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	o := fs.options(channel.RoleMaster, "", rec)
	o.Clock = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	dialTest(t, o)
	sc := fs.waitAccepted(t)
	fs.refuseNext(403)
	sc.conn.Close(websocket.StatusGoingAway, "Going away")
	fs.waitAccepted(t)
	fs.mu.Lock()
	date := fs.queries[1].Get("X-Amz-Date")
	fs.mu.Unlock()
	at, _ := time.Parse("20060102T150405Z", date)
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Fatalf("X-Amz-Date %s is %v from now after the correction", date, d)
	}
}

// Sends wait while the client reconnects, bounded by their context.
func TestSendWaitsForReconnection(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	o := fs.options(channel.RoleViewer, "viewer-1", rec)
	gate := make(chan struct{})
	var calls atomic.Int64
	o.Endpoint = func(ctx context.Context) (string, error) {
		if calls.Add(1) == 2 {
			select { // hold the reconnection until the test says so
			case <-gate:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return fs.endpoint(channel.RoleViewer), nil
	}
	viewer := dialTest(t, o)
	sc := fs.waitAccepted(t)
	master := dialTest(t, fs.options(channel.RoleMaster, "", newRecorder()))
	fs.waitAccepted(t)
	sc.conn.Close(websocket.StatusGoingAway, "Going away")
	rec.waitState(t, StateReconnecting)

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := viewer.SendOffer(short, "", testOffer); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send while disconnected with a short deadline: %v", err)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := viewer.SendOffer(ctxT(t), "", testOffer)
		sent <- err
	}()
	close(gate)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	recv(t, master, wire.MessageTypeSDPOffer)
}

// Close is immediate and idempotent, even while reconnecting, and leaves no
// goroutine behind.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	o := fs.options(channel.RoleMaster, "", rec)
	o.Backoff = Backoff{Min: time.Hour, Max: time.Hour} // stuck in backoff
	o.PingInterval = time.Millisecond
	c, err := Dial(ctxT(t), o)
	if err != nil {
		t.Fatal(err)
	}
	sc := fs.waitAccepted(t)
	sc.conn.Close(websocket.StatusGoingAway, "Going away")
	rec.waitState(t, StateReconnecting)
	done := make(chan struct{})
	go func() {
		c.Close()
		c.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Close did not return")
	}
	rec.waitState(t, StateClosed)
	if _, ok := <-c.Messages(); ok {
		t.Fatal("messages not closed")
	}
	if _, err := c.SendOffer(context.Background(), "v", testOffer); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %s", c.State())
	}
	fs.close()
	fs.srv.Client().CloseIdleConnections()
	goleak.VerifyNone(t)
}

func TestShutdownClosesCleanly(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	c := dialTest(t, fs.options(channel.RoleMaster, "", rec))
	sc := fs.waitAccepted(t)
	if err := c.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-sc.ended:
	case <-time.After(waitLimit):
		t.Fatal("server socket still open")
	}
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("server saw %v, want a 1000 close", err)
	}
	if got := rec.stateSeq(); !slices.Equal(got, []State{StateConnecting, StateConnected, StateClosed}) {
		t.Fatalf("states %v", got)
	}
}

// No presigned URL, signature, session token or secret reaches the logs or
// the errors, on success, reconnection, refusal and unreachable endpoints.
func TestNoSecretsInLogs(t *testing.T) {
	fs := newFakeService(t)
	var logs syncBuffer
	rec := newRecorder()
	o := fs.options(channel.RoleViewer, "viewer-1", rec)
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deadURL := deadEndpoint(t)
	var calls atomic.Int64
	o.Endpoint = func(context.Context) (string, error) {
		if calls.Add(1) == 2 {
			return deadURL, nil
		}
		return fs.endpoint(channel.RoleViewer), nil
	}
	c := dialTest(t, o)
	sc := fs.waitAccepted(t)
	fs.refuseNext(403)
	sc.conn.Close(websocket.StatusGoingAway, "Going away")
	fs.waitAccepted(t)
	rec.waitState(t, StateConnected)
	rec.waitState(t, StateConnected)
	master := dialTest(t, fs.options(channel.RoleMaster, "", newRecorder()))
	fs.waitAccepted(t)
	if _, err := c.SendOffer(ctxT(t), "", testOffer); err != nil {
		t.Fatal(err)
	}
	recv(t, master, wire.MessageTypeSDPOffer)

	var text strings.Builder
	text.Write(logs.Bytes())
	rec.mu.Lock()
	for _, err := range rec.errs {
		if err != nil {
			text.WriteString(err.Error() + "\n")
		}
	}
	rec.mu.Unlock()
	out := text.String()
	fs.mu.Lock()
	secrets := append([]string{testSecret, testToken, "supersecretpwd"}, fs.signatures...)
	fs.mu.Unlock()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("output contains secret %q:\n%s", s, out)
		}
	}
	if regexp.MustCompile(`X-Amz-Signature=[0-9a-f]`).MatchString(out) {
		t.Errorf("unredacted signature:\n%s", out)
	}
	for _, want := range []string{"X-Amz-Signature=****", "connection refused", "403"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScrubDialError(t *testing.T) {
	u := "https://127.0.0.1:1/v-1?X-Amz-Security-Token=" + testToken + "&X-Amz-Signature=abcdef"
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	_, err := (&http.Client{}).Do(req)
	if err == nil {
		t.Fatal("want an error")
	}
	got := scrubDialError(err)
	var ne *net.OpError
	if strings.Contains(got.Error(), "abcdef") || strings.Contains(got.Error(), "signaling+test") || !errors.As(got, &ne) {
		t.Fatalf("scrubbed %v", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// A socket that stops answering pings is dropped and reopened.
func TestUnansweredPingReconnects(t *testing.T) {
	fs := newFakeService(t)
	fs.mu.Lock()
	fs.stallOnOpen = 1
	fs.mu.Unlock()
	rec := newRecorder()
	o := fs.options(channel.RoleMaster, "", rec)
	o.PingInterval = 20 * time.Millisecond
	c := dialTest(t, o)
	fs.waitAccepted(t)
	fs.waitAccepted(t)
	sc := rec.waitState(t, StateReconnecting)
	if !errors.Is(sc.Err, errPingUnanswered) {
		t.Fatalf("reconnecting because %v", sc.Err)
	}
	rec.waitState(t, StateConnected)
	if s := c.Stats(); s.Reconnects != 1 || s.Errors == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Frames the client cannot use are counted and skipped; the connection stays.
func TestBadFramesSkipped(t *testing.T) {
	fs := newFakeService(t)
	rec := newRecorder()
	c := dialTest(t, fs.options(channel.RoleMaster, "", rec))
	sc := fs.waitAccepted(t)
	ctx := ctxT(t)
	for _, f := range []struct {
		typ  websocket.MessageType
		data string
	}{
		{websocket.MessageBinary, `{"messageType":"SDP_OFFER"}`},
		{websocket.MessageText, `not json`},
		{websocket.MessageText, `{"messageType":"SOMETHING_NEW"}`},
		{websocket.MessageText, `{"messagePayload":"eyJ9"}`},
		{websocket.MessageText, `{"messageType":"ICE_CANDIDATE","messagePayload":"!!"}`},
	} {
		if err := sc.conn.Write(ctx, f.typ, []byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	fs.push(sc, wire.ServerMessage{MessageType: wire.MessageTypeSDPOffer, SenderClientID: "v", MessagePayload: "eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiIifQ=="})
	recv(t, c, wire.MessageTypeSDPOffer)
	if s := c.Stats(); s.MessagesReceived != 6 || s.Errors != 5 || s.Reconnects != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got := rec.stateSeq(); !slices.Equal(got, []State{StateConnecting, StateConnected}) {
		t.Fatalf("states %v", got)
	}
}
