package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// demoFrames reads the first n frames of the H.264 demo clip.
func demoFrames(t *testing.T, n int) []media.Frame {
	t.Helper()
	r, err := media.NewAnnexBReader(media.DemoH264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	var fs []media.Frame
	for len(fs) < n {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// TestUserTrackThroughMaster streams a TrackLocalStaticSample the test made
// through a Master (MasterOptions.Tracks, no media.Source) to a Viewer and
// checks every frame by checksum; OnPeerConnection sees both ends'
// PeerConnections.
func TestUserTrackThroughMaster(t *testing.T) {
	v := newEnv(t, "usertrack")
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "app")
	if err != nil {
		t.Fatal(err)
	}
	var pcs sync.Map // clientID+role → *webrtc.PeerConnection
	mopts := session.MasterOptions{Options: v.options(), Tracks: []webrtc.TrackLocal{track}}
	mopts.OnPeerConnection = func(id string, pc *webrtc.PeerConnection) { pcs.Store("master:"+id, pc) }
	m, err := session.NewMaster(mopts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- m.Run(ctx) }()
	waitFor(t, 10*time.Second, "master connected", func() bool { return m.Timeline().Has(session.StepConnect) })

	frames := demoFrames(t, 60) // two GOPs
	received := media.NewFrameLog(media.CodecH264)
	vopts := session.ViewerOptions{Options: v.options(), ClientID: "v-track", VideoFrames: len(frames),
		OnFrame: func(c media.Codec, f media.Frame) {
			if c == media.CodecH264 {
				received.Add(f)
			}
		}}
	vopts.OnPeerConnection = func(id string, pc *webrtc.PeerConnection) { pcs.Store("viewer:"+id, pc) }
	vw, err := session.NewViewer(vopts)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	go func() { errs <- vw.Run(ctx) }()
	waitFor(t, 15*time.Second, "DTLS up", func() bool { return vw.Timeline().Has(session.StepDTLSConnected) })

	sent := media.NewFrameLog(media.CodecH264)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for _, f := range frames {
		<-tick.C
		if err := track.WriteSample(pmedia.Sample{Data: f.Data, Duration: time.Second / 30}); err != nil {
			t.Fatalf("write sample: %v", err)
		}
		sent.Add(f)
	}
	if err := <-errs; err != nil { // the viewer ends after len(frames) video frames
		t.Fatalf("viewer: %v (received %d of %d)", err, received.Len(), len(frames))
	}
	n, err := sent.Match(received)
	if err != nil || n != len(frames) {
		t.Errorf("received %d frames, %d match the %d sent: %v", received.Len(), n, len(frames), err)
	}
	for _, k := range []string{"master:v-track", "viewer:v-track"} {
		if _, ok := pcs.Load(k); !ok {
			t.Errorf("OnPeerConnection not called for %s", k)
		}
	}
	m.Close()
	if err := <-errs; err != nil {
		t.Errorf("master: %v", err)
	}
}

// stampURI is the RTP header extension the test interceptors write and read.
const stampURI = "urn:kvsrtc:test:stamp"

var stamp = []byte("kvs")

// stamper is an interceptor that sets the stamp extension on every RTP
// packet it writes (a master's ConfigureAPI registers it).
type stamper struct {
	interceptor.NoOp
	wrote *atomic.Int64
}

func (s *stamper) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := 0
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == stampURI {
			id = e.ID
		}
	}
	if id == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if err := h.SetExtension(uint8(id), stamp); err != nil {
			return 0, err
		}
		s.wrote.Add(1)
		return w.Write(h, payload, a)
	})
}

// stampReader counts the RTP packets that arrive with the stamp (a viewer's
// ConfigureAPI registers it).
type stampReader struct {
	interceptor.NoOp
	seen *atomic.Int64
}

func (s *stampReader) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	id := 0
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == stampURI {
			id = e.ID
		}
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil || id == 0 {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		h, herr := a.GetRTPHeader(b[:n])
		if herr == nil && bytes.Equal(h.GetExtension(uint8(id)), stamp) {
			s.seen.Add(1)
		}
		return n, a, err
	})
}

type factory func() interceptor.Interceptor

func (f factory) NewInterceptor(string) (interceptor.Interceptor, error) { return f(), nil }

// withStamp registers the stamp extension for video and the interceptor i.
func withStamp(i interceptor.Interceptor) func(*webrtc.MediaEngine, *interceptor.Registry) error {
	return func(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: stampURI}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
		ir.Add(factory(func() interceptor.Interceptor { return i }))
		return nil
	}
}

// TestInterceptorOnTheWire registers, through ConfigureAPI, an interceptor
// on the master that stamps a header extension on every packet it writes
// and one on the viewer that counts the stamped packets it reads: the
// stamps crossed the wire, so both hooks reach pion.
func TestInterceptorOnTheWire(t *testing.T) {
	v := newEnv(t, "interceptor")
	var wrote, seen atomic.Int64
	liveMaster(t, v, func(o *session.MasterOptions) {
		o.ConfigureAPI = withStamp(&stamper{wrote: &wrote})
	})
	viewFrames(t, v, "v-stamp", 20, func(o *session.ViewerOptions) {
		o.ConfigureAPI = withStamp(&stampReader{seen: &seen})
	})
	if wrote.Load() == 0 || seen.Load() == 0 {
		t.Fatalf("master stamped %d packets, viewer saw %d stamped", wrote.Load(), seen.Load())
	}
	if seen.Load() > wrote.Load() {
		t.Errorf("viewer saw %d stamped packets, master stamped only %d", seen.Load(), wrote.Load())
	}
	t.Logf("stamped %d, seen %d", wrote.Load(), seen.Load())
}

