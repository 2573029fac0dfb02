package signaling_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/jsrun"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// jsCredential is a temporary credential: the KVS JS SDK must put its
// session token into the signed query (§4.2). It opens only this emulator.
var jsCredential = emulator.Credential{
	AccessKeyID:     "ASIAKVSRTCJSPEER01",
	SecretAccessKey: "js-peer-test-secret-do-not-log",
	SessionToken:    "js/peer+session=token-do-not-log",
}

// jsEvent is one line signaling-peer.mjs prints.
type jsEvent struct {
	Event          string               `json:"event"`
	ID             *int                 `json:"id"`
	URL            string               `json:"url"`
	Message        string               `json:"message"`
	Payload        json.RawMessage      `json:"payload"`
	SenderClientID *string              `json:"senderClientId"`
	StatusResponse *wire.StatusResponse `json:"statusResponse"`
}

// jsPeer is the official KVS JS SignalingClient in a node process, driven
// through jstest/signaling-peer.mjs.
type jsPeer struct {
	t      *testing.T
	name   string
	stdin  io.WriteCloser
	events chan jsEvent
	stderr *lockedBuffer
	nextID int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var jsSecretParams = regexp.MustCompile(`(?i)((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&\s"]+`)

// redactJS keeps the test credential out of failure messages.
func redactJS(s string) string {
	s = strings.NewReplacer(jsCredential.SecretAccessKey, "[REDACTED]", jsCredential.SessionToken, "[REDACTED]").Replace(s)
	return jsSecretParams.ReplaceAllString(s, "${1}[REDACTED]")
}

// jsEnviron is the node child's environment, isolated as internal/jsrun
// isolates call.mjs: nothing AWS- or TLS-related from the test process.
func jsEnviron(e *emulator.Emulator, c emulator.Credential) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "KVSRTC_JS_") ||
			name == "NODE_EXTRA_CA_CERTS" || name == "NODE_TLS_REJECT_UNAUTHORIZED" || name == "NODE_OPTIONS" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "AWS_REGION="+e.Region(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	if c.SessionToken != "" {
		out = append(out, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	ca, _ := filepath.Abs(e.CABundlePath())
	return append(out, "NODE_EXTRA_CA_CERTS="+ca)
}

// startJSPeer runs the JS SignalingClient as role (MASTER or VIEWER) against
// the WSS endpoint and waits for its "ready" line. It is stopped at cleanup.
func startJSPeer(t *testing.T, e *emulator.Emulator, cred emulator.Credential, role, arn, endpoint, clientID string) *jsPeer {
	t.Helper()
	if err := jsrun.Check(); err != nil {
		t.Fatal(err) // a broken machine, never a reason to skip
	}
	dir, err := jsrun.Dir()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"signaling-peer.mjs", "--role", role, "--channel-arn", arn, "--endpoint", endpoint}
	if clientID != "" {
		args = append(args, "--client-id", clientID)
	}
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Env = jsEnviron(e, cred)
	cmd.WaitDelay = 5 * time.Second
	p := &jsPeer{t: t, name: "js " + strings.ToLower(role), events: make(chan jsEvent, 256), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		kill()
		t.Fatalf("start node: %v", err)
	}
	quit := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var ev jsEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = jsEvent{Event: "badLine", Message: sc.Text()}
			}
			select {
			case p.events <- ev:
			case <-quit:
			}
		}
	}()
	t.Cleanup(func() {
		close(quit)
		p.stdin.Close() // signaling-peer.mjs closes the client and exits
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			kill()
			<-read
		}
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("%s exited: %v; stderr:\n%s", p.name, err, redactJS(p.stderr.String()))
		}
		kill()
	})
	p.expect("ready")
	return p
}

// expect returns the next event, which must be of kind want. Acks of sent
// commands are passed over; anything else unexpected fails the test.
func (p *jsPeer) expect(want string) jsEvent {
	p.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("%s exited while waiting for %q; stderr:\n%s", p.name, want, redactJS(p.stderr.String()))
			}
			if ev.Event == want {
				return ev
			}
			if ev.Event == "sent" {
				continue
			}
			p.t.Fatalf("%s: got event %q (%s), want %q", p.name, ev.Event, redactJS(ev.Message), want)
		case <-timeout:
			p.t.Fatalf("%s: no %q event within 15 s; stderr:\n%s", p.name, want, redactJS(p.stderr.String()))
		}
	}
}

