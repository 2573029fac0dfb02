package metrics

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// Namespace prefixes every metric name.
const Namespace = "kvsrtc"

// DefaultStallAfter is how long without a frame sent, while a viewer is
// connected, before a Master's media counts as stalled.
const DefaultStallAfter = 5 * time.Second

// PhaseBuckets are the phase-duration histogram buckets, in seconds: from
// a loopback answer (a few ms) to a slow TURN setup (tens of seconds).
var PhaseBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Master is a prometheus.Collector for one session.Master: viewers,
// per-viewer bitrate, frame rate, packets lost and round-trip time,
// signaling reconnects and ICE refreshes, relay and direct sessions, and a
// histogram per connection phase named as the C SDK names it. Values are
// read on scrape from the Master's own Stats, Peers and Timeline and from
// pion's stats (RTCP receiver reports, the selected ICE candidate pair).
//
// Make it before the Master, call Instrument on the MasterOptions, then
// Attach the Master.
type Master struct {
	channel    string
	stallAfter time.Duration

	mu       sync.Mutex
	m        *session.Master
	getters  map[string]newGetter  // pion PeerConnection id → stats, until matched to a viewer
	peers    map[string]*peerMeter // client id → live viewer
	observed map[*session.Timeline]map[string]bool
	sigState signaling.State
	lastSent time.Time // last frame written to any viewer
	joined   time.Time // when the first of the current viewers joined

	phases *prometheus.HistogramVec
	descs  descs
}

// MasterOptions configure a Master collector.
type MasterOptions struct {
	// Channel labels every metric (channel="..."), so that many masters
	// can share a registry. Required when they do.
	Channel string
	// StallAfter: see DefaultStallAfter.
	StallAfter time.Duration
}

// NewMaster returns a collector; register it with a prometheus.Registerer.
func NewMaster(opts MasterOptions) *Master {
	if opts.StallAfter <= 0 {
		opts.StallAfter = DefaultStallAfter
	}
	c := &Master{channel: opts.Channel, stallAfter: opts.StallAfter, getters: map[string]newGetter{},
		peers: map[string]*peerMeter{}, observed: map[*session.Timeline]map[string]bool{}}
	labels := prometheus.Labels{"channel": opts.Channel}
	c.phases = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "phase_duration_seconds",
		Help:        "Duration of connection phases; phase is the C SDK's metric name (getTokenCallTime, connectCallTime, offerToAnswerTime, iceHolePunchingTime, dtlsSessionSetupTime, ...).",
		ConstLabels: labels, Buckets: PhaseBuckets,
	}, []string{"phase"})
	c.descs = newDescs(labels)
	return c
}

// Instrument adds the collector's hooks to o, keeping any already set: a
// stats interceptor, OnPeerConnection, OnSignalingStateChange, OnPeer and
// OnFrameSent.
func (c *Master) Instrument(o *session.MasterOptions) {
	prevAPI := o.ConfigureAPI
	o.ConfigureAPI = func(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if prevAPI != nil {
			if err := prevAPI(m, ir); err != nil {
				return err
			}
		}
		f, err := stats.NewInterceptor()
		if err != nil {
			return err
		}
		f.OnNewPeerConnection(func(id string, g stats.Getter) {
			c.mu.Lock()
			defer c.mu.Unlock()
			now := time.Now()
			for k, old := range c.getters { // never matched: the viewer failed early
				if now.Sub(old.at) > 10*time.Minute {
					delete(c.getters, k)
				}
			}
			c.getters[id] = newGetter{getter: g, at: now}
		})
		ir.Add(f)
		return nil
	}
	prevPC := o.OnPeerConnection
	o.OnPeerConnection = func(id string, pc *webrtc.PeerConnection) {
		c.addPeer(id, pc)
		if prevPC != nil {
			prevPC(id, pc)
		}
	}
	prevSig := o.OnSignalingStateChange
	o.OnSignalingStateChange = func(s signaling.StateChange) {
		c.mu.Lock()
		c.sigState = s.State
		c.mu.Unlock()
		if prevSig != nil {
			prevSig(s)
		}
	}
	prevPeer := o.OnPeer
	o.OnPeer = func(ev session.PeerEvent) {
		if !ev.Joined {
			c.removePeer(ev.ClientID)
		}
		if prevPeer != nil {
			prevPeer(ev)
		}
	}
	prevSent := o.OnFrameSent
	o.OnFrameSent = func(viewer string, codec media.Codec, f media.Frame) {
		now := time.Now()
		c.mu.Lock()
		c.lastSent = now
		if p := c.peers[viewer]; p != nil && codec.IsVideo() {
			p.lastVideo = now
		}
		c.mu.Unlock()
		if prevSent != nil {
			prevSent(viewer, codec, f)
		}
	}
}

// Attach gives the collector the Master to read; before it, a scrape
// reports nothing for this channel.
func (c *Master) Attach(m *session.Master) {
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
}

func (c *Master) addPeer(id string, pc *webrtc.PeerConnection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.peers) == 0 {
		c.joined = time.Now()
	}
	c.peers[id] = &peerMeter{pc: pc}
}

func (c *Master) removePeer(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.peers, id)
}

// newGetter is a stats interceptor not yet matched to a viewer.
type newGetter struct {
	getter stats.Getter
	at     time.Time
}

// Describe sends the descriptors of every metric.
func (c *Master) Describe(ch chan<- *prometheus.Desc) {
	c.descs.describe(ch)
	c.phases.Describe(ch)
}

