package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/wire"
)

// ErrMasterLeft reports a master that closed the peer connection.
var ErrMasterLeft = errors.New("the master closed the connection")

// ErrNoAnswer reports an offer the master never answered: no master is
// connected, or the service dropped the answer (a master over its 5 SDP
// messages a second). It comes inside a *PeerError of PhaseAnswer.
var ErrNoAnswer = errors.New("no answer from the master")

// Viewer connects to a channel's master, receives its audio and video,
// optionally records them, and exchanges data-channel messages.
type Viewer struct {
	opts ViewerOptions
	api  *webrtc.API

	mu       sync.Mutex
	tl       *Timeline
	link     *link
	p        *peer
	dc       *webrtc.DataChannel
	rec      *media.WebMWriter
	recPlan  *media.WebMOptions // the recorder to open with the first frame
	cancel   context.CancelFunc
	started  bool
	closed   bool
	runDone  chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	video    trackCounters
	audio    trackCounters
	first    time.Time
	final    *ViewerStats // stats when Run ended
	ready    *signal
	graceful context.Context // Shutdown's: signaling closes with a handshake

	// Rejoin state, under mu.
	rejoins   int
	lastFrame time.Time
	recCodec  [2]media.Codec // video, audio of the recording
	pcLast    pcStats        // pion's figures, read last
}

type trackCounters struct {
	codec     media.Codec
	frames    int64
	keyframes int64
	packets   int64
	bytes     int64
	mediaEnd  time.Duration
	firstPkt  time.Time
	lastPkt   time.Time
}

// NewViewer returns a Viewer. opts is copied; optFns change the copy.
func NewViewer(opts ViewerOptions, optFns ...func(*ViewerOptions)) (*Viewer, error) {
	for _, f := range optFns {
		f(&opts)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := channel.ValidClientID(opts.ClientID); err != nil {
		return nil, err
	}
	opts.Logger = opts.Logger.With("component", "session", "role", "viewer", "client", opts.ClientID)
	opts.turn = newTURNTLS(&opts.Options)
	opts.cert = &dtlsCert{}
	if _, err := opts.cert.get(); err != nil { // ahead of the first offer
		return nil, fmt.Errorf("session: dtls certificate: %w", err)
	}
	api, err := newAPI(viewerAPIOptions(withTURNTLS(opts.Options, opts.turn)))
	if err != nil {
		return nil, err
	}
	if opts.Timeline == nil {
		opts.Timeline = NewTimeline(time.Now())
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = DefaultAnswerTimeout
	}
	return &Viewer{opts: opts, api: api, tl: opts.Timeline, runDone: make(chan struct{}), stop: make(chan struct{}), ready: newSignal()}, nil
}

// Timeline is the viewer's connection timeline.
func (v *Viewer) Timeline() *Timeline {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.tl
}

// Run connects to the master and receives media until ctx ends (it returns
// ctx's error), the media limit of the options is reached (nil), Close is
// called (nil) or the connection fails. With ViewerOptions.Rejoin a
// connection that ends (the master left, ICE failed, no answer) is followed
// by a new offer, with backoff, for as long as Run runs. The recording is
// finished before Run returns.
func (v *Viewer) Run(ctx context.Context) (err error) {
	v.mu.Lock()
	if v.closed || v.started {
		v.mu.Unlock()
		return ErrClosed
	}
	v.started = true
	ctx, cancel := context.WithCancel(ctx)
	v.cancel = cancel
	tl := v.tl
	v.mu.Unlock()
	defer close(v.runDone)
	defer cancel()

	// The first attempt is built as soon as the ICE servers are known,
	// while the WSS opens.
	var a *attempt
	onICE := func(cfg resolve.ICEConfig) error {
		if v.opts.Storage != nil {
			return nil // the storage service offers (storageviewer.go)
		}
		var err error
		a, err = v.newAttempt(ctx, cfg, tl)
		return err
	}
	l, err := connect(ctx, &v.opts.Options, channel.RoleViewer, v.opts.ClientID, tl, onICE)
	if err != nil {
		if a != nil {
			_ = a.p.pc.Close()
		}
		return v.result(err)
	}
	v.mu.Lock()
	v.link = l
	v.mu.Unlock()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		l.ice.run(ctx, v.opts.Logger.Warn)
	}()
	defer func() {
		cancel()
		final := v.Stats() // pion's stats are gone once the connection closes
		v.mu.Lock()
		v.final = &final
		p := v.p
		v.mu.Unlock()
		if p != nil {
			_ = p.pc.Close()
		}
		v.wg.Wait()
		closeSignaling(l.sig, v.gracefully())
		v.mu.Lock()
		rec := v.rec
		v.mu.Unlock()
		if rec != nil {
			if cerr := rec.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("finish recording: %w", cerr)
			}
		}
	}()

	if v.opts.Storage != nil {
		return v.result(v.runStorage(ctx, l))
	}
	b := rejoinBackoff{min: v.opts.RejoinBackoff.Min, max: v.opts.RejoinBackoff.Max}
	for {
		err := v.attempt(ctx, l, a)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return v.result(ctx.Err())
		case errors.Is(err, errLinkFailed):
			return v.result(l.err())
		case !v.opts.Rejoin || !rejoinable(err):
			return v.result(err)
		}
		_ = a.p.pc.Close()
		if a.connected() {
			b.reset()
		}
		wait := b.next()
		v.opts.Logger.Warn("connection to the master ended; offering again", "cause", err.Error(), "wait", wait.Round(time.Millisecond))
		if v.opts.OnRejoin != nil {
			v.opts.OnRejoin(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v.result(ctx.Err())
		case <-v.stop:
			t.Stop()
			return nil
		case <-l.failed:
			t.Stop()
			return v.result(l.err())
		case <-t.C:
		}
		v.mu.Lock()
		v.rejoins++
		v.mu.Unlock()
		if a, err = v.newAttempt(ctx, l.ice.fresh(ctx, v.opts.Logger.Warn), tl); err != nil {
			return v.result(err)
		}
	}
}