// TestConfigureAPIError: an error from the hook fails NewViewer and is
// reachable.
func TestConfigureAPIError(t *testing.T) {
	v := newEnv(t, "cfgerr")
	boom := errors.New("boom")
	o := v.options()
	o.ConfigureAPI = func(*webrtc.MediaEngine, *interceptor.Registry) error { return boom }
	_, err := session.NewViewer(session.ViewerOptions{Options: o, ClientID: "x"})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "configure api") {
		t.Fatalf("NewViewer: %v, want the hook's error", err)
	}
}

// relevel returns the demo clip with every SPS's level_idc set to level.
func relevel(t *testing.T, level byte) []byte {
	t.Helper()
	clip, err := io.ReadAll(media.DemoH264())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i+4 < len(clip); i++ {
		if clip[i] == 0 && clip[i+1] == 0 && clip[i+2] == 1 && clip[i+3]&0x1f == 7 {
			clip[i+6] = level // 67 | profile | flags | level
			n++
		}
	}
	if n == 0 {
		t.Fatal("no SPS in the demo clip")
	}
	return clip
}

// TestH264FmtpFollowsSource: the master offers the profile-level-id of its
// source's SPS (here level 4.0, the clip re-labelled), or the one the
// options name.
func TestH264FmtpFollowsSource(t *testing.T) {
	tests := []struct {
		name, option, want string
	}{
		{"from the SPS", "", "profile-level-id=42e028"},
		{"chosen", "42e00d", "profile-level-id=42e00d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, "fmtp")
			video, err := media.NewSource(bytes.NewReader(relevel(t, 0x28)), media.SourceOptions{Codec: media.CodecH264, Loop: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			runMaster(t, ctx, cancel, v, video, demoSource(t, media.CodecOpus, true, false), func(o *session.MasterOptions) {
				o.H264ProfileLevelID = tt.option
			})
			waitFor(t, 10*time.Second, "a keyframe in the GOP cache", func() bool { _, ok := video.Keyframe(); return ok })
			var answer atomic.Value
			viewFrames(t, v, "v-fmtp", 5, func(o *session.ViewerOptions) {
				o.OnPeerConnection = func(_ string, pc *webrtc.PeerConnection) {
					pc.OnSignalingStateChange(func(s webrtc.SignalingState) {
						if rd := pc.RemoteDescription(); rd != nil && s == webrtc.SignalingStateStable {
							answer.Store(rd.SDP)
						}
					})
				}
			})
			sdp, _ := answer.Load().(string)
			if !strings.Contains(sdp, tt.want) {
				t.Errorf("answer does not carry %s:\n%s", tt.want, sdp)
			}
		})
	}
}

// TestNewTracksPerViewer: MasterOptions.NewTracks makes each viewer its own
// track; each viewer gets exactly what was written to its track (here two
// different GOPs of the clip), checked by checksum.
func TestNewTracksPerViewer(t *testing.T) {
	v := newEnv(t, "pertrack")
	var mu sync.Mutex
	tracks := map[string]*webrtc.TrackLocalStaticSample{}
	made := make(chan string, 2)
	mopts := session.MasterOptions{Options: v.options(), NewTracks: func(id string) ([]webrtc.TrackLocal, error) {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", id)
		mu.Lock()
		tracks[id] = tr
		mu.Unlock()
		made <- id
		return []webrtc.TrackLocal{tr}, err
	}}
	m, err := session.NewMaster(mopts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go m.Run(ctx)
	wait(t, m.Ready(), 10*time.Second, "master ready")

	frames := demoFrames(t, 60)
	gop := map[string][]media.Frame{"v-first": frames[:30], "v-second": frames[30:]}
	type result struct {
		id       string
		received *media.FrameLog
		err      error
	}
	results := make(chan result, 2)
	for id := range gop {
		received := media.NewFrameLog(media.CodecH264)
		vw, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: id, VideoFrames: 30,
			OnFrame: func(_ media.Codec, f media.Frame) { received.Add(f) }})
		if err != nil {
			t.Fatal(err)
		}
		defer vw.Close()
		go func() { err := vw.Run(ctx); results <- result{id, received, err} }()
		go func() {
			select {
			case <-vw.Ready():
			case <-ctx.Done():
				return
			}
			mu.Lock()
			tr := tracks[id]
			mu.Unlock()
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			for _, f := range gop[id] {
				<-tick.C
				_ = tr.WriteSample(pmedia.Sample{Data: f.Data, Duration: time.Second / 30})
			}
		}()
	}
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		sent := media.NewFrameLog(media.CodecH264)
		for _, f := range gop[r.id] {
			sent.Add(f)
		}
		if n, err := sent.Match(r.received); err != nil || n != 30 {
			t.Errorf("%s: %d of 30 frames match its own track: %v", r.id, n, err)
		}
	}
	if len(made) != 2 {
		t.Errorf("NewTracks called %d times, want once per viewer", len(made))
	}
}
