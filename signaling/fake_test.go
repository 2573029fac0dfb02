package signaling

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

const (
	testARN    = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"
	testAKID   = "AKIDSIGNALINGTEST"
	testSecret = "signaling-test-secret-key"
	testToken  = "signaling+test/session=token"
)

var testCreds = aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}

// fakeService is a fault-injecting signaling WebSocket service: it checks
// every presigned upgrade, relays frames between one master and its viewers
// as KVS does, answers undeliverable frames that carry a correlation id with
// STATUS_RESPONSE, and can refuse upgrades or close sockets on demand.
type fakeService struct {
	t     testing.TB
	srv   *httptest.Server
	creds aws.Credentials

	mu           sync.Mutex
	refuse       []int         // statuses for the next upgrade attempts
	closeOnOpen  int           // close the next n sockets with 1001 at once
	stallOnOpen  int           // never read the next n sockets (no pongs)
	stop         chan struct{} // closed by close, ends stalls
	attempts     int           // upgrade requests seen
	queries      []url.Values  // of accepted upgrades
	signatures   []string      // every X-Amz-Signature seen
	frames       []clientFrame // raw client frames
	master       *serverConn   // newest master
	viewers      map[string]*serverConn
	conns        []*serverConn
	accepted     chan *serverConn // every accepted socket
	upgradeCount atomic.Int64
}

type serverConn struct {
	conn     *websocket.Conn
	clientID string     // "" for the master
	ended    chan error // the read error that ended relay
}

type clientFrame struct {
	from string // client id, "" for master
	raw  []byte
}

func newFakeService(t testing.TB) *fakeService {
	t.Helper()
	fs := &fakeService{t: t, creds: testCreds, viewers: map[string]*serverConn{}, stop: make(chan struct{}), accepted: make(chan *serverConn, 64)}
	fs.srv = httptest.NewTLSServer(http.HandlerFunc(fs.serveHTTP))
	t.Cleanup(fs.close)
	return fs
}

// close drops every socket, then stops the server (httptest waits for
// handlers, and hijacked sockets are not closed by it).
func (fs *fakeService) close() {
	fs.mu.Lock()
	conns := fs.conns
	select {
	case <-fs.stop:
	default:
		close(fs.stop)
	}
	fs.mu.Unlock()
	for _, sc := range conns {
		sc.conn.CloseNow()
	}
	fs.srv.Close()
}

// endpoint is the WSS endpoint for role, as an emulator hands it out.
func (fs *fakeService) endpoint(role channel.Role) string {
	p := "/v-1a2b3c4d"
	if role == channel.RoleMaster {
		p = "/m-1a2b3c4d"
	}
	return "wss" + strings.TrimPrefix(fs.srv.URL, "https") + p
}

func (fs *fakeService) refuseNext(codes ...int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.refuse = append(fs.refuse, codes...)
}

func (fs *fakeService) serveHTTP(w http.ResponseWriter, r *http.Request) {
	t := fs.t
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		t.Errorf("upgrade query: %v", err)
		http.Error(w, `{"message":"bad query"}`, http.StatusBadRequest)
		return
	}
	fs.mu.Lock()
	fs.attempts++
	fs.signatures = append(fs.signatures, q.Get("X-Amz-Signature"))
	var refuse int
	if len(fs.refuse) > 0 {
		refuse, fs.refuse = fs.refuse[0], fs.refuse[1:]
	}
	fs.mu.Unlock()
	if msg := fs.checkPresigned(r, q); msg != "" {
		t.Errorf("upgrade %s: %s", r.URL.Path, msg)
		http.Error(w, `{"message":"bad presign"}`, http.StatusForbidden)
		return
	}
	if refuse != 0 {
		w.Header().Set("X-Amzn-ErrorType", "Refused"+http.StatusText(refuse)+":http://internal.amazon.com/")
		http.Error(w, `{"message":"refused by test"}`, refuse)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Errorf("accept: %v", err)
		return
	}
	sc := &serverConn{conn: conn, clientID: q.Get("X-Amz-ClientId"), ended: make(chan error, 1)}
	fs.mu.Lock()
	fs.queries = append(fs.queries, q)
	fs.conns = append(fs.conns, sc)
	closeNow := fs.closeOnOpen > 0
	if closeNow {
		fs.closeOnOpen--
	}
	stall := fs.stallOnOpen > 0
	if stall {
		fs.stallOnOpen--
	}
	if sc.clientID == "" {
		fs.master = sc
	} else {
		fs.viewers[sc.clientID] = sc
	}
	fs.mu.Unlock()
	fs.upgradeCount.Add(1)
	fs.accepted <- sc
	if closeNow {
		conn.Close(websocket.StatusGoingAway, "Going away")
		return
	}
	if stall {
		<-fs.stop
		return
	}
	fs.relay(sc)
}

