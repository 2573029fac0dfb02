package session_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// wait fails the test if c is not closed within d.
func wait(t *testing.T, c <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("waited %v for %s", d, what)
	}
}

// stateLog records states per client id.
type stateLog[S comparable] struct {
	mu sync.Mutex
	m  map[string][]S
}

func (l *stateLog[S]) add(id string, s S) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string][]S{}
	}
	l.m[id] = append(l.m[id], s)
}

func (l *stateLog[S]) get(id string) []S {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.m[id])
}

// TestEvents waits on events only: the master's Ready, the viewer's Ready,
// both data channels open; the viewer sends a binary message, the master
// answers it through the message's Reply and with SendTextTo; the state
// callbacks saw the peer connection come up on both ends.
func TestEvents(t *testing.T) {
	v := newEnv(t, "events")
	var mPeer, vPeer stateLog[webrtc.PeerConnectionState]
	var mICE stateLog[webrtc.ICEConnectionState]
	var sig stateLog[signaling.State]
	masterOpen := make(chan string, 1)
	replied := make(chan error, 2)
	var m *session.Master
	mopts := session.MasterOptions{Options: v.options(), Video: demoSource(t, media.CodecH264, true, false)}
	mopts.OnConnectionStateChange = mPeer.add
	mopts.OnICEConnectionStateChange = mICE.add
	mopts.OnSignalingStateChange = func(sc signaling.StateChange) { sig.add("master", sc.State) }
	mopts.OnDataChannelOpen = func(id string) { masterOpen <- id }
	mopts.OnMessage = func(from string, msg session.DataMessage) {
		if msg.IsString || string(msg.Data) != "ping" {
			replied <- errors.New("master got " + string(msg.Data))
			return
		}
		replied <- msg.Reply([]byte("pong"))
		replied <- m.SendTextTo(from, "hello "+from)
	}
	m, err := session.NewMaster(mopts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); _ = mopts.Video.Run(ctx) }()
	go func() { defer wg.Done(); _ = m.Run(ctx) }()
	wait(t, m.Ready(), 10*time.Second, "master ready")
	if got := sig.get("master"); !slices.Equal(got, []signaling.State{signaling.StateConnecting, signaling.StateConnected}) {
		t.Errorf("master signaling states %v, want [Connecting Connected]", got)
	}
	if err := m.SendTo("nobody", []byte("x")); !errors.Is(err, session.ErrUnknownViewer) {
		t.Errorf("SendTo an unknown viewer: %v, want ErrUnknownViewer", err)
	}

	viewerOpen := make(chan struct{})
	got := make(chan session.DataMessage, 2)
	vopts := session.ViewerOptions{Options: v.options(), ClientID: "v-events"}
	vopts.OnConnectionStateChange = vPeer.add
	var viewerPC atomic.Value
	vopts.OnPeerConnection = func(_ string, pc *webrtc.PeerConnection) { viewerPC.Store(pc) }
	vopts.OnDataChannelOpen = func(string) { close(viewerOpen) }
	vopts.OnMessage = func(_ string, msg session.DataMessage) { got <- msg }
	vw, err := session.NewViewer(vopts)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	if err := vw.Send([]byte("early")); !errors.Is(err, session.ErrDataChannelNotOpen) {
		t.Errorf("Send before Run: %v, want ErrDataChannelNotOpen", err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = vw.Run(ctx) }()
	wait(t, vw.Ready(), 15*time.Second, "viewer ready")
	wait(t, viewerOpen, 15*time.Second, "viewer's data channel open")
	select {
	case id := <-masterOpen:
		if id != "v-events" {
			t.Errorf("master's data channel open for %q", id)
		}
	case <-ctx.Done():
		t.Fatal("master's data channel never opened")
	}
	if err := vw.Send([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-replied; err != nil {
			t.Errorf("master reply: %v", err)
		}
	}
	var msgs []string
	for range 2 {
		select {
		case msg := <-got:
			kind := "binary"
			if msg.IsString {
				kind = "text"
			}
			msgs = append(msgs, kind+":"+string(msg.Data))
		case <-ctx.Done():
			t.Fatalf("viewer got only %v", msgs)
		}
	}
	slices.Sort(msgs)
	if want := []string{"binary:pong", "text:hello v-events"}; !slices.Equal(msgs, want) {
		t.Errorf("viewer got %v, want %v", msgs, want)
	}
	for name, states := range map[string][]webrtc.PeerConnectionState{"master": mPeer.get("v-events"), "viewer": vPeer.get("v-events")} {
		i := slices.Index(states, webrtc.PeerConnectionStateConnecting)
		j := slices.Index(states, webrtc.PeerConnectionStateConnected)
		if i < 0 || j < i {
			t.Errorf("%s peer states %v: want connecting then connected", name, states)
		}
	}
	if pc, ok := viewerPC.Load().(*webrtc.PeerConnection); !ok {
		t.Error("no PeerConnection from OnPeerConnection")
	} else {
		pairs := session.CandidatePairs(pc)
		ok := false
		for _, p := range pairs {
			if p.Nominated && p.State == "succeeded" && p.Local.Address != "" && p.Remote.Port != 0 && p.ResponsesReceived > 0 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("CandidatePairs of a connected viewer: %v, want a nominated succeeded pair", pairs)
		}
	}
	if !slices.Contains(mICE.get("v-events"), webrtc.ICEConnectionStateConnected) {
		t.Errorf("master ICE states %v: no connected", mICE.get("v-events"))
	}
}
