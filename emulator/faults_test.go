package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// connectReady connects and waits until the relay has registered the
// connection (the 101 comes first), so a fault injected next reaches it.
func (f *wssFixture) connectReady(t *testing.T, clientID string) *websocket.Conn {
	t.Helper()
	c := f.connect(t, clientID)
	role := channel.RoleViewer
	if clientID == "" {
		role = channel.RoleMaster
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.e.WaitConnected(ctx, f.arn, role, clientID); err != nil {
		t.Fatal(err)
	}
	return c
}

// offer is a viewer's SDP_OFFER frame carrying payload (base64).
func offer(payload string) string {
	return `{"action":"SDP_OFFER","messagePayload":"` + payload + `"}`
}

func inject(t *testing.T, e *emulator.Emulator, f emulator.Fault) emulator.FaultID {
	t.Helper()
	id, err := e.Inject(f)
	if err != nil {
		t.Fatalf("inject %v: %v", f, err)
	}
	return id
}

// faultLog collects OnFault events.
type faultLog struct {
	mu  sync.Mutex
	evs []emulator.FaultEvent
}

func (l *faultLog) add(ev emulator.FaultEvent) { l.mu.Lock(); l.evs = append(l.evs, ev); l.mu.Unlock() }

// wait returns once an event with id and not Injected arrived.
func (l *faultLog) wait(t *testing.T, id emulator.FaultID, detail string) emulator.FaultEvent {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		l.mu.Lock()
		for _, ev := range l.evs {
			if ev.ID == id && !ev.Injected && strings.Contains(ev.Detail, detail) {
				l.mu.Unlock()
				return ev
			}
		}
		l.mu.Unlock()
	}
	t.Fatalf("no %q event for fault %d", detail, id)
	return emulator.FaultEvent{}
}

// Frame faults act on the frames they match and say so in events.
func TestFrameFaults(t *testing.T) {
	var log faultLog
	f := newWSSFixture(t, emulator.Options{OnFault: log.add, Limits: emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1}})
	master := f.connectReady(t, "")
	viewer := f.connectReady(t, "v1")

	t.Run("drop", func(t *testing.T) {
		id := inject(t, f.e, emulator.Fault{Kind: emulator.FaultDrop, Direction: emulator.ToMaster, ChannelARN: "wss", Count: 1})
		write(t, viewer, offer("MQ=="))
		write(t, viewer, offer("Mg=="))
		if got := read(t, master); got.MessagePayload != "Mg==" {
			t.Fatalf("want the first offer dropped, master got %+v", got)
		}
		if ev := log.wait(t, id, "dropped"); ev.Direction != emulator.ToMaster || ev.ClientID != "v1" || ev.Action != "SDP_OFFER" || ev.ChannelARN != f.arn {
			t.Fatalf("drop event %+v", ev)
		}
	})
	t.Run("drop other direction untouched", func(t *testing.T) {
		inject(t, f.e, emulator.Fault{Kind: emulator.FaultDrop, Direction: emulator.ToViewer, Action: "ICE_CANDIDATE", Count: 1})
		write(t, master, `{"action":"SDP_ANSWER","recipientClientId":"v1","messagePayload":"YQ=="}`)
		write(t, master, `{"action":"ICE_CANDIDATE","recipientClientId":"v1","messagePayload":"Yw=="}`)
		write(t, master, `{"action":"ICE_CANDIDATE","recipientClientId":"v1","messagePayload":"ZA=="}`)
		if got := read(t, viewer); got.MessageType != "SDP_ANSWER" {
			t.Fatalf("answer: %+v", got)
		}
		if got := read(t, viewer); got.MessagePayload != "ZA==" {
			t.Fatalf("want the first candidate dropped, viewer got %+v", got)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		id := inject(t, f.e, emulator.Fault{Kind: emulator.FaultDuplicate, Count: 1})
		write(t, viewer, offer("Mw=="))
		write(t, viewer, offer("NA=="))
		for _, want := range []string{"Mw==", "Mw==", "NA=="} {
			if got := read(t, master); got.MessagePayload != want {
				t.Fatalf("want %s, got %+v", want, got)
			}
		}
		log.wait(t, id, "duplicated")
	})
	t.Run("reorder", func(t *testing.T) {
		id := inject(t, f.e, emulator.Fault{Kind: emulator.FaultReorder, Count: 1, Delay: 5 * time.Second})
		write(t, viewer, offer("NQ=="))
		write(t, viewer, offer("Ng=="))
		for _, want := range []string{"Ng==", "NQ=="} {
			if got := read(t, master); got.MessagePayload != want {
				t.Fatalf("want %s, got %+v", want, got)
			}
		}
		log.wait(t, id, "held")
	})
	t.Run("reorder alone is released", func(t *testing.T) {
		inject(t, f.e, emulator.Fault{Kind: emulator.FaultReorder, Count: 1, Delay: 50 * time.Millisecond})
		write(t, viewer, offer("Nw=="))
		if got := read(t, master); got.MessagePayload != "Nw==" {
			t.Fatalf("a held frame with no successor must still arrive: %+v", got)
		}
	})
	t.Run("delay", func(t *testing.T) {
		const d = 150 * time.Millisecond
		id := inject(t, f.e, emulator.Fault{Kind: emulator.FaultDelay, Delay: d, Count: 2})
		start := time.Now()
		write(t, viewer, offer("OA=="))
		write(t, viewer, offer("OQ=="))
		write(t, viewer, offer("MTA="))
		// The rule's Count is used up by the first two; the third is not
		// delayed and may overtake them.
		got := map[string]time.Duration{}
		for range 3 {
			got[read(t, master).MessagePayload] = time.Since(start)
		}
		for _, p := range []string{"OA==", "OQ=="} {
			if got[p] < d {
				t.Fatalf("frame %s arrived after %v, before the %v delay", p, got[p], d)
			}
		}
		if _, ok := got["MTA="]; !ok {
			t.Fatalf("third frame missing: %v", got)
		}
		log.wait(t, id, "delayed 150ms")
	})
	t.Run("remove", func(t *testing.T) {
		id := inject(t, f.e, emulator.Fault{Kind: emulator.FaultDrop})
		if !f.e.RemoveFault(id) || f.e.RemoveFault(id) {
			t.Fatal("RemoveFault: want true once, then false")
		}
		write(t, viewer, offer("MTE="))
		if got := read(t, master); got.MessagePayload != "MTE=" {
			t.Fatalf("after removal: %+v", got)
		}
	})
	if evs := f.e.Faults(); len(evs) < 10 || !evs[0].Injected || evs[0].Kind != emulator.FaultDrop {
		t.Fatalf("Faults() log: %v", evs)
	}
}

