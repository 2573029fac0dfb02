package emulator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func wssEndpoint(t testing.TB, e *emulator.Emulator, arn string, role types.ChannelRole) string {
	t.Helper()
	g, err := newClient(e).GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWss}, Role: role}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(g.ResourceEndpointList[0].ResourceEndpoint)
}

type presignOpts struct {
	creds    emulator.Credential
	at       time.Time
	expires  int
	clientID string
	arn      string
}

// presign builds a presigned WSS URL with the SDK's signer, as §4.2 says.
func presign(t testing.TB, e *emulator.Emulator, endpoint string, o presignOpts) string {
	t.Helper()
	if o.creds.AccessKeyID == "" {
		o.creds = e.Credential()
	}
	if o.at.IsZero() {
		o.at = time.Now()
	}
	if o.expires == 0 {
		o.expires = 299
	}
	q := url.Values{"X-Amz-ChannelARN": {o.arn}, "X-Amz-Expires": {fmt.Sprint(o.expires)}}
	if o.clientID != "" {
		q.Set("X-Amz-ClientId", o.clientID)
	}
	req, _ := http.NewRequest(http.MethodGet, endpoint+"?"+q.Encode(), nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: o.creds.AccessKeyID, SecretAccessKey: o.creds.SecretAccessKey, SessionToken: o.creds.SessionToken},
		req, emptySHA256, "kinesisvideo", e.Region(), o.at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func dialWSS(ctx context.Context, e *emulator.Emulator, u string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: emulatortest.HTTPClient(e)})
}

type frame struct {
	MessageType    string  `json:"messageType"`
	MessagePayload string  `json:"messagePayload"`
	SenderClientID *string `json:"senderClientId"`
	StatusResponse *struct {
		CorrelationID, ErrorType, StatusCode, Description string
	} `json:"statusResponse"`
}

func read(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

func write(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

type wssFixture struct {
	e      *emulator.Emulator
	arn    string
	master string // master WSS endpoint
	viewer string // viewer WSS endpoint
}

func newWSSFixture(t *testing.T, opts emulator.Options) *wssFixture {
	e := emulatortest.Start(t, opts)
	arn := createChannel(t, newClient(e), "wss")
	return &wssFixture{e: e, arn: arn, master: wssEndpoint(t, e, arn, types.ChannelRoleMaster), viewer: wssEndpoint(t, e, arn, types.ChannelRoleViewer)}
}

func (f *wssFixture) connect(t *testing.T, clientID string) *websocket.Conn {
	t.Helper()
	ep := f.master
	if clientID != "" {
		ep = f.viewer
	}
	c, _, err := dialWSS(context.Background(), f.e, presign(t, f.e, ep, presignOpts{arn: f.arn, clientID: clientID}))
	if err != nil {
		t.Fatalf("connect %q: %v", clientID, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// A master and the maximum number of viewers exchange offers, answers and
// candidates; one more viewer is refused; unknown recipients get a status.
func TestRelayMasterAndMaxViewers(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1}})
	master := f.connect(t, "")
	var viewers []*websocket.Conn
	for i := range 10 {
		viewers = append(viewers, f.connect(t, fmt.Sprintf("viewer-%d", i)))
	}
	_, resp, err := dialWSS(context.Background(), f.e, presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "viewer-10"}))
	if err == nil || resp == nil || resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ClientLimitExceededException") {
		t.Fatalf("11th viewer: want 400 ClientLimitExceededException, got %v %v", err, resp)
	}
	for i, v := range viewers {
		id := fmt.Sprintf("viewer-%d", i)
		// A JS-style frame from the viewer; its recipient is ignored (§4.4).
		write(t, v, `{"action":"SDP_OFFER","messagePayload":"b2ZmZXI=","correlationId":"c`+fmt.Sprint(i)+`"}`)
		got := read(t, master)
		if got.MessageType != "SDP_OFFER" || got.SenderClientID == nil || *got.SenderClientID != id || got.MessagePayload != "b2ZmZXI=" {
			t.Fatalf("master got %+v", got)
		}
		// A C-SDK-style frame from the master (capitalised keys, §4.4).
		write(t, master, "{\n\t\"action\": \"SDP_ANSWER\",\n\t\"RecipientClientId\": \""+id+"\",\n\t\"MessagePayload\": \"YW5zd2Vy\"\n}")
		got = read(t, v)
		if got.MessageType != "SDP_ANSWER" || got.SenderClientID != nil || got.MessagePayload != "YW5zd2Vy" {
			t.Fatalf("viewer %d got %+v (senderClientId must be absent toward viewers)", i, got)
		}
		write(t, v, `{"action":"ICE_CANDIDATE","messagePayload":"Y2FuZA=="}`)
		if got := read(t, master); got.MessageType != "ICE_CANDIDATE" || *got.SenderClientID != id {
			t.Fatalf("master got %+v", got)
		}
		write(t, master, `{"action":"ICE_CANDIDATE","recipientClientId":"`+id+`","messagePayload":"Y2FuZA=="}`)
		if got := read(t, v); got.MessageType != "ICE_CANDIDATE" {
			t.Fatalf("viewer got %+v", got)
		}
	}
	write(t, master, `{"action":"SDP_ANSWER","recipientClientId":"nobody","messagePayload":"eA==","correlationId":"x1"}`)
	if got := read(t, master); got.MessageType != "STATUS_RESPONSE" || got.StatusResponse.CorrelationID != "x1" || got.StatusResponse.StatusCode != "400" {
		t.Fatalf("unknown recipient: %+v", got)
	}
	// A viewer that leaves frees its slot at once.
	viewers[0].Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, vs := f.e.Connections(f.arn); len(vs) == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed viewer's slot was not freed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.connect(t, "viewer-10")
}

