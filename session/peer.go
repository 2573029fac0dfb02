package session

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/wire"
)

// maxPendingCandidates bounds the remote candidates buffered before the
// remote description is applied.
const maxPendingCandidates = 256

// newAPI builds the pion API: default codecs and interceptors (NACK, RTCP
// reports, stats), then the caller's ConfigureAPI and SettingEngine changes.
func newAPI(o *Options) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	if o.ConfigureAPI != nil {
		if err := o.ConfigureAPI(m, ir); err != nil {
			return nil, fmt.Errorf("session: configure api: %w", err)
		}
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{o.Logger}}
	setLiveness(&se)
	setFastDTLS(&se, o.DTLSHelloVerify)
	if o.ForceTURN {
		// Relay candidates only: waiting for a better pair buys nothing.
		// pion waits 2 s before nominating a relay pair (1 s for a
		// peer-reflexive one: a check relayed before the peer's relay
		// candidate was trickled), except when its agent is built from an
		// AgentConfig whose candidate types are relay-only; webrtc builds
		// it with options, so the 2 s applied (pion/ice agent_config.go
		// defaultRelayAcceptanceMinWaitFor, selection.go isNominatable).
		se.SetRelayAcceptanceMinWait(0)
		se.SetPrflxAcceptanceMinWait(0)
	}
	if o.SettingEngine != nil {
		o.SettingEngine(&se)
	}
	if o.ForceTURN {
		// Relay candidates only: no address rewrite rule can take effect,
		// and pion refuses the peer connection over one ("address rewrite
		// for srflx candidate ineffective"), such as emulatortest.Loopback's.
		_ = se.SetICEAddressRewriteRules()
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// rtcConfig is the peer connection configuration for cfg.
func rtcConfig(o *Options, cfg resolve.ICEConfig) webrtc.Configuration {
	c := webrtc.Configuration{ICEServers: iceServers(cfg, o.RelayTransport)}
	if o.turn != nil {
		o.turn.learn(c.ICEServers)
	}
	if o.ForceTURN {
		c.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	if o.cert != nil {
		if certs, err := o.cert.get(); err == nil {
			c.Certificates = certs // else pion makes one
		}
	}
	return c
}

// peer wraps a PeerConnection with what both roles need: the timeline of
// ICE and DTLS, remote candidates buffered until the remote description is
// set (spec §13), and local candidates queued for sending.
type peer struct {
	pc  *webrtc.PeerConnection
	tl  *Timeline
	log *slog.Logger

	mu          sync.Mutex
	remoteSet   bool
	remoteAt    time.Time
	iceAt       time.Time
	pending     []webrtc.ICECandidateInit
	id          string // for events and errors
	role        channel.Role
	channel     string
	ev          Events
	onConnected func()
	iceState    webrtc.ICEConnectionState
	dead        *time.Timer // ends the peer once ICE stayed disconnected (liveness)

	connected chan struct{} // closed when DTLS is up
	ended     chan struct{} // closed when the connection failed or closed
	endErr    error
	cands     chan webrtc.ICECandidateInit
	filter    candidateFilter           // trickled candidates that add no path are left out
	late      []webrtc.ICECandidateInit // local candidates left out of a complete SDP, to trickle
	once      sync.Once
	endOnce   sync.Once
}

func newPeer(api *webrtc.API, cfg webrtc.Configuration, tl *Timeline, log *slog.Logger, trickle bool) (*peer, error) {
	t := time.Now()
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, err
	}
	tl.Mark(StepPeerConnection, t)
	p := &peer{pc: pc, tl: tl, log: log, connected: make(chan struct{}), ended: make(chan struct{}),
		cands: make(chan webrtc.ICECandidateInit, 128)}
	if trickle {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil || !p.filter.keep(c) {
				return
			}
			select {
			case p.cands <- c.ToJSON():
			case <-p.ended:
			}
		})
	}
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		p.mu.Lock()
		p.iceState = s
		p.mu.Unlock()
		if id, ev, _ := p.events(); ev.OnICEConnectionStateChange != nil {
			ev.OnICEConnectionStateChange(id, s)
		}
		p.liveness(s)
		if s == webrtc.ICEConnectionStateConnected {
			p.mu.Lock()
			from := p.remoteAt
			p.iceAt = time.Now()
			p.mu.Unlock()
			tl.Mark(StepICEConnected, from)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Debug("peer connection", "state", s.String())
		id, ev, onConnected := p.events()
		if ev.OnConnectionStateChange != nil {
			ev.OnConnectionStateChange(id, s)
		}
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.mu.Lock()
			from := p.iceAt
			p.mu.Unlock()
			tl.Mark(StepDTLSConnected, from)
			p.once.Do(func() { close(p.connected) })
			if onConnected != nil {
				onConnected()
			}
		case webrtc.PeerConnectionStateFailed:
			p.end(p.failure())
		case webrtc.PeerConnectionStateClosed:
			p.end(nil)
		}
	})
	return p, nil
}

