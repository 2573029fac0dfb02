package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// maxEarly bounds the viewers whose candidates are held before their offer.
const maxEarly = 64

// maxReports bounds the ended viewers a Master remembers.
const maxReports = 100

// Master answers every viewer that sends an offer with its own
// PeerConnection and sends it the same media: each Source is read and
// packetized once, and every viewer starts at the current GOP.
type Master struct {
	opts  MasterOptions
	api   *webrtc.API
	tl    *Timeline
	video *packetCache
	audio *packetCache

	mu      sync.Mutex
	peers   map[string]*masterPeer
	early   map[string][]wire.ICECandidateInit
	ended   []PeerReport
	link    *link
	cancel  context.CancelFunc
	started bool
	closed  bool
	runDone chan struct{}
	wg      sync.WaitGroup
	total   int
	ready   *signal
	// graceful is Shutdown's context: signaling closes with a handshake.
	graceful context.Context
	storage  *storageState // with MasterOptions.Storage (storage.go)

	// Offers and their order per viewer (queueOffer), under mu.
	offerSeq map[string]uint64
	fetching map[string]int // offers waiting for ICE servers
}

// masterPeer is one viewer of a Master.
type masterPeer struct {
	*peer
	id      string
	cancel  context.CancelFunc
	started time.Time

	dcMu sync.Mutex
	dc   *webrtc.DataChannel

	videoFrames, audioFrames, packets, bytes atomic.Int64

	gatherTimes // ICE gathering, for the profiling replies
}

// NewMaster returns a Master. opts is copied; optFns change the copy.
func NewMaster(opts MasterOptions, optFns ...func(*MasterOptions)) (*Master, error) {
	for _, f := range optFns {
		f(&opts)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.MaxViewers <= 0 {
		opts.MaxViewers = 10
	}
	opts.Logger = opts.Logger.With("component", "session", "role", "master")
	opts.turn = newTURNTLS(&opts.Options)
	opts.cert = &dtlsCert{}
	if _, err := opts.cert.get(); err != nil { // ahead of the first offer
		return nil, fmt.Errorf("session: dtls certificate: %w", err)
	}
	api, err := newAPI(masterAPIOptions(withTURNTLS(opts.Options, opts.turn)))
	if err != nil {
		return nil, err
	}
	if opts.Timeline == nil {
		opts.Timeline = NewTimeline(time.Now())
	}
	m := &Master{opts: opts, api: api, tl: opts.Timeline, peers: map[string]*masterPeer{},
		early: map[string][]wire.ICECandidateInit{}, runDone: make(chan struct{}), ready: newSignal()}
	if opts.Storage != nil {
		m.storage = newStorageState(*opts.Storage)
		m.opts.OnPeer = m.storage.wrapOnPeer(opts.OnPeer)
	}
	if opts.Video != nil {
		m.video = newPacketCache(opts.Video.Codec(), 1024)
	}
	if opts.Audio != nil {
		m.audio = newPacketCache(opts.Audio.Codec(), 256)
	}
	return m, nil
}

// Timeline is the master's own timeline (endpoints, ICE servers, connect);
// each viewer has its own, in Peers.
func (m *Master) Timeline() *Timeline {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tl
}

// Run connects to the channel as master and answers viewers until ctx ends
// (it returns ctx's error) or Close is called (nil). Before it returns,
// every viewer is closed.
func (m *Master) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.closed || m.started {
		m.mu.Unlock()
		return ErrClosed
	}
	m.started = true
	ctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	tl := m.tl
	m.mu.Unlock()
	defer close(m.runDone)
	defer cancel()

	startStorage, err := m.prepareStorage(ctx) // WebRTC ingestion (storage.go)
	if err != nil {
		return m.result(ctx, err)
	}
	l, err := connect(ctx, &m.opts.Options, channel.RoleMaster, "", tl, nil)
	if err != nil {
		return m.result(ctx, err)
	}
	m.mu.Lock()
	m.link = l
	m.mu.Unlock()
	m.ready.fire()
	startStorage()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		l.ice.run(ctx, m.opts.Logger.Warn)
	}()
	defer func() {
		cancel() // ends every viewer (their contexts derive from ctx) and the ICE refresh
		// Signaling first: a viewer whose connection ends offers again at
		// once, and that offer must wait in the service's queue for the
		// next master, not go to this one's socket, which no longer reads.
		closeSignaling(l.sig, m.gracefully())
		m.closePeers()
		m.wg.Wait()
	}()

	ready := make(chan readyOffer)
	for {
		select {
		case <-ctx.Done():
			return m.result(ctx, ctx.Err())
		case <-l.failed:
			return m.result(ctx, l.err())
		case r := <-ready:
			m.answerOffer(ctx, l, r)
		case msg, ok := <-l.sig.Messages():
			if !ok {
				return m.result(ctx, errors.New("signaling closed"))
			}
			m.handle(ctx, l, msg, ready)
		}
	}
}

