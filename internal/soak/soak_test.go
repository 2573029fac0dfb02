package soak

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// Bounds the suite asserts (generous: 2 shared cores, the race detector).
const (
	viewers = 10
	// maxGap bounds how long any viewer's video may stop, for every
	// fault but one that drops an answer. Unloaded, every fault but the
	// master restart (DTLS close, backoff, ten offers answered at the
	// 5-a-second quota, ICE, DTLS: about 0.5 s) leaves media alone; the
	// bound leaves room for two shared cores under the race detector,
	// where a starved pion pauses media for seconds.
	maxGap = 30 * time.Second
	// maxGapDropped bounds it when the answer is dropped on purpose: the
	// answer timeout, then a new offer.
	maxGapDropped = maxGap + answerTimeout
	// backWithin bounds how long after a fault every client is connected
	// to signaling again and every viewer receives video.
	backWithin = 60 * time.Second
	// gapFloor: a pause shorter than this is jitter, not an interruption.
	gapFloor = 250 * time.Millisecond
	// answerTimeout is the viewers' (DefaultAnswerTimeout is 15 s): a
	// dropped answer costs this much.
	answerTimeout = 8 * time.Second
	// frameInterval is the demo clip's (30 fps).
	frameInterval = time.Second / 30
)

// soakDuration is how long faults are injected: one round of every kind
// by default, KVSRTC_SOAK (a Go duration) for the long mode.
func soakDuration(t *testing.T) (time.Duration, bool) {
	s := os.Getenv("KVSRTC_SOAK")
	if s == "" {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("KVSRTC_SOAK=%q: want a duration such as 10m", s)
	}
	return d, true
}

// world is the emulator, the master and the viewers of the suite.
type world struct {
	t     *testing.T
	opts  emulator.Options
	arn   channel.ARN
	video *media.Source
	audio *media.Source

	mu      sync.Mutex
	e       *emulator.Emulator
	master  *runner
	viewers []*viewer
	window  string // the fault whose window frames arrive in
	stats   map[string]*faultStats
}

// runner is a Master or Viewer running until stopped.
type runner struct {
	cancel context.CancelFunc
	done   chan error
	close  func() error
}

func (r *runner) stop() error {
	r.cancel()
	err := r.close()
	<-r.done
	return err
}

// viewer is one viewer and its video counters.
type viewer struct {
	id     string
	r      *runner
	frames atomic.Int64
	last   atomic.Int64 // unix nanos of the latest video frame
}

// faultStats are the figures of one fault kind.
type faultStats struct {
	injected  int
	missed    int64         // video frames not received during interruptions, all viewers
	worstGap  time.Duration // longest video interruption of any viewer
	worstBack time.Duration // longest time until every client was connected and receiving again
}

func (w *world) emulator() *emulator.Emulator {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.e
}

// options are session options for the current emulator with the suite's
// compressed timers on the client side: pings every 2 s (the idle timeout
// is 10 s) and short signaling backoff.
func (w *world) options() session.Options {
	o := sessiontest.Options(w.emulator(), w.arn)
	// TURN over UDP only: the suite is about recovery, and ten viewers'
	// TURN-over-TLS handshakes under the race detector starve two cores.
	o.RelayTransport = session.RelayUDP
	o.Signaling = func(so *signaling.Options) {
		so.PingInterval = 2 * time.Second
		so.Backoff = signaling.Backoff{Min: 50 * time.Millisecond, Max: 2 * time.Second}
	}
	return o
}

func (w *world) startMaster() {
	w.t.Helper()
	m, err := session.NewMaster(session.MasterOptions{Options: w.options(), Video: w.video, Audio: w.audio})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1), close: m.Close}
	go func() { r.done <- m.Run(ctx) }()
	w.mu.Lock()
	w.master = r
	w.mu.Unlock()
}