// attempt is one peer connection of a Viewer and its offer.
type attempt struct {
	p          *peer
	offer      wire.SessionDescription
	offerStart time.Time
}

// connected reports whether DTLS came up on the attempt.
func (a *attempt) connected() bool {
	select {
	case <-a.p.connected:
		return true
	default:
		return false
	}
}

// newAttempt builds a peer connection (receive-only audio and video, the
// data channel) and its offer.
func (v *Viewer) newAttempt(ctx context.Context, cfg resolve.ICEConfig, tl *Timeline) (*attempt, error) {
	trickle := !v.opts.NoTrickle
	p, err := newPeer(v.api, rtcConfig(&v.opts.Options, cfg), tl, v.opts.Logger, trickle)
	if err != nil {
		return nil, err
	}
	a := &attempt{p: p}
	p.watch(channel.RoleViewer, &v.opts.Options, v.opts.ClientID, v.ready.fire)
	v.mu.Lock()
	v.p = p
	v.mu.Unlock()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		tr, err := p.pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return a, err
		}
		if err := preferDecodable(tr); err != nil {
			return a, err
		}
	}
	dc, err := p.pc.CreateDataChannel(DataChannelLabel, nil)
	if err != nil {
		return a, err
	}
	handleDataChannel(&v.opts.Options, v.opts.ClientID, "", dc)
	v.mu.Lock()
	v.dc = dc
	v.mu.Unlock()
	v.receive(p)
	a.offerStart = time.Now()
	sd, err := p.pc.CreateOffer(offerOptions(trickle))
	if err != nil {
		return a, err
	}
	a.offer, err = p.localDescription(ctx, sd, trickle)
	return a, err
}

// attempt sends a's offer and handles the master's messages until the
// connection ends (an error saying why), the media limit is reached or
// Close is called (nil).
func (v *Viewer) attempt(ctx context.Context, l *link, a *attempt) error {
	log, p, tl := v.opts.Logger, a.p, v.tl
	if _, err := l.sig.SendOffer(ctx, "", a.offer); err != nil {
		return fmt.Errorf("send offer: %w", err)
	}
	offerAt := time.Now()
	tl.Add(StepOfferSent, a.offerStart, offerAt)
	offerSent := make(chan struct{})
	close(offerSent)
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		p.sendCandidates(ctx, offerSent, func(ctx context.Context, c wire.ICECandidateInit) error {
			_, err := l.sig.SendICECandidate(ctx, "", c)
			return err
		})
	}()

	answered := false
	noAnswer := time.NewTimer(v.opts.AnswerTimeout)
	defer noAnswer.Stop()
	var mediaTick <-chan time.Time
	var upAt time.Time
	if d := v.opts.MediaTimeout; d > 0 {
		t := time.NewTicker(min(d/4, 250*time.Millisecond))
		defer t.Stop()
		mediaTick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-mediaTick:
			if !a.connected() {
				continue
			}
			if upAt.IsZero() {
				upAt = now
			}
			v.mu.Lock()
			last := v.lastFrame
			v.mu.Unlock()
			if last.Before(upAt) {
				last = upAt
			}
			if now.Sub(last) >= v.opts.MediaTimeout {
				return fmt.Errorf("%w for %v", ErrNoMedia, v.opts.MediaTimeout)
			}
		case <-noAnswer.C:
			if !answered {
				return v.noAnswer()
			}
		case <-v.stop:
			return nil
		case <-l.failed:
			return errLinkFailed
		case <-p.ended:
			if err := p.err(); err != nil {
				return err
			}
			return ErrMasterLeft
		case msg, ok := <-l.sig.Messages():
			if !ok {
				return errors.New("signaling closed")
			}
			switch msg.MessageType {
			case wire.MessageTypeSDPAnswer:
				if answered {
					continue
				}
				sd, err := msg.SessionDescription()
				if err != nil {
					return fmt.Errorf("answer: %w", err)
				}
				if err := v.checkAnswer(p.pc.LocalDescription(), sd.SDP); err != nil {
					return err
				}
				if err := v.startRecording(sd.SDP); err != nil {
					return err
				}
				if err := p.setRemote(sd); err != nil {
					return fmt.Errorf("apply answer: %w", err)
				}
				answered = true
				tl.Mark(StepAnswer, offerAt)
			case wire.MessageTypeICECandidate:
				c, err := msg.ICECandidate()
				if err != nil {
					log.Warn("bad candidate", "err", err)
					continue
				}
				if err := p.addCandidate(c); err != nil {
					log.Debug("remote candidate refused", "err", err)
				}
			case wire.MessageTypeStatusResponse:
				log.Warn("signaling refused a message", "status", fmt.Sprint(msg.StatusResponse))
			}
		}
	}
}

func (v *Viewer) result(err error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	return err
}

// readMTU is the read buffer for one RTP packet, above pion's receive MTU.
const readMTU = 1500

// Close stops Run, closes the peer and signaling connections, finishes the
// recording and waits for every goroutine. It is idempotent.
func (v *Viewer) Close() error {
	v.mu.Lock()
	if v.closed {
		started := v.started
		v.mu.Unlock()
		if started {
			<-v.runDone
		}
		return nil
	}
	v.closed = true
	cancel, started := v.cancel, v.started
	v.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-v.runDone
	return nil
}