// readyOffer is a viewer's offer with the ICE servers to answer it with.
type readyOffer struct {
	id    string
	sd    wire.SessionDescription
	at    time.Time
	cfg   resolve.ICEConfig
	seq   uint64 // the viewer's offers in order: a later one wins
	async bool   // came back from queueOffer's goroutine
}

// queueOffer answers at once while the ICE servers are valid. Expired,
// they are fetched again on a goroutine of their own, so a slow or failing
// fetch (up to freshTimeout) holds up no other viewer's messages; the offer
// then comes back to the signaling loop on ready, and the viewer's
// candidates that arrive meanwhile are kept for it as before an offer.
func (m *Master) queueOffer(ctx context.Context, l *link, r readyOffer, ready chan<- readyOffer) {
	m.mu.Lock()
	if m.offerSeq == nil {
		m.offerSeq, m.fetching = map[string]uint64{}, map[string]int{}
	}
	m.offerSeq[r.id]++
	r.seq = m.offerSeq[r.id]
	m.mu.Unlock()
	if cfg, ok := l.ice.valid(); ok {
		r.cfg = cfg
		m.answerOffer(ctx, l, r)
		return
	}
	m.mu.Lock()
	m.fetching[r.id]++ // its candidates wait for it, not for the connection it replaces
	m.mu.Unlock()
	r.async = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		r.cfg = l.ice.fresh(ctx, m.opts.Logger.With("viewer", r.id).Warn)
		select {
		case ready <- r:
		case <-ctx.Done():
		}
	}()
}

// answerOffer answers r on the signaling loop, unless a later offer of the
// same viewer came meanwhile.
func (m *Master) answerOffer(ctx context.Context, l *link, r readyOffer) {
	m.mu.Lock()
	if r.async {
		if m.fetching[r.id]--; m.fetching[r.id] <= 0 {
			delete(m.fetching, r.id)
		}
	}
	stale := r.seq != m.offerSeq[r.id]
	m.mu.Unlock()
	if stale {
		return
	}
	if err := m.offer(ctx, l, r.id, r.sd, r.at, r.cfg); err != nil {
		m.opts.Logger.Warn("answer viewer", "from", r.id, "err", err)
	}
}

// result is Run's error: nil after Close.
func (m *Master) result(_ context.Context, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if serr := m.storageErr(); serr != nil {
		return serr
	}
	return err
}

func (m *Master) handle(ctx context.Context, l *link, msg signaling.Message, ready chan<- readyOffer) {
	log := m.opts.Logger
	id := msg.SenderClientID
	switch msg.MessageType {
	case wire.MessageTypeSDPOffer:
		sd, err := msg.SessionDescription()
		if err != nil {
			log.Warn("bad offer", "from", id, "err", err)
			return
		}
		// msg.ReceivedAt is on the service's clock; timelines use the local one.
		m.queueOffer(ctx, l, readyOffer{id: id, sd: sd, at: time.Now()}, ready)
	case wire.MessageTypeICECandidate:
		c, err := msg.ICECandidate()
		if err != nil {
			log.Warn("bad candidate", "from", id, "err", err)
			return
		}
		m.mu.Lock()
		p := m.peers[id]
		if p == nil || m.fetching[id] > 0 {
			// Before the offer, or its offer waits for ICE servers: keep
			// it for the offer (spec §13).
			if _, ok := m.early[id]; ok || len(m.early) < maxEarly {
				if len(m.early[id]) < maxPendingCandidates {
					m.early[id] = append(m.early[id], c)
				}
			}
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := p.addCandidate(c); err != nil {
			log.Debug("remote candidate refused", "from", id, "err", err)
		}
	case wire.MessageTypeStatusResponse:
		log.Warn("signaling refused a message", "status", fmt.Sprint(msg.StatusResponse))
	}
}

// closePeers ends every viewer's connection.
func (m *Master) closePeers() {
	m.mu.Lock()
	peers := make([]*masterPeer, 0, len(m.peers))
	for _, p := range m.peers {
		peers = append(peers, p)
	}
	m.mu.Unlock()
	for _, p := range peers {
		p.cancel()
	}
}

// Close stops Run, closes every peer connection and the signaling
// connection, and waits for every goroutine. It is idempotent.
func (m *Master) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.waitRun()
		return nil
	}
	m.closed = true
	cancel, started := m.cancel, m.started
	m.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-m.runDone
	return nil
}

func (m *Master) waitRun() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		c := make(chan struct{})
		close(c)
		return c
	}
	return m.runDone
}