// send asks the SDK to send; a VIEWER leaves recipient empty.
func (p *jsPeer) send(op string, payload any, recipient, correlationID string) {
	p.t.Helper()
	p.nextID++
	line, err := json.Marshal(map[string]any{"id": p.nextID, "op": op, "payload": payload,
		"recipientClientId": recipient, "correlationId": correlationID})
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("%s: write command: %v", p.name, err)
	}
}

// checkDialURL checks that the URL the JS SDK opened is the JS signer's
// (§4.2): the role's endpoint path, X-Amz-Expires 299, the session token
// signed in, all parameters sorted with X-Amz-Signature among them.
func checkDialURL(t *testing.T, raw, endpoint, clientID string) {
	t.Helper()
	t.Logf("JS SDK dialled %s", redactJS(raw))
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("dial URL: %v", err)
	}
	ep, _ := url.Parse(endpoint)
	if u.Host != ep.Host || u.Path != ep.Path {
		t.Errorf("dial URL %s, want endpoint %s", redactJS(raw), endpoint)
	}
	var names []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	want := []string{"X-Amz-Algorithm", "X-Amz-ChannelARN"}
	if clientID != "" {
		want = append(want, "X-Amz-ClientId")
	}
	want = append(want, "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-SignedHeaders")
	if strings.Join(names, "&") != strings.Join(want, "&") {
		t.Errorf("query parameters %v, want the JS signer's sorted %v", names, want)
	}
	q := u.Query()
	if q.Get("X-Amz-Expires") != "299" || q.Get("X-Amz-ClientId") != clientID {
		t.Errorf("X-Amz-Expires %q, X-Amz-ClientId %q", q.Get("X-Amz-Expires"), q.Get("X-Amz-ClientId"))
	}
}

// jsFixture is an emulator that knows jsCredential, a channel and its two
// WSS endpoints.
type jsFixture struct {
	e                    *emulator.Emulator
	et                   *emuTarget
	arn                  string
	masterWSS, viewerWSS string
	ctx                  context.Context
}