func (w *world) startViewer(v *viewer) {
	w.t.Helper()
	o := w.options()
	if debug {
		o.OnICEConnectionStateChange = func(id string, s webrtc.ICEConnectionState) { debugICE(w.t, id, s) }
	}
	vw, err := session.NewViewer(session.ViewerOptions{Options: o, ClientID: v.id, Rejoin: true,
		AnswerTimeout: answerTimeout,
		RejoinBackoff: session.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second},
		OnRejoin: func(cause error, wait time.Duration) {
			w.t.Logf("%s %s: %v; offering again in %v", time.Now().Format("15:04:05.000"), v.id, cause, wait.Round(time.Millisecond))
		},
		OnFrame: func(c media.Codec, _ media.Frame) {
			if c.IsVideo() {
				w.frame(v)
			}
		}})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1), close: vw.Close}
	_ = debugICE
	go func() { r.done <- vw.Run(ctx) }()
	v.r = r
}

// frame counts a video frame of v and the interruption it ends, if any.
func (w *world) frame(v *viewer) {
	now := time.Now()
	prev := v.last.Swap(now.UnixNano())
	v.frames.Add(1)
	if prev == 0 {
		return
	}
	gap := now.Sub(time.Unix(0, prev))
	if gap < gapFloor {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats[w.window]
	if s == nil {
		return
	}
	s.missed += int64(gap/frameInterval) - 1
	s.worstGap = max(s.worstGap, gap)
}

// restartEmulator closes the emulator and starts it again on the same
// port and data directory (channels, CA and certificate survive), as a
// service restart or kill would look to its clients.
func (w *world) restartEmulator() {
	w.t.Helper()
	old := w.emulator()
	if err := old.Close(); err != nil {
		w.t.Fatalf("close emulator: %v", err)
	}
	opts := w.opts
	u, _ := url.Parse(old.URL())
	opts.Listen = u.Host
	var e *emulator.Emulator
	deadline := time.Now().Add(10 * time.Second)
	for { // the port may take a moment to be free again
		var err error
		if e, err = emulator.Start(context.Background(), opts); err == nil {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("restart emulator on %s: %v", u.Host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.mu.Lock()
	w.e = e
	w.mu.Unlock()
}

// fault is one kind of trouble and how to cause it.
type fault struct {
	name string
	do   func(w *world)
}

func inject(f emulator.Fault) func(w *world) {
	return func(w *world) {
		if _, err := w.emulator().Inject(f); err != nil {
			w.t.Errorf("inject %v: %v", f, err)
		}
	}
}

// faults are injected in this order, round after round.
func faults(arn string) []fault {
	return []fault{
		{"goaway", inject(emulator.Fault{Kind: emulator.FaultGoAway, ChannelARN: arn})},
		{"close-1001", inject(emulator.Fault{Kind: emulator.FaultClose, ChannelARN: arn})},
		{"reconnect-ice", inject(emulator.Fault{Kind: emulator.FaultReconnectICE, ChannelARN: arn})},
		{"expire-turn", inject(emulator.Fault{Kind: emulator.FaultExpireTURN})},
		{"refuse-3-connects+drop", func(w *world) {
			inject(emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseConnects, Status: 500, Count: 3})(w)
			w.emulator().DropConnections(arn)
		}},
		{"kill-master-socket", inject(emulator.Fault{Kind: emulator.FaultKill, ChannelARN: arn})},
		{"master-restart", func(w *world) {
			w.mu.Lock()
			m := w.master
			w.mu.Unlock()
			if err := m.stop(); err != nil {
				w.t.Errorf("stop master: %v", err)
			}
			w.startMaster()
		}},
		{"viewer-restart+answer-dropped", func(w *world) {
			inject(emulator.Fault{Kind: emulator.FaultDrop, ChannelARN: arn, Direction: emulator.ToViewer, Action: "SDP_ANSWER", Count: 1})(w)
			v := w.viewers[0]
			if err := v.r.stop(); err != nil {
				w.t.Errorf("stop viewer: %v", err)
			}
			w.startViewer(v)
		}},
		{"emulator-restart", func(w *world) { w.restartEmulator() }},
	}
}

// back waits until the master and every viewer are connected to signaling
// and every viewer received video after since; it returns how long that
// took from since.
func (w *world) back(since time.Time) (time.Duration, error) {
	deadline := since.Add(backWithin)
	for {
		master, ids := w.emulator().Connections(w.arn.String())
		connected := map[string]bool{}
		for _, id := range ids {
			connected[id] = true
		}
		ok := master
		var missing []string
		for _, v := range w.viewers {
			if !connected[v.id] || v.last.Load() < since.UnixNano() {
				ok = false
				missing = append(missing, v.id)
			}
		}
		if ok {
			return time.Since(since), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("not back within %v: master connected %v, viewers missing %v", backWithin, master, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// usage is what the process holds.
type usage struct {
	goroutines int
	fds        int
	rssKB      int
}

func measure(t *testing.T) usage {
	runtime.GC()
	u := usage{goroutines: runtime.NumGoroutine()}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		u.fds = len(ents)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), &u.rssKB)
			}
		}
	} else {
		t.Logf("no /proc/self/status: %v", err)
	}
	return u
}

// TestSoak runs a master and ten viewers through every fault, round after
// round, and checks media, recovery and resource use; it prints the
// figures the README's reliability section quotes.
func TestSoak(t *testing.T) {
	long, isLong := soakDuration(t)
	if testing.Short() && !isLong {
		t.Skip("-short")
	}
	interval := 3 * time.Second
	opts := emulator.Options{
		DataDir: t.TempDir(),
		IceTTL:  time.Minute, // TURN credentials and their refresh (Ttl − 30 s) every 30 s instead of 4.5 min
		Limits: emulator.Limits{
			MaxConnDuration:   25 * time.Second, // instead of 1 h: GO_AWAY 5 s before
			GoAwayGrace:       5 * time.Second,
			IdleTimeout:       10 * time.Second, // instead of 10 min: pings (every 2 s) keep clients
			ConnectsPerSecond: 50,               // eleven clients reconnect at once after each fault
		},
	}
	e := emulatortest.Start(t, opts) // stopped by Cleanup; restarts are closed below
	opts.Listen = ""
	w := &world{t: t, opts: opts, e: e, arn: emulatortest.Channel(t, e, "soak"), stats: map[string]*faultStats{}}
	defer func() {
		if cur := w.emulator(); cur != e {
			cur.Close()
		}
	}()
	var srcWG sync.WaitGroup
	srcCtx, srcCancel := context.WithCancel(context.Background())
	defer func() { srcCancel(); srcWG.Wait() }()
	for _, c := range []media.Codec{media.CodecH264, media.CodecOpus} {
		r := media.DemoH264()
		if c == media.CodecOpus {
			r = media.DemoOpus()
		}
		s, err := media.NewSource(r, media.SourceOptions{Codec: c, Loop: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.IsVideo() {
			w.video = s
		} else {
			w.audio = s
		}
		srcWG.Add(1)
		go func() { defer srcWG.Done(); _ = s.Run(srcCtx) }()
	}
	before := measure(t)

	w.startMaster()
	for i := range viewers {
		v := &viewer{id: fmt.Sprintf("soak-viewer-%02d", i)}
		w.viewers = append(w.viewers, v)
		w.startViewer(v)
	}
	if _, err := w.back(time.Now()); err != nil {
		t.Fatalf("setup: %v", err)
	}
	steady := measure(t)

	kinds := faults(w.arn.String())
	start := time.Now()
	for round := 0; ; round++ {
		for _, f := range kinds {
			if t.Failed() {
				break
			}
			w.mu.Lock()
			if w.stats[f.name] == nil {
				w.stats[f.name] = &faultStats{}
			}
			w.stats[f.name].injected++
			w.window = f.name
			w.mu.Unlock()
			at := time.Now()
			if debug {
				t.Logf("%s inject %s", at.Format("15:04:05.000"), f.name)
			}
			f.do(w)
			took, err := w.back(at)
			if err != nil {
				t.Errorf("round %d, %s: %v", round, f.name, err)
				break
			}
			w.mu.Lock()
			w.stats[f.name].worstBack = max(w.stats[f.name].worstBack, took)
			w.mu.Unlock()
			// The rest of the interval: media keeps flowing, and the
			// compressed timers (GO_AWAY, idle, TURN Ttl) fire on their own.
			if rest := interval - time.Since(at); rest > 0 {
				time.Sleep(rest)
			}
		}
		if t.Failed() || !isLong || time.Since(start) > long {
			break
		}
	}
	w.mu.Lock()
	w.window = ""
	w.mu.Unlock()
	// Nobody is stuck: every viewer receives video now.
	if _, err := w.back(time.Now()); err != nil {
		t.Errorf("at the end: %v", err)
	}
	end := measure(t)

	// The figures.
	var names []string
	for n := range w.stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	var worstGap, worstBack time.Duration
	t.Logf("%d viewers, %v of faults (%v apart), video frames received %d", viewers, time.Since(start).Round(time.Second), interval, w.totalFrames())
	t.Logf("%-30s %8s %12s %10s %10s", "fault", "injected", "frames lost", "worst gap", "all back")
	for _, n := range names {
		s := w.stats[n]
		t.Logf("%-30s %8d %12d %10v %10v", n, s.injected, s.missed, s.worstGap.Round(time.Millisecond), s.worstBack.Round(time.Millisecond))
		worstGap, worstBack = max(worstGap, s.worstGap), max(worstBack, s.worstBack)
		bound := maxGap
		if strings.Contains(n, "answer-dropped") {
			bound = maxGapDropped
		}
		if s.worstGap > bound {
			t.Errorf("%s: video stopped for %v (bound %v)", n, s.worstGap, bound)
		}
	}
	t.Logf("worst video gap %v, worst time until all back %v", worstGap.Round(time.Millisecond), worstBack.Round(time.Millisecond))
	t.Logf("goroutines %d → %d → %d, fds %d → %d → %d, RSS %d → %d → %d MB (before, steady, end)",
		before.goroutines, steady.goroutines, end.goroutines, before.fds, steady.fds, end.fds,
		before.rssKB/1024, steady.rssKB/1024, end.rssKB/1024)
	// Flat: what the steady state held after all the faults, within room
	// for pion's and the emulator's timers mid-flight.
	if end.goroutines > steady.goroutines+steady.goroutines/4+20 {
		t.Errorf("goroutines grew from %d to %d", steady.goroutines, end.goroutines)
	}
	if end.fds > steady.fds+steady.fds/4+10 {
		t.Errorf("fds grew from %d to %d", steady.fds, end.fds)
	}
	if end.rssKB > steady.rssKB*2+64*1024 {
		t.Errorf("RSS grew from %d to %d MB", steady.rssKB/1024, end.rssKB/1024)
	}

	// Teardown: everything stops (goleak checks what is left).
	for _, v := range w.viewers {
		if err := v.r.stop(); err != nil {
			t.Errorf("viewer %s: %v", v.id, err)
		}
	}
	if err := w.master.stop(); err != nil {
		t.Errorf("master: %v", err)
	}
}

// debug (SOAK_DEBUG=1) logs every fault and every viewer's ICE state.
var debug = os.Getenv("SOAK_DEBUG") != ""

func debugICE(t *testing.T, id string, s webrtc.ICEConnectionState) {
	t.Logf("%s %s ICE %s", time.Now().Format("15:04:05.000"), id, s)
}

func (w *world) totalFrames() int64 {
	var n int64
	for _, v := range w.viewers {
		n += v.frames.Load()
	}
	return n
}
