package session

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// ErrDataChannelNotOpen is returned by sends to a peer whose data channel
// is not (or no longer) open.
var ErrDataChannelNotOpen = errors.New("data channel not open")

// ErrUnknownViewer is returned by Master.SendTo for a client id that is not
// connected.
var ErrUnknownViewer = errors.New("no such viewer")

// Events are the callbacks a Master and a Viewer share, with pion's names
// and shapes. clientID is the viewer's client id on a master and the
// Viewer's own ClientID on a viewer. They run on pion's or the signaling
// client's goroutines and must return quickly; each one may call the
// session's send methods.
type Events struct {
	// OnSignalingStateChange reports the signaling WebSocket's states
	// (Connecting, Connected, Reconnecting, Closed), in order.
	OnSignalingStateChange func(signaling.StateChange)
	// OnConnectionStateChange reports a peer connection's state
	// (webrtc.PeerConnection.OnConnectionStateChange).
	OnConnectionStateChange func(clientID string, s webrtc.PeerConnectionState)
	// OnICEConnectionStateChange reports a peer connection's ICE state
	// (webrtc.PeerConnection.OnICEConnectionStateChange).
	OnICEConnectionStateChange func(clientID string, s webrtc.ICEConnectionState)
	// OnDataChannelOpen reports a data channel that opened: from then on
	// SendText and SendTo reach that peer.
	OnDataChannelOpen func(clientID string)
}

// DataMessage is one data-channel message. On a master, Reply and
// ReplyText answer the viewer that sent it.
type DataMessage struct {
	Data     []byte
	IsString bool

	dc *webrtc.DataChannel
}

// Reply sends data (binary) back to the peer the message came from.
func (m DataMessage) Reply(data []byte) error {
	if m.dc == nil {
		return ErrDataChannelNotOpen
	}
	return m.dc.Send(data)
}

// ReplyText sends s back to the peer the message came from.
func (m DataMessage) ReplyText(s string) error {
	if m.dc == nil {
		return ErrDataChannelNotOpen
	}
	return m.dc.SendText(s)
}

// watchSignaling chains o's OnSignalingStateChange after any the Signaling
// option set.
func watchSignaling(o *Options, so *signaling.Options) {
	if o.OnSignalingStateChange == nil {
		return
	}
	prev := so.OnStateChange
	so.OnStateChange = func(sc signaling.StateChange) {
		if prev != nil {
			prev(sc)
		}
		o.OnSignalingStateChange(sc)
	}
}

// handleDataChannel wires a data channel to the options' events: open,
// and messages with a reply handle; from is what OnMessage is told ("" for
// the master). Each message goes to the hooks first (a master's profiling
// replies).
func handleDataChannel(o *Options, clientID, from string, dc *webrtc.DataChannel, hooks ...func(*webrtc.DataChannel, webrtc.DataChannelMessage)) {
	if o.OnDataChannelOpen != nil {
		dc.OnOpen(func() { o.OnDataChannelOpen(clientID) })
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		for _, h := range hooks {
			h(dc, msg)
		}
		if o.OnMessage != nil {
			o.OnMessage(from, DataMessage{Data: msg.Data, IsString: msg.IsString, dc: dc})
		}
	})
}

// watch reports the peer's state changes to o's events as clientID's, and
// calls onConnected (if set) when the connection is up; role and o's
// channel name its errors.
func (p *peer) watch(role channel.Role, o *Options, clientID string, onConnected func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.role, p.channel = role, o.ChannelARN.Name
	p.id, p.ev, p.onConnected = clientID, o.Events, onConnected
}

func (p *peer) events() (string, Events, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id, p.ev, p.onConnected
}

// signal is a channel closed once (Ready).
type signal struct {
	once sync.Once
	c    chan struct{}
}

func newSignal() *signal { return &signal{c: make(chan struct{})} }

func (s *signal) fire() { s.once.Do(func() { close(s.c) }) }

// Ready is closed once the master is connected to signaling and answers
// viewers. It stays closed when signaling reconnects; watch
// OnSignalingStateChange for that.
func (m *Master) Ready() <-chan struct{} { return m.ready.c }

// Ready is closed once the viewer's peer connection to the master is up
// (ICE and DTLS connected): media flows and the data channel opens next.
func (v *Viewer) Ready() <-chan struct{} { return v.ready.c }

// viewerPeer returns a connected viewer, or ErrUnknownViewer.
func (m *Master) viewerPeer(clientID string) (*masterPeer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	p := m.peers[clientID]
	if p == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownViewer, clientID)
	}
	return p, nil
}

// openChannel is the peer's data channel if it is open.
func (p *masterPeer) openChannel() (*webrtc.DataChannel, error) {
	p.dcMu.Lock()
	dc := p.dc
	p.dcMu.Unlock()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return nil, fmt.Errorf("viewer %s: %w", p.id, ErrDataChannelNotOpen)
	}
	return dc, nil
}

// SendTo sends data (a binary message) to one viewer.
func (m *Master) SendTo(clientID string, data []byte) error {
	p, err := m.viewerPeer(clientID)
	if err != nil {
		return err
	}
	dc, err := p.openChannel()
	if err != nil {
		return err
	}
	return dc.Send(data)
}

// SendTextTo sends s to one viewer.
func (m *Master) SendTextTo(clientID, s string) error {
	p, err := m.viewerPeer(clientID)
	if err != nil {
		return err
	}
	dc, err := p.openChannel()
	if err != nil {
		return err
	}
	return dc.SendText(s)
}

// Send sends data (a binary message) to every viewer whose data channel is
// open and returns how many it reached.
func (m *Master) Send(data []byte) (int, error) {
	return m.broadcast(func(dc *webrtc.DataChannel) error { return dc.Send(data) })
}

// SendText sends s to every viewer whose data channel is open and returns
// how many it reached.
func (m *Master) SendText(s string) (int, error) {
	return m.broadcast(func(dc *webrtc.DataChannel) error { return dc.SendText(s) })
}

func (m *Master) broadcast(send func(*webrtc.DataChannel) error) (int, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, ErrClosed
	}
	peers := make([]*masterPeer, 0, len(m.peers))
	for _, p := range m.peers {
		peers = append(peers, p)
	}
	m.mu.Unlock()
	n := 0
	var errs []error
	for _, p := range peers {
		dc, err := p.openChannel()
		if err != nil {
			continue
		}
		if err := send(dc); err != nil {
			errs = append(errs, fmt.Errorf("viewer %s: %w", p.id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Send sends data (a binary message) on the data channel.
func (v *Viewer) Send(data []byte) error {
	dc, err := v.openChannel()
	if err != nil {
		return err
	}
	return dc.Send(data)
}

// SendText sends s on the data channel.
func (v *Viewer) SendText(s string) error {
	dc, err := v.openChannel()
	if err != nil {
		return err
	}
	return dc.SendText(s)
}

func (v *Viewer) openChannel() (*webrtc.DataChannel, error) {
	v.mu.Lock()
	dc, closed := v.dc, v.closed
	v.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return nil, ErrDataChannelNotOpen
	}
	return dc, nil
}