func TestRelayStatusResponses(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: 2}})
	master := f.connect(t, "")
	viewer := f.connect(t, "v1")
	tests := []struct {
		name, from, frame, errorType string
	}{
		{"master offer dropped", "master", `{"action":"SDP_OFFER","recipientClientId":"v1","messagePayload":"eA==","correlationId":"a1"}`, "InvalidArgumentException"},
		{"master without recipient", "master", `{"action":"SDP_ANSWER","messagePayload":"eA==","correlationId":"a2"}`, "InvalidArgumentException"},
		{"payload not base64", "viewer", `{"action":"SDP_OFFER","messagePayload":"***","correlationId":"a3"}`, "InvalidArgumentException"},
		{"oversize payload", "viewer", `{"action":"SDP_OFFER","messagePayload":"` + strings.Repeat("A", 10004) + `","correlationId":"a4"}`, "InvalidArgumentException"},
		{"unknown action", "viewer", `{"action":"HELLO","messagePayload":"eA==","correlationId":"a5"}`, "InvalidArgumentException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := viewer
			if tt.from == "master" {
				c = master
			}
			write(t, c, tt.frame)
			got := read(t, c)
			if got.MessageType != "STATUS_RESPONSE" || got.StatusResponse == nil || got.StatusResponse.ErrorType != tt.errorType || got.StatusResponse.StatusCode != "400" {
				t.Fatalf("got %+v", got)
			}
		})
	}
	// Rate limit: 2 SDP per second (set above); the third in a burst is refused.
	for i := range 3 {
		write(t, viewer, fmt.Sprintf(`{"action":"SDP_OFFER","messagePayload":"eA==","correlationId":"r%d"}`, i))
	}
	for range 2 {
		if got := read(t, master); got.MessageType != "SDP_OFFER" {
			t.Fatalf("master got %+v", got)
		}
	}
	if got := read(t, viewer); got.StatusResponse == nil || got.StatusResponse.ErrorType != "ClientLimitExceededException" || got.StatusResponse.CorrelationID != "r2" {
		t.Fatalf("rate limit: %+v", got)
	}
	// Without a correlation id an error is silent (§4.4): the next frame
	// the viewer sees is the master's answer.
	write(t, viewer, `{"action":"SDP_OFFER","messagePayload":"***"}`)
	write(t, master, `{"action":"SDP_ANSWER","recipientClientId":"v1","messagePayload":"eA=="}`)
	if got := read(t, viewer); got.MessageType != "SDP_ANSWER" {
		t.Fatalf("viewer got %+v", got)
	}
}

