package metrics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/metrics"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

// scrape GETs /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func must(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := value(t, fams, name, labels)
	if !ok {
		t.Fatalf("no %s%v in the scrape", name, labels)
	}
	return v
}

func health(t *testing.T, base string) (int, metrics.HealthReport) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r metrics.HealthReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// TestScrapeLiveSession scrapes a master's endpoint while a viewer
// watches, parses it with the Prometheus text parser and checks the values
// against the Master's own Stats and Peers; /healthz follows the media
// flowing, stalling when the source stops, and idle once the viewer left.
func TestScrapeLiveSession(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := emulatortest.Channel(t, e, "cam")
	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, FPS: 30, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	mo := session.MasterOptions{Options: sessiontest.Options(e, arn), Video: video}
	mc := metrics.NewMaster(metrics.MasterOptions{Channel: "cam", StallAfter: time.Second})
	mc.Instrument(&mo)
	m, err := session.NewMaster(mo)
	if err != nil {
		t.Fatal(err)
	}
	mc.Attach(m)
	reg := prometheus.NewRegistry()
	reg.MustRegister(mc)
	hl := metrics.NewHealth()
	hl.Add(mc)
	srv, err := metrics.Listen("127.0.0.1:0", metrics.Handler(reg, hl), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srcCtx, stopSource := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); video.Run(srcCtx) }()
	go func() { defer wg.Done(); m.Run(ctx) }()
	select {
	case <-m.Ready():
	case <-ctx.Done():
		t.Fatal("master not ready")
	}
	if code, r := health(t, base); code != 200 || len(r.Channels) != 1 || r.Channels[0].Media != metrics.MediaIdle || !r.Channels[0].SignalingConnected {
		t.Errorf("healthz before a viewer: %d %+v", code, r)
	}

	var frames atomic.Int64
	enough := make(chan struct{})
	var once sync.Once
	vw, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "v1",
		OnFrame: func(c media.Codec, _ media.Frame) {
			if c.IsVideo() && frames.Add(1) == 90 {
				once.Do(func() { close(enough) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	vctx, stopViewer := context.WithCancel(ctx)
	viewerDone := make(chan struct{})
	go func() { defer close(viewerDone); vw.Run(vctx) }()
	defer func() { stopViewer(); <-viewerDone; vw.Close() }()
	select {
	case <-enough: // 3 s of video: receiver reports and consent checks have run
	case <-ctx.Done():
		t.Fatalf("viewer got %d frames", frames.Load())
	}

	first := scrape(t, base)
	before := peer(t, m, "v1")
	fams := scrape(t, base)
	after := peer(t, m, "v1")
	v1 := map[string]string{"channel": "cam", "viewer": "v1"}
	bytes := must(t, fams, "kvsrtc_viewer_sent_bytes_total", v1)
	if bytes < float64(before.Stats.Bytes) || bytes > float64(after.Stats.Bytes) {
		t.Errorf("viewer_sent_bytes_total %v, want between the session's %d and %d", bytes, before.Stats.Bytes, after.Stats.Bytes)
	}
	vf := must(t, fams, "kvsrtc_viewer_sent_frames_total", map[string]string{"viewer": "v1", "kind": "video"})
	if vf < float64(before.Stats.VideoFrames) || vf > float64(after.Stats.VideoFrames) {
		t.Errorf("video frames %v, want between %d and %d", vf, before.Stats.VideoFrames, after.Stats.VideoFrames)
	}
	st := m.Stats()
	if got := must(t, fams, "kvsrtc_viewers", nil); got != float64(st.Viewers) || got != 1 {
		t.Errorf("viewers %v, session says %d", got, st.Viewers)
	}
	if got := must(t, fams, "kvsrtc_viewers_total", nil); got != float64(st.ViewersTotal) {
		t.Errorf("viewers_total %v, session says %d", got, st.ViewersTotal)
	}
	if got := must(t, fams, "kvsrtc_signaling_reconnects_total", nil); got != float64(st.Signaling.Reconnects) {
		t.Errorf("reconnects %v, session says %d", got, st.Signaling.Reconnects)
	}
	if got := must(t, fams, "kvsrtc_signaling_connected", nil); got != 1 {
		t.Errorf("signaling_connected %v", got)
	}
	if got := must(t, fams, "kvsrtc_sessions", map[string]string{"path": "direct"}); got != 1 {
		t.Errorf("direct sessions %v, want 1 (loopback host candidates)", got)
	}
	if got := must(t, fams, "kvsrtc_sessions", map[string]string{"path": "relay"}); got != 0 {
		t.Errorf("relay sessions %v", got)
	}
	// Rates: the second scrape measures from the first. The clip is 30 fps.
	if fps := must(t, fams, "kvsrtc_viewer_frames_per_second", v1); fps < 0 || fps > 200 {
		t.Errorf("fps %v", fps)
	}
	if _, ok := value(t, first, "kvsrtc_viewer_bitrate_bits_per_second", v1); !ok {
		t.Error("no bitrate in the first scrape")
	}
	if lost := must(t, fams, "kvsrtc_viewer_packets_lost", v1); lost < 0 {
		t.Errorf("packets lost %v", lost)
	}
	if rtt := must(t, fams, "kvsrtc_viewer_round_trip_time_seconds", v1); rtt <= 0 || rtt > 1 {
		t.Errorf("rtt %v s on loopback", rtt)
	}
	// Phase histograms carry the C SDK's names, each phase observed once.
	for _, phase := range []string{"connectCallTime", "getEndpointCallTime", "offerToAnswerTime", "iceHolePunchingTime", "dtlsSessionSetupTime"} {
		if n := must(t, fams, "kvsrtc_phase_duration_seconds", map[string]string{"phase": phase}); n != 1 {
			t.Errorf("phase %s observed %v times, want 1", phase, n)
		}
	}
	if code, r := health(t, base); code != 200 || r.Channels[0].Media != metrics.MediaFlowing || r.Channels[0].Viewers != 1 {
		t.Errorf("healthz with media flowing: %d %+v", code, r)
	}

	// The source stops: media stalls while the viewer is connected.
	stopSource()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, r := health(t, base)
		if code == http.StatusServiceUnavailable && r.Channels[0].Media == metrics.MediaStalled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never reported stalled media: %d %+v", code, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopViewer()
	<-viewerDone
	deadline = time.Now().Add(20 * time.Second)
	for {
		fams := scrape(t, base)
		n, _ := value(t, fams, "kvsrtc_viewers", nil)
		_, live := value(t, fams, "kvsrtc_viewer_sent_bytes_total", v1)
		code, r := health(t, base)
		if n == 0 && !live && code == 200 && r.Channels[0].Media == metrics.MediaIdle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the viewer left: viewers %v, its series present %v, healthz %d %+v", n, live, code, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func peer(t *testing.T, m *session.Master, id string) session.PeerReport {
	t.Helper()
	for _, p := range m.Peers() {
		if p.ClientID == id {
			return p
		}
	}
	t.Fatalf("no peer %s", id)
	return session.PeerReport{}
}

// TestScrapeRelayedSession: a viewer that sends through TURN only counts
// as a relay session on the master.
func TestScrapeRelayedSession(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := emulatortest.Channel(t, e, "cam")
	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, FPS: 30, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	mo := session.MasterOptions{Options: sessiontest.Options(e, arn), Video: video}
	mc := metrics.NewMaster(metrics.MasterOptions{Channel: "cam"})
	mc.Instrument(&mo)
	m, err := session.NewMaster(mo)
	if err != nil {
		t.Fatal(err)
	}
	mc.Attach(m)
	reg := prometheus.NewRegistry()
	reg.MustRegister(mc)
	srv, err := metrics.Listen("127.0.0.1:0", metrics.Handler(reg, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); video.Run(ctx) }()
	go func() { defer wg.Done(); m.Run(ctx) }()
	got := make(chan struct{})
	var once sync.Once
	vo := sessiontest.Options(e, arn)
	vo.ForceTURN = true
	vw, err := session.NewViewer(session.ViewerOptions{Options: vo, ClientID: "relayed",
		OnFrame: func(c media.Codec, _ media.Frame) {
			if c.IsVideo() {
				once.Do(func() { close(got) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); defer vw.Close(); vw.Run(ctx) }()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("no video through TURN")
	}
	fams := scrape(t, "http://"+srv.Addr().String())
	if n := must(t, fams, "kvsrtc_sessions", map[string]string{"path": "relay"}); n != 1 {
		t.Errorf("relay sessions %v, want 1", n)
	}
	if n := must(t, fams, "kvsrtc_sessions", map[string]string{"path": "direct"}); n != 0 {
		t.Errorf("direct sessions %v, want 0", n)
	}
}