// Collect reads the Master and sends the metrics.
func (c *Master) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	m := c.m
	c.mu.Unlock()
	if m == nil {
		return
	}
	st := m.Stats()
	peers := m.Peers()
	c.observePhases(m.Timeline())
	for _, p := range peers {
		c.observePhases(p.Timeline)
	}
	d := c.descs
	gauge := func(desc *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
	}
	counter := func(desc *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, lv...)
	}
	gauge(d.viewers, float64(st.Viewers))
	counter(d.viewersTotal, float64(st.ViewersTotal))
	counter(d.reconnects, float64(st.Signaling.Reconnects))
	counter(d.iceRefreshes, float64(st.ICERefreshes))
	counter(d.sigMessages, float64(st.Signaling.MessagesSent), "sent")
	counter(d.sigMessages, float64(st.Signaling.MessagesReceived), "received")
	counter(d.sigErrors, float64(st.Signaling.Errors))
	gauge(d.sigConnected, b2f(c.signalingConnected()))
	counter(d.packetized, float64(st.VideoPacketized), "video")
	counter(d.packetized, float64(st.AudioPacketized), "audio")

	now := time.Now()
	paths := map[string]int{"relay": 0, "direct": 0}
	for _, p := range peers {
		if p.Err != "" || p.Stats.State == webrtc.PeerConnectionStateClosed.String() {
			continue // ended: Peers keeps the latest 100 that left
		}
		s := c.sample(p, now)
		if s.path != "" {
			paths[s.path]++
		}
		id := p.ClientID
		counter(d.bytes, float64(p.Stats.Bytes), id)
		counter(d.packets, float64(p.Stats.Packets), id)
		counter(d.frames, float64(p.Stats.VideoFrames), id, "video")
		counter(d.frames, float64(p.Stats.AudioFrames), id, "audio")
		gauge(d.bitrate, s.bitrate, id)
		gauge(d.fps, s.fps, id)
		if s.haveRR {
			gauge(d.lost, float64(s.lost), id)
			gauge(d.fractionLost, s.fractionLost, id)
		}
		if s.rtt > 0 {
			gauge(d.rtt, s.rtt.Seconds(), id)
		}
		counter(d.nacks, float64(s.nacks), id)
	}
	for path, n := range paths {
		gauge(d.sessions, float64(n), path)
	}
	c.phases.Collect(ch)
}

// observePhases adds each step of tl with a C SDK metric name to the
// histogram, once.
func (c *Master) observePhases(tl *session.Timeline) {
	if tl == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.observed[tl]
	if seen == nil {
		seen = map[string]bool{}
		c.observed[tl] = seen
	}
	for _, s := range tl.Steps() {
		if s.Metric == "" || seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		c.phases.WithLabelValues(s.Metric).Observe(s.Ms / 1000)
	}
}

func (c *Master) signalingConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sigState == signaling.StateConnected
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// descs are the descriptors of the metrics built on scrape.
type descs struct {
	viewers, viewersTotal, reconnects, iceRefreshes, sigMessages, sigErrors, sigConnected, packetized *prometheus.Desc
	bytes, packets, frames, bitrate, fps, lost, fractionLost, rtt, nacks, sessions                    *prometheus.Desc
}

func newDescs(labels prometheus.Labels) descs {
	n := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, vars, labels)
	}
	return descs{
		viewers:      n("viewers", "Viewers connected now."),
		viewersTotal: n("viewers_total", "Viewers that ever joined."),
		reconnects:   n("signaling_reconnects_total", "Signaling WebSocket reconnections (C SDK numberOfReconnects)."),
		iceRefreshes: n("ice_refreshes_total", "ICE server configuration fetches after the first (C SDK iceRefreshCount)."),
		sigMessages:  n("signaling_messages_total", "Signaling messages (C SDK numberOfMessagesSent/Received).", "direction"),
		sigErrors:    n("signaling_errors_total", "Signaling errors (C SDK numberOfErrors)."),
		sigConnected: n("signaling_connected", "1 while the signaling WebSocket is connected."),
		packetized:   n("frames_packetized_total", "Frames packetized, once for every viewer.", "kind"),
		bytes:        n("viewer_sent_bytes_total", "RTP payload bytes sent to a viewer.", "viewer"),
		packets:      n("viewer_sent_packets_total", "RTP packets sent to a viewer.", "viewer"),
		frames:       n("viewer_sent_frames_total", "Frames sent to a viewer.", "viewer", "kind"),
		bitrate:      n("viewer_bitrate_bits_per_second", "Payload bitrate to a viewer since the previous scrape (or since it joined).", "viewer"),
		fps:          n("viewer_frames_per_second", "Video frames per second to a viewer since the previous scrape (or since it joined).", "viewer"),
		lost:         n("viewer_packets_lost", "Packets lost on the way to a viewer, from its RTCP receiver reports (cumulative).", "viewer"),
		fractionLost: n("viewer_fraction_lost", "Fraction of packets lost in the viewer's latest receiver report.", "viewer"),
		rtt:          n("viewer_round_trip_time_seconds", "Round-trip time to a viewer: RTCP (receiver reports) or, before any, ICE consent checks.", "viewer"),
		nacks:        n("viewer_nacks_total", "NACKs a viewer sent.", "viewer"),
		sessions:     n("sessions", "Viewers connected now by path: relay (TURN) or direct (host, srflx, prflx).", "path"),
	}
}

func (d descs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.viewers, d.viewersTotal, d.reconnects, d.iceRefreshes, d.sigMessages, d.sigErrors,
		d.sigConnected, d.packetized, d.bytes, d.packets, d.frames, d.bitrate, d.fps, d.lost, d.fractionLost, d.rtt, d.nacks, d.sessions} {
		ch <- x
	}
}
