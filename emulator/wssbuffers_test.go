package emulator_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// The emulator hands coder/websocket smaller buffers than net/http's
// (relay.go, hijackRecorder). Frames a client sends in the same write as
// its upgrade request sit in net/http's reader when the connection is
// hijacked: they must be read, in order, the large one across the small
// read buffer included.
func TestWSSFramesBehindUpgrade(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{})
	u, err := url.Parse(presign(t, f.e, f.master, presignOpts{arn: f.arn}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialRaw(f.e)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", u.RequestURI(), u.Host)
	// A master's SDP_OFFER and an oversize payload: each is answered with
	// a STATUS_RESPONSE carrying its correlation id.
	req.Write(clientFrame(`{"action":"SDP_OFFER","correlationId":"first","messagePayload":"eA=="}`))
	req.Write(clientFrame(`{"action":"ICE_CANDIDATE","correlationId":"second","messagePayload":"` + strings.Repeat("A", 10004) + `"}`))
	if _, err := c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	for _, want := range []string{"first", "second"} {
		var got frame
		if err := json.Unmarshal(serverFrame(t, c.br), &got); err != nil {
			t.Fatal(err)
		}
		if got.StatusResponse == nil || got.StatusResponse.CorrelationID != want {
			t.Fatalf("want the STATUS_RESPONSE for %q, got %+v", want, got)
		}
	}
}

// Frames larger than the emulator's write buffer (an SDP offer) reach the
// master whole, and small ones after them are not mixed into them.
func TestWSSLargeFrameRelayed(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{})
	m := f.connect(t, "")
	v := f.connect(t, "v1")
	big := base64Of(strings.Repeat("v=0 o=- 1 1 IN IP4 127.0.0.1 ", 200)) // ≈ 7.6 KB
	write(t, v, `{"action":"SDP_OFFER","messagePayload":"`+big+`"}`)
	write(t, v, `{"action":"ICE_CANDIDATE","messagePayload":"`+base64Of("c1")+`"}`)
	if got := read(t, m); got.MessageType != "SDP_OFFER" || got.MessagePayload != big {
		t.Fatalf("offer: %s, %d bytes of payload, want %d", got.MessageType, len(got.MessagePayload), len(big))
	}
	if got := read(t, m); got.MessageType != "ICE_CANDIDATE" || got.MessagePayload != base64Of("c1") {
		t.Fatalf("candidate: %+v", got)
	}
}

// clientFrame is a final, masked text frame (RFC 6455 §5.2).
func clientFrame(payload string) []byte {
	var b bytes.Buffer
	b.WriteByte(0x81)
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n < 1<<16:
		b.WriteByte(0x80 | 126)
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
	default:
		b.WriteByte(0x80 | 127)
		b.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b.Write(key[:])
	for i := range len(payload) {
		b.WriteByte(payload[i] ^ key[i%4])
	}
	return b.Bytes()
}

// serverFrame reads one unmasked, unfragmented server frame's payload.
func serverFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	if h[0] != 0x81 || h[1]&0x80 != 0 {
		t.Fatalf("frame header %#x %#x: want a final unmasked text frame", h[0], h[1])
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			t.Fatal(err)
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			t.Fatal(err)
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		t.Fatalf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("frame payload: %v", err)
	}
	return p
}

// A client that stops reading cannot hold its writer: once the socket's
// buffers are full, the write gives up (writeTimeout, the socket's write
// deadline), the connection is closed and a graceful Shutdown finds every
// goroutine ended by itself. Without the bound, Shutdown would end on its
// deadline with the writer still stuck.
func TestWSSStalledReaderCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 5 s write timeout")
	}
	gone := make(chan struct{}, 1)
	opts := emulator.Options{
		Limits: emulator.Limits{ICEPerSecond: -1, FramesPerSecond: -1, ChannelFramesPerSecond: -1},
		OnConnection: func(ev emulator.ConnectionEvent) {
			if !ev.Connected && ev.ClientID == "stalled" {
				gone <- struct{}{}
			}
		},
	}
	e, err := emulator.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	arn := createChannel(t, newClient(e), "stall")
	m, _, err := dialWSS(context.Background(), e, presign(t, e, wssEndpoint(t, e, arn, types.ChannelRoleMaster), presignOpts{arn: arn}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.CloseNow() })
	v, _, err := dialWSS(context.Background(), e, presign(t, e, wssEndpoint(t, e, arn, types.ChannelRoleViewer), presignOpts{arn: arn, clientID: "stalled"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.CloseNow() }) // never read
	frame := `{"action":"ICE_CANDIDATE","recipientClientId":"stalled","messagePayload":"` + strings.Repeat("A", 9000) + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Loopback socket buffers take a few MB: send until the emulator gives
	// the stalled viewer up (its queue overflows once the writes block).
	for sent := 0; ; sent++ {
		select {
		case <-gone:
		case <-ctx.Done():
			t.Fatalf("the stalled viewer was not given up after %d frames", sent)
		default:
			if sent > 20000 {
				t.Fatalf("the stalled viewer was not given up after %d frames", sent)
			}
			if err := m.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		break
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	t0 := time.Now()
	if err := e.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown after %v: %v (a write to the stalled viewer did not give up)", time.Since(t0), err)
	}
	t.Logf("Shutdown took %v", time.Since(t0))
}