// Refusals at the upgrade, with the service's statuses (§4.3).
func TestRelayRefusals(t *testing.T) {
	denied := emulator.Credential{AccessKeyID: "AKIDNOVIEW", SecretAccessKey: "noview", Actions: []string{"kinesisvideo:ConnectAsMaster"}}
	f := newWSSFixture(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, denied}, Limits: emulator.Limits{ConnectsPerSecond: -1}})
	other := createChannel(t, newClient(f.e), "other")
	missing := strings.Replace(f.arn, "channel/wss/", "channel/gone/", 1)
	forged := f.e.Credential()
	forged.SecretAccessKey = "forged"
	tests := []struct {
		name   string
		url    string
		status int
		code   string
		inMsg  string
	}{
		{"expired URL", presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "v", at: time.Now().Add(-2 * time.Minute), expires: 60}), 403, "AccessDeniedException", "expired"},
		{"forged signature", presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "v", creds: forged}), 403, "AccessDeniedException", "signature"},
		{"unknown channel", presign(t, f.e, f.viewer, presignOpts{arn: missing, clientID: "v"}), 404, "ResourceNotFoundException", ""},
		{"another channel's endpoint", presign(t, f.e, f.viewer, presignOpts{arn: other, clientID: "v"}), 404, "ResourceNotFoundException", ""},
		{"viewer URL on the master role", presign(t, f.e, f.master, presignOpts{arn: f.arn, clientID: "v"}), 400, "InvalidArgumentException", "master endpoint"},
		{"viewer without client id", presign(t, f.e, f.viewer, presignOpts{arn: f.arn}), 400, "InvalidArgumentException", "required"},
		{"client id AWS_", presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "aws_viewer"}), 400, "InvalidArgumentException", "AWS_"},
		{"missing permission", presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "v", creds: denied}), 403, "AccessDeniedException", "kinesisvideo:ConnectAsViewer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := dialWSS(context.Background(), f.e, tt.url)
			if err == nil {
				c.CloseNow()
				t.Fatal("upgrade accepted")
			}
			if resp == nil || resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), tt.code) {
				t.Fatalf("want %d %s, got %v", tt.status, tt.code, resp)
			}
			if strings.Contains(err.Error(), "X-Amz-Signature=") && !strings.Contains(err.Error(), "X-Amz-Signature=****") {
				t.Logf("note: the dial error carries the signature: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), tt.inMsg) {
				t.Fatalf("refusal body %q does not mention %q", body, tt.inMsg)
			}
		})
	}
	// The master role with the denied key is allowed.
	c, _, err := dialWSS(context.Background(), f.e, presign(t, f.e, f.master, presignOpts{arn: f.arn, creds: denied}))
	if err != nil {
		t.Fatalf("permitted ConnectAsMaster refused: %v", err)
	}
	c.CloseNow()
}

func TestRelayConnectRate(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: 3}})
	var refused int
	for i := range 6 {
		c, resp, err := dialWSS(context.Background(), f.e, presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: fmt.Sprint("v", i)}))
		if err == nil {
			defer c.CloseNow()
			continue
		}
		if resp == nil || resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ClientLimitExceededException") {
			t.Fatalf("connect %d: %v %v", i, err, resp)
		}
		refused++
	}
	// 3 per second with a burst of 3: six quick connects see 2–3 refusals.
	if refused < 2 {
		t.Fatalf("only %d of 6 quick connects refused at 3/s", refused)
	}
}