// The instant faults reach the clients of the channel they name.
func TestInstantFaults(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	v := f.connectReady(t, "v1")
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultGoAway, ChannelARN: "wss"})
	if got := read(t, v); got.MessageType != "GO_AWAY" {
		t.Fatalf("want GO_AWAY, got %+v", got)
	}
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultReconnectICE})
	if got := read(t, v); got.MessageType != "RECONNECT_ICE_SERVER" {
		t.Fatalf("want RECONNECT_ICE_SERVER, got %+v", got)
	}
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultClose, ChannelARN: f.arn})
	if _, _, err := v.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("close: want 1001, got %v", err)
	}

	m := f.connectReady(t, "")
	if _, err := f.e.Inject(emulator.Fault{Kind: emulator.FaultKill}); !errors.Is(err, emulator.ErrBadFault) {
		t.Fatalf("kill without channel or client: want ErrBadFault, got %v", err)
	}
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultKill, ChannelARN: f.arn})
	if _, _, err := m.Read(ctx); err == nil || websocket.CloseStatus(err) != -1 {
		t.Fatalf("kill: want the socket cut without a close frame, got %v", err)
	}
	if _, err := f.e.Inject(emulator.Fault{Kind: emulator.FaultKill, ClientID: "nobody"}); !errors.Is(err, emulator.ErrBadFault) {
		t.Fatalf("kill of nobody: want ErrBadFault, got %v", err)
	}
}

// Refusals answer the next calls with the chosen error in the service's
// shape, then stop.
func TestRefuseFaults(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	c := newClient(f.e)
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseREST, Operation: "DescribeSignalingChannel", Status: 429, Count: 2})
	for i := range 2 {
		_, err := c.DescribeSignalingChannel(context.Background(), &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &f.arn},
			func(o *kinesisvideo.Options) { o.RetryMaxAttempts = 1 })
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
			t.Fatalf("call %d: want ThrottlingException, got %v", i, err)
		}
	}
	if _, err := c.DescribeSignalingChannel(context.Background(), &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &f.arn}); err != nil {
		t.Fatalf("third call: %v", err)
	}

	inject(t, f.e, emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseConnects, Status: 403})
	_, resp, err := dialWSS(context.Background(), f.e, presign(t, f.e, f.viewer, presignOpts{arn: f.arn, clientID: "v"}))
	if err == nil || resp == nil || resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "AccessDeniedException") {
		t.Fatalf("refused connect: want 403 AccessDeniedException, got %v %v", err, resp)
	}
	f.connect(t, "v") // the next one is let through
	if _, err := f.e.Inject(emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseREST, Status: 418}); !errors.Is(err, emulator.ErrBadFault) {
		t.Fatalf("status 418: want ErrBadFault, got %v", err)
	}
}

// Moving the clock moves the Date header; expiring TURN credentials makes
// the ones handed out fail and new ones work.
func TestClockAndTURNFaults(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{})
	before := dateHeader(t, f.e)
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultClock, Delay: 2 * time.Hour})
	if after := dateHeader(t, f.e); after.Sub(before) < 2*time.Hour {
		t.Fatalf("Date moved from %v to %v, want ≥ 2h", before, after)
	}
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultClock, Delay: -2 * time.Hour})

	old := getIceServers(t, f.e, f.arn)
	inject(t, f.e, emulator.Fault{Kind: emulator.FaultExpireTURN})
	if err := allocate(t, old[0].Uris[0], old[0].Username, old[0].Password); err == nil {
		t.Fatal("allocation with credentials issued before expire-turn succeeded")
	}
	fresh := getIceServers(t, f.e, f.arn)
	if err := allocate(t, fresh[0].Uris[0], fresh[0].Username, fresh[0].Password); err != nil {
		t.Fatalf("allocation with credentials issued after expire-turn: %v", err)
	}
}

// dateHeader is the Date of an emulator response.
func dateHeader(t *testing.T, e *emulator.Emulator) time.Time {
	t.Helper()
	resp, err := emulatortest.HTTPClient(e).Get(e.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	return d
}