func (p *peer) end(err error) {
	p.endOnce.Do(func() {
		p.mu.Lock()
		p.endErr = err
		p.mu.Unlock()
		close(p.ended)
	})
}

// closing reports whether the connection ended or is closing. pion's
// GetStats races with the close pion starts itself when the remote ends
// DTLS (peerconnection.go reads statsGetter unlocked while close clears
// it), so stats are not read then.
func (p *peer) closing() bool {
	select {
	case <-p.ended:
		return true
	default:
	}
	return p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
}

// err is why the peer ended (nil: closed).
func (p *peer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endErr
}

// setRemote applies the remote description and then the candidates that
// arrived before it.
func (p *peer) setRemote(sd wire.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.NewSDPType(sd.Type), SDP: sd.SDP}); err != nil {
		return err
	}
	p.mu.Lock()
	p.remoteSet, p.remoteAt = true, time.Now()
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, c := range pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("buffered remote candidate refused", "err", err)
		}
	}
	return nil
}

// addCandidate applies a remote candidate, or buffers it until the remote
// description is set. End-of-candidates markers are ignored.
func (p *peer) addCandidate(c wire.ICECandidateInit) error {
	if c.Candidate == "" {
		return nil
	}
	ci := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	p.mu.Lock()
	if !p.remoteSet {
		if len(p.pending) < maxPendingCandidates {
			p.pending = append(p.pending, ci)
		}
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return p.pc.AddICECandidate(ci)
}

// localDescription sets sd as the local description and, without trickle,
// waits for gathering to end so the SDP carries every candidate, less the
// redundant ones (fitComplete). If that SDP is still over the signaling
// payload limit it goes without candidates, and sendCandidates trickles
// them, with a warning.
func (p *peer) localDescription(ctx context.Context, sd webrtc.SessionDescription, trickle bool) (wire.SessionDescription, error) {
	var gathered <-chan struct{}
	if !trickle {
		gathered = webrtc.GatheringCompletePromise(p.pc)
	}
	if err := p.pc.SetLocalDescription(sd); err != nil {
		return wire.SessionDescription{}, err
	}
	if !trickle {
		select {
		case <-gathered:
		case <-ctx.Done():
			return wire.SessionDescription{}, ctx.Err()
		}
	}
	ld := p.pc.LocalDescription()
	out := wire.SessionDescription{Type: ld.Type.String(), SDP: ld.SDP}
	if trickle {
		return out, nil
	}
	out, late, size := fitComplete(out)
	if len(late) > 0 {
		p.log.Warn("complete SDP over the signaling payload limit: sending it without candidates and trickling them",
			"bytes", size, "limit", wire.MaxPayloadBytes, "candidates", len(late))
		p.mu.Lock()
		p.late = late
		p.mu.Unlock()
	}
	return out, nil
}

// sendCandidates sends local candidates once after is closed, until ctx
// ends or the peer does.
func (p *peer) sendCandidates(ctx context.Context, after <-chan struct{}, send func(context.Context, wire.ICECandidateInit) error) {
	select {
	case <-after:
	case <-ctx.Done():
		return
	}
	p.mu.Lock()
	late := p.late
	p.late = nil
	p.mu.Unlock()
	for _, c := range late {
		w := wire.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}
		if err := send(ctx, w); err != nil {
			p.log.Debug("send ICE candidate", "err", err)
		}
	}
	for {
		select {
		case c := <-p.cands:
			w := wire.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
			if err := send(ctx, w); err != nil {
				p.log.Debug("send ICE candidate", "err", err)
			}
		case <-ctx.Done():
			return
		case <-p.ended:
			return
		}
	}
}