// The newest master wins; a viewer reconnecting with its id takes over.
// Newest is the later 101, even when the older connection's registration
// comes last (its goroutine descheduled under load): the first master's
// registration is held back here until the second is registered.
func TestRelayTakeover(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	hold := make(chan struct{})
	var held atomic.Bool
	emulator.SetBeforeRegister(f.e, func(role, _ string) {
		if role == "MASTER" && held.CompareAndSwap(false, true) {
			<-hold
		}
	})
	m1 := f.connect(t, "")
	m2 := f.connect(t, "")
	for deadline := time.Now().Add(5 * time.Second); ; {
		if master, _ := f.e.Connections(f.arn); master {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second master not registered after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := m1.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("old master: want close 1001, got %v", err)
	}
	v1 := f.connect(t, "same")
	v2 := f.connect(t, "same")
	if _, _, err := v1.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("old viewer: want close 1001, got %v", err)
	}
	write(t, m2, `{"action":"SDP_ANSWER","recipientClientId":"same","messagePayload":"eA=="}`)
	if got := read(t, v2); got.MessageType != "SDP_ANSWER" {
		t.Fatalf("new viewer got %+v", got)
	}
}

// Messages for an absent client are held for MessageTtlSeconds and
// delivered once (§13); past the TTL they are gone.
func TestRelayQueueTTL(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f := newWSSFixture(t, emulator.Options{Clock: clock, Limits: emulator.Limits{ConnectsPerSecond: -1}})
	c := newClient(f.e)
	if _, err := c.UpdateSignalingChannel(context.Background(), &kinesisvideo.UpdateSignalingChannelInput{ChannelARN: &f.arn,
		CurrentVersion: describeVersion(t, c, f.arn), SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(5)}}); err != nil {
		t.Fatal(err)
	}
	v := f.connect(t, "early")
	write(t, v, `{"action":"SDP_OFFER","messagePayload":"b2xk"}`)
	write(t, v, `{"action":"SDP_OFFER","messagePayload":"bmV3"}`) // overwrites the undelivered one (§4.4)
	write(t, v, `{"action":"ICE_CANDIDATE","messagePayload":"Y2FuZA=="}`)
	deadlineWrite(t, f)
	m := f.connect(t, "")
	if got := read(t, m); got.MessageType != "SDP_OFFER" || got.MessagePayload != "bmV3" || *got.SenderClientID != "early" {
		t.Fatalf("first queued: %+v", got)
	}
	if got := read(t, m); got.MessageType != "ICE_CANDIDATE" {
		t.Fatalf("second queued: %+v", got)
	}
	m.Close(websocket.StatusNormalClosure, "")
	// Delivered once: a new master gets nothing queued. Then an offer that
	// waits past the TTL is dropped.
	write(t, v, `{"action":"SDP_OFFER","messagePayload":"bGF0ZQ=="}`)
	deadlineWrite(t, f)
	offset.Store(int64(6 * time.Second))
	m2 := f.connect(t, "")
	write(t, v, `{"action":"SDP_OFFER","messagePayload":"ZnJlc2g="}`)
	if got := read(t, m2); got.MessagePayload != "ZnJlc2g=" {
		t.Fatalf("the expired offer was delivered: %+v", got)
	}
}

// deadlineWrite waits until the relay has taken the frames already written
// (a round trip through a second connection would race; the channel's
// master slot being empty is what matters, so poll the queue's effect).
func deadlineWrite(t *testing.T, f *wssFixture) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := f.e.Connections(f.arn); !m {
			time.Sleep(20 * time.Millisecond) // frames in flight on loopback
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("master still connected")
}

func describeVersion(t *testing.T, c *kinesisvideo.Client, arn string) *string {
	d, err := c.DescribeSignalingChannel(context.Background(), &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &arn})
	if err != nil {
		t.Fatal(err)
	}
	return d.ChannelInfo.Version
}

