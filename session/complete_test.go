package session_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/wire"
)

// candidateLines returns the a=candidate lines of s.
func candidateLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
		}
	}
	return out
}

// TestCompleteOfferWithoutDuplicates: a viewer's complete (non-trickle)
// offer carries each path once: no RTCP-component copies (rtcp-mux), no
// server-reflexive candidate at a host candidate's address (on loopback
// STUN reflects the host address), no transport address twice; a host and
// a relay candidate are there, and the payload is within the limit.
func TestCompleteOfferWithoutDuplicates(t *testing.T) {
	v := newEnv(t, "complete")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := dialHandMaster(t, ctx, v)
	runViewer(t, ctx, v, "v-complete", 10, func(o *session.ViewerOptions) { o.NoTrickle = true })
	_, offer, trickled := h.offer(ctx)
	if len(trickled) != 0 {
		t.Errorf("%d candidates trickled with a complete offer", len(trickled))
	}
	cands := candidateLines(offer.SDP)
	seen := map[string]bool{}
	hostIPs := map[string]bool{}
	types := map[string]int{}
	for _, l := range cands {
		f := strings.Fields(l)
		if f[1] != "1" {
			t.Errorf("component %s candidate with rtcp-mux: %s", f[1], l)
		}
		key := f[2] + " " + f[4] + " " + f[5]
		if seen[key] {
			t.Errorf("transport address twice: %s", l)
		}
		seen[key] = true
		types[f[7]]++
		if f[7] == "host" {
			hostIPs[f[4]] = true
		}
	}
	for _, l := range cands {
		if f := strings.Fields(l); f[7] == "srflx" && hostIPs[f[4]] {
			t.Errorf("server-reflexive candidate at a host address: %s", l)
		}
	}
	if types["host"] == 0 || types["relay"] == 0 {
		t.Errorf("candidate types %v, want host and relay", types)
	}
	p, err := wire.EncodePayload(offer)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d candidates %v, %d bytes of payload", len(cands), types, len(p))
}

// TestNoTrickleAgainstOwnMaster: `kvsrtc viewer --no-trickle` against a
// `kvsrtc master --no-trickle` (and against a trickling one) gets video.
func TestNoTrickleAgainstOwnMaster(t *testing.T) {
	for _, masterTrickles := range []bool{false, true} {
		name := map[bool]string{false: "complete-master", true: "trickling-master"}[masterTrickles]
		t.Run(name, func(t *testing.T) {
			v := newEnv(t, name)
			liveMaster(t, v, func(o *session.MasterOptions) { o.NoTrickle = !masterTrickles })
			viewFrames(t, v, "v-nt", 10, func(o *session.ViewerOptions) { o.NoTrickle = true })
		})
	}
}

// manyRelays repeats the TURN servers of pc's configuration n times, so
// gathering allocates n relays per URL: a complete SDP then outgrows the
// signaling payload limit.
func manyRelays(n int) func(string, *webrtc.PeerConnection) {
	return func(_ string, pc *webrtc.PeerConnection) {
		cfg := pc.GetConfiguration()
		var more []webrtc.ICEServer
		for range n {
			for _, s := range cfg.ICEServers {
				if s.Username != "" {
					more = append(more, s)
				}
			}
		}
		cfg.ICEServers = append(cfg.ICEServers, more...)
		if err := pc.SetConfiguration(cfg); err != nil {
			panic(err)
		}
	}
}

// TestCompleteOverLimitTrickles: a complete offer whose candidates do not
// fit the 10,000-byte payload goes without them, announcing trickle, and
// they follow as ICE_CANDIDATE messages, with a warning; the session comes
// up.
func TestCompleteOverLimitTrickles(t *testing.T) {
	v := newEnv(t, "overlimit")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	h := dialHandMaster(t, ctx, v)
	var log lockedBuffer
	vw, errc := runViewer(t, ctx, v, "v-big", 10, func(o *session.ViewerOptions) {
		o.NoTrickle = true
		o.Logger = slog.New(slog.NewTextHandler(&log, nil))
		o.OnPeerConnection = manyRelays(12)
	})
	from, offer, early := h.offer(ctx)
	if n := len(candidateLines(offer.SDP)); n != 0 {
		t.Errorf("offer over the limit still carries %d candidates", n)
	}
	if s, _ := canTrickle(offer.SDP); !s {
		t.Errorf("offer without its candidates does not announce trickle")
	}
	pc := newHandPC(t, csdkH264, opus)
	track, err := webrtc.NewTrackLocalStaticSample(csdkH264.RTPCodecCapability, "video", "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	h.answer(ctx, pc, from, offer, early, nil)
	h.sendClip(ctx, track, media.CodecH264)
	if err := <-errc; err != nil {
		t.Fatalf("viewer: %v (stats %+v)", err, vw.Stats().Video)
	}
	if l := log.String(); !strings.Contains(l, "over the signaling payload limit") {
		t.Errorf("no warning about the fallback to trickle:\n%s", l)
	}
}