func newJSFixture(t *testing.T, name string) *jsFixture {
	t.Helper()
	if err := jsrun.Check(); err != nil {
		t.Fatal(err)
	}
	e := emulatortest.Start(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, jsCredential}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	f := &jsFixture{e: e, et: newEmuTarget(t, e), ctx: ctx}
	f.arn = f.et.createChannel(t, ctx, name, 0)
	var err error
	if f.masterWSS, err = f.et.endpoint(f.arn, types.ChannelRoleMaster)(ctx); err != nil {
		t.Fatal(err)
	}
	if f.viewerWSS, err = f.et.endpoint(f.arn, types.ChannelRoleViewer)(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

func decodeJSON[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("payload %s: %v", raw, err)
	}
	return v
}

func senderOf(ev jsEvent) string {
	if ev.SenderClientID == nil {
		return "<none>"
	}
	return *ev.SenderClientID
}

// The official KVS JS SignalingClient as MASTER and our Go client as VIEWER:
// the emulator accepts the JS SDK's presigned URL (temporary credentials,
// X-Amz-Expires 299), offer, answer and candidates cross in both directions,
// and STATUS_RESPONSEs for a recipient never seen and for a master's offer
// reach the JS client's statusResponse event.
func TestJSMasterGoViewer(t *testing.T) {
	f := newJSFixture(t, "js-master")
	ctx := f.ctx
	js := startJSPeer(t, f.e, jsCredential, "MASTER", f.arn, f.masterWSS, "")
	checkDialURL(t, js.expect("dial").URL, f.masterWSS, "")
	js.expect("open")
	if up, _ := f.e.Connections(f.arn); !up || f.e.Requests("ConnectAsMaster") != 1 {
		t.Fatalf("emulator: master connected %v after %d ConnectAsMaster", up, f.e.Requests("ConnectAsMaster"))
	}

	viewer := f.et.dialGo(t, ctx, f.arn, channel.RoleViewer, "go-viewer")
	offer := sdp("offer", "go-viewer")
	if _, err := viewer.SendOffer(ctx, "", offer); err != nil {
		t.Fatal(err)
	}
	ev := js.expect("sdpOffer")
	if got := decodeJSON[wire.SessionDescription](t, ev.Payload); got != offer || senderOf(ev) != "go-viewer" {
		t.Fatalf("JS master got offer %+v from %s", got, senderOf(ev))
	}
	vc := candidate("50000")
	if _, err := viewer.SendICECandidate(ctx, "", vc); err != nil {
		t.Fatal(err)
	}
	ev = js.expect("iceCandidate")
	if got := decodeJSON[wire.ICECandidateInit](t, ev.Payload); got.Candidate != vc.Candidate || *got.SDPMid != "0" || senderOf(ev) != "go-viewer" {
		t.Fatalf("JS master got candidate %+v from %s", got, senderOf(ev))
	}

	answer := sdp("answer", "js-master")
	js.send("sendSdpAnswer", answer, "go-viewer", "")
	a := next(t, ctx, viewer, wire.MessageTypeSDPAnswer)
	if sd, err := a.SessionDescription(); err != nil || sd != answer || !a.FromMaster() {
		t.Fatalf("Go viewer got answer %+v from %q: %v", sd, a.SenderClientID, err)
	}
	mc := candidate("50001")
	js.send("sendIceCandidate", mc, "go-viewer", "")
	if c, err := next(t, ctx, viewer, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != mc.Candidate {
		t.Fatalf("Go viewer got candidate %+v: %v", c, err)
	}

	// Errors come back only with a correlation id (§4.4, §13).
	js.send("sendIceCandidate", mc, "never-seen-viewer", "js-corr-unknown")
	st := js.expect("statusResponse").StatusResponse
	if st == nil || st.CorrelationID != "js-corr-unknown" || st.StatusCode != "400" || st.ErrorType != "InvalidArgumentException" {
		t.Fatalf("statusResponse for an unknown recipient: %+v", st)
	}
	js.send("sendSdpOffer", sdp("offer", "js-master"), "go-viewer", "js-corr-offer")
	st = js.expect("statusResponse").StatusResponse
	if st == nil || st.CorrelationID != "js-corr-offer" || st.StatusCode != "400" {
		t.Fatalf("statusResponse for a master's SDP_OFFER: %+v", st)
	}
	// The master's offer was dropped: the next frame the viewer gets is
	// this candidate (the relay keeps one sender's order).
	js.send("sendIceCandidate", candidate("50002"), "go-viewer", "")
	if c, err := next(t, ctx, viewer, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != candidate("50002").Candidate {
		t.Fatalf("after the refused offer: %+v %v", c, err)
	}

	js.send("close", nil, "", "")
	js.expect("close")
	waitFor(t, ctx, "JS master gone", func() bool { up, _ := f.e.Connections(f.arn); return !up })
}

// Our Go client as MASTER and the official KVS JS SignalingClient as VIEWER:
// the emulator accepts the JS viewer's presigned URL (with X-Amz-ClientId),
// offer, answer and candidates cross in both directions, and the Go master
// gets STATUS_RESPONSEs by correlation id for a recipient never seen and for
// an SDP_OFFER, which the service drops.
func TestGoMasterJSViewer(t *testing.T) {
	f := newJSFixture(t, "js-viewer")
	ctx := f.ctx
	master := f.et.dialGo(t, ctx, f.arn, channel.RoleMaster, "")
	js := startJSPeer(t, f.e, jsCredential, "VIEWER", f.arn, f.viewerWSS, "js-viewer")
	checkDialURL(t, js.expect("dial").URL, f.viewerWSS, "js-viewer")
	js.expect("open")
	if _, viewers := f.e.Connections(f.arn); len(viewers) != 1 || viewers[0] != "js-viewer" || f.e.Requests("ConnectAsViewer") != 1 {
		t.Fatalf("emulator: viewers %v after %d ConnectAsViewer", viewers, f.e.Requests("ConnectAsViewer"))
	}

	offer := sdp("offer", "js-viewer")
	js.send("sendSdpOffer", offer, "", "")
	m := next(t, ctx, master, wire.MessageTypeSDPOffer)
	if sd, err := m.SessionDescription(); err != nil || sd != offer || m.SenderClientID != "js-viewer" {
		t.Fatalf("Go master got offer %+v from %q: %v", sd, m.SenderClientID, err)
	}
	vc := candidate("51000")
	js.send("sendIceCandidate", vc, "", "")
	m = next(t, ctx, master, wire.MessageTypeICECandidate)
	if c, err := m.ICECandidate(); err != nil || c.Candidate != vc.Candidate || m.SenderClientID != "js-viewer" {
		t.Fatalf("Go master got candidate %+v from %q: %v", c, m.SenderClientID, err)
	}

	// The JS SDK holds candidates until it has the sender's SDP (§4.5), so
	// the answer goes first.
	answer := sdp("answer", "go-master")
	if _, err := master.SendAnswer(ctx, "js-viewer", answer); err != nil {
		t.Fatal(err)
	}
	ev := js.expect("sdpAnswer")
	if got := decodeJSON[wire.SessionDescription](t, ev.Payload); got != answer || ev.SenderClientID != nil {
		t.Fatalf("JS viewer got answer %+v from %s (want no sender: the master)", got, senderOf(ev))
	}
	mc := candidate("51001")
	if _, err := master.SendICECandidate(ctx, "js-viewer", mc); err != nil {
		t.Fatal(err)
	}
	ev = js.expect("iceCandidate")
	if got := decodeJSON[wire.ICECandidateInit](t, ev.Payload); got.Candidate != mc.Candidate || ev.SenderClientID != nil {
		t.Fatalf("JS viewer got candidate %+v from %s", got, senderOf(ev))
	}

	id, err := master.SendICECandidate(ctx, "never-seen-viewer", mc, signaling.WithNewCorrelationID())
	if err != nil {
		t.Fatal(err)
	}
	st := next(t, ctx, master, wire.MessageTypeStatusResponse).StatusResponse
	if st == nil || st.CorrelationID != id || st.StatusCode != "400" || st.ErrorType != "InvalidArgumentException" {
		t.Fatalf("Go master status for an unknown recipient (id %s): %+v", id, st)
	}
	if _, err := master.SendOffer(ctx, "js-viewer", sdp("offer", "go-master"), signaling.WithCorrelationID("go-corr-offer")); err != nil {
		t.Fatal(err)
	}
	st = next(t, ctx, master, wire.MessageTypeStatusResponse).StatusResponse
	if st == nil || st.CorrelationID != "go-corr-offer" || st.StatusCode != "400" {
		t.Fatalf("Go master status for its SDP_OFFER: %+v", st)
	}
	// Dropped, not delivered: the JS viewer's next event is this candidate.
	if _, err := master.SendICECandidate(ctx, "js-viewer", candidate("51002")); err != nil {
		t.Fatal(err)
	}
	ev = js.expect("iceCandidate")
	if got := decodeJSON[wire.ICECandidateInit](t, ev.Payload); got.Candidate != candidate("51002").Candidate {
		t.Fatalf("after the refused offer the JS viewer got %+v", got)
	}

	// The JS viewer can get a STATUS_RESPONSE too: a payload over the
	// service's 10,000-byte limit, which the JS SDK does not check.
	big := wire.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host " + strings.Repeat("x", 10000)}
	js.send("sendIceCandidate", big, "", "js-corr-big")
	st = js.expect("statusResponse").StatusResponse
	if st == nil || st.CorrelationID != "js-corr-big" || st.StatusCode != "400" {
		t.Fatalf("JS viewer status for an oversized payload: %+v", st)
	}

	js.send("close", nil, "", "")
	js.expect("close")
	waitFor(t, ctx, "JS viewer gone", func() bool { _, v := f.e.Connections(f.arn); return len(v) == 0 })
}

// The acceptance above means something: the same JS client signing with a
// session token the emulator does not know is refused at the upgrade, which
// the JS SDK reports as error and close (§4.3, §5.5), and nothing connects.
func TestJSPresignRefused(t *testing.T) {
	f := newJSFixture(t, "js-refused")
	forged := jsCredential
	forged.SessionToken = "forged-session-token"
	js := startJSPeer(t, f.e, forged, "VIEWER", f.arn, f.viewerWSS, "js-forged")
	js.expect("dial")
	if ev := js.expect("error"); !strings.Contains(ev.Message, "403") {
		t.Errorf("JS SDK error %q, want the 403 refusal", redactJS(ev.Message))
	}
	js.expect("close")
	if n := f.e.Requests("ConnectAsViewer"); n != 1 {
		t.Errorf("ConnectAsViewer requests = %d, want 1", n)
	}
	if _, viewers := f.e.Connections(f.arn); len(viewers) != 0 {
		t.Errorf("a refused viewer is connected: %v", viewers)
	}
}