// GO_AWAY a grace period before the connection's end, then 1001 "Going
// away"; idle connections are closed; pings keep them alive (§13).
func TestRelayTimers(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1,
		MaxConnDuration: 400 * time.Millisecond, GoAwayGrace: 200 * time.Millisecond, IdleTimeout: 10 * time.Second}})
	v := f.connect(t, "v")
	start := time.Now()
	if got := read(t, v); got.MessageType != "GO_AWAY" {
		t.Fatalf("want GO_AWAY, got %+v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := v.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "Going away" || time.Since(start) < 350*time.Millisecond {
		t.Fatalf("want 1001 Going away after the max duration, got %v after %v", err, time.Since(start))
	}

	g := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1, IdleTimeout: 300 * time.Millisecond}})
	idle := g.connect(t, "idle")
	pinger := g.connect(t, "pinger")
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	go func() { // a reader must run for pongs to be read
		for {
			if _, _, err := pinger.Read(pctx); err != nil {
				return
			}
		}
	}()
	for range 8 { // 8 × 100 ms: well past the idle timeout
		if err := pinger.Ping(ctx); err != nil {
			t.Fatalf("pinging connection closed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, _, err := idle.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("idle connection: want 1001, got %v", err)
	}
}

// Closing the emulator sends GO_AWAY and 1001 to every client; a deleted
// channel's clients are closed too.
func TestRelayShutdownAndDelete(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	arn := createChannel(t, newClient(e), "bye")
	c, _, err := dialWSS(context.Background(), e, presign(t, e, wssEndpoint(t, e, arn, types.ChannelRoleViewer), presignOpts{arn: arn, clientID: "v"}))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	if got := read(t, c); got.MessageType != "GO_AWAY" {
		t.Fatalf("want GO_AWAY on shutdown, got %+v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("want 1001 on shutdown, got %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}

	f := newWSSFixture(t, emulator.Options{})
	v := f.connect(t, "v")
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := newClient(f.e).DeleteSignalingChannel(context.Background(), &kinesisvideo.DeleteSignalingChannelInput{ChannelARN: &f.arn}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after delete: want 1001, got %v", err)
	}
}

// SendAlexaOfferToMaster delivers the offer and returns the master's answer.
func TestSendAlexaOfferToMaster(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{})
	m := f.connect(t, "")
	g, err := newClient(f.e).GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &f.arn,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{Protocols: []types.ChannelProtocol{types.ChannelProtocolHttps}}})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(aws.ToString(g.ResourceEndpointList[0].ResourceEndpoint), f.e.URL())
	go func() {
		got := read(t, m)
		if got.MessageType == "SDP_OFFER" && got.SenderClientID != nil && *got.SenderClientID == "alexa-1" {
			write(t, m, `{"action":"SDP_ANSWER","recipientClientId":"alexa-1","messagePayload":"YW5zd2Vy"}`)
		}
	}()
	status, _, body := signedPost(t, f.e, path+"/v1/send-alexa-offer-to-master", []byte(`{"ChannelARN":"`+f.arn+`","SenderClientId":"alexa-1","MessagePayload":"b2ZmZXI="}`), nil)
	if status != 200 || string(body) != `{"Answer":"YW5zd2Vy"}` {
		t.Fatalf("got %d %s", status, body)
	}
}

// A backlog larger than a connection's send queue is delivered whole and
// in order (10 viewers × an offer and 6 candidates before the master).
func TestRelayLargeBacklog(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1, ICEPerSecond: -1}})
	for i := range 10 {
		v := f.connect(t, fmt.Sprintf("v%d", i))
		write(t, v, `{"action":"SDP_OFFER","messagePayload":"b2ZmZXI="}`)
		for j := range 6 {
			write(t, v, fmt.Sprintf(`{"action":"ICE_CANDIDATE","messagePayload":"%s"}`, base64Of(fmt.Sprintf("c%d-%d", i, j))))
		}
		// The last frame of each viewer carries a correlation id and an
		// oversize payload: its STATUS_RESPONSE proves the rest was queued.
		write(t, v, `{"action":"ICE_CANDIDATE","correlationId":"b","messagePayload":"`+strings.Repeat("A", 10004)+`"}`)
		if got := read(t, v); got.MessageType != "STATUS_RESPONSE" {
			t.Fatalf("barrier: %+v", got)
		}
	}
	m := f.connect(t, "")
	for i := range 10 {
		if got := read(t, m); got.MessageType != "SDP_OFFER" || *got.SenderClientID != fmt.Sprintf("v%d", i) {
			t.Fatalf("frame %d: %+v", i*7, got)
		}
		for j := range 6 {
			if got := read(t, m); got.MessagePayload != base64Of(fmt.Sprintf("c%d-%d", i, j)) {
				t.Fatalf("candidate %d-%d out of order: %+v", i, j, got)
			}
		}
	}
}

func base64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