// checkPresigned verifies the upgrade's query as KVS would, recomputing the
// signature at the URL's own X-Amz-Date. It returns what is wrong, or "".
func (fs *fakeService) checkPresigned(r *http.Request, q url.Values) string {
	master := strings.HasPrefix(r.URL.Path, "/m-")
	switch {
	case q.Get("X-Amz-ChannelARN") != testARN:
		return "wrong X-Amz-ChannelARN"
	case master && q.Has("X-Amz-ClientId"):
		return "X-Amz-ClientId on the master endpoint"
	case !master && q.Get("X-Amz-ClientId") == "":
		return "no X-Amz-ClientId on the viewer endpoint"
	case fs.creds.SessionToken != "" && q.Get("X-Amz-Security-Token") != fs.creds.SessionToken:
		return "missing or wrong X-Amz-Security-Token"
	case fs.creds.SessionToken == "" && q.Has("X-Amz-Security-Token"):
		return "X-Amz-Security-Token without a session token"
	case q.Get("X-Amz-Signature") == "":
		return "no X-Amz-Signature"
	}
	at, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	expires, err := time.ParseDuration(q.Get("X-Amz-Expires") + "s")
	if err != nil {
		return "bad X-Amz-Expires"
	}
	want, err := Presign(context.Background(), fs.creds, PresignInput{
		Endpoint: "wss://" + r.Host + r.URL.Path, Region: "us-west-2", ChannelARN: testARN,
		ClientID: q.Get("X-Amz-ClientId"), Time: at, Expires: expires,
	})
	if err != nil {
		return err.Error()
	}
	wq, _ := url.ParseQuery(want[strings.IndexByte(want, '?')+1:])
	if wq.Get("X-Amz-Signature") != q.Get("X-Amz-Signature") {
		return "signature does not match"
	}
	return ""
}

// relay reads a client's frames and routes them as the service does (§4.4).
func (fs *fakeService) relay(from *serverConn) {
	ctx := context.Background()
	for {
		_, data, err := from.conn.Read(ctx)
		if err != nil {
			from.ended <- err
			return
		}
		m, err := wire.DecodeClientMessage(data)
		if err != nil {
			fs.t.Errorf("client frame: %v", err)
			continue
		}
		fs.mu.Lock()
		fs.frames = append(fs.frames, clientFrame{from: from.clientID, raw: data})
		to := fs.master
		if from.clientID == "" {
			to = fs.viewers[m.RecipientClientID]
		}
		fs.mu.Unlock()
		if to == nil {
			if m.CorrelationID != "" {
				fs.push(from, wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{
					CorrelationID: m.CorrelationID, ErrorType: "InvalidArgumentException", StatusCode: "400", Description: "recipient not connected",
				}})
			}
			continue
		}
		fs.push(to, wire.ServerMessage{SenderClientID: from.clientID, MessageType: m.Action.MessageType(), MessagePayload: m.MessagePayload})
	}
}

// push sends m to sc; a socket that is gone is not an error here.
func (fs *fakeService) push(sc *serverConn, m wire.ServerMessage) {
	b, err := wire.EncodeServerMessage(m)
	if err != nil {
		fs.t.Errorf("encode server message: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sc.conn.Write(ctx, websocket.MessageText, b)
}

// waitAccepted returns the next accepted socket.
func (fs *fakeService) waitAccepted(t *testing.T) *serverConn {
	t.Helper()
	select {
	case sc := <-fs.accepted:
		return sc
	case <-time.After(10 * time.Second):
		t.Fatal("no upgrade within 10s")
		return nil
	}
}

func (fs *fakeService) framesFrom(id string) [][]byte {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out [][]byte
	for _, f := range fs.frames {
		if f.from == id {
			out = append(out, f.raw)
		}
	}
	return out
}
