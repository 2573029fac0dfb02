package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/session"
)

// lockedBuffer is a bytes.Buffer for a logger written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mediaLine returns the answer's m-section of kind.
func mediaLine(t *testing.T, s, kind string) *sdp.MediaDescription {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media == kind {
			return md
		}
	}
	t.Fatalf("no %s m-line in\n%s", kind, s)
	return nil
}

// TestMasterAnswersOfferedH264Profile: a viewer that offers H.264 only as
// baseline 42001f (aiortc's default) gets the master's constrained-baseline
// stream labelled as it offered it: the answer keeps the offer's payload
// type and profile-level-id (RFC 6184 §8.2.2), and packets flow.
func TestMasterAnswersOfferedH264Profile(t *testing.T) {
	v := newEnv(t, "profile")
	liveMaster(t, v)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := newHandPC(t, webrtc.RTPCodecParameters{PayloadType: 99, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}}, opus)
	recvonly(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	h := connectHandViewer(t, ctx, v, "aiortc", pc)
	md := mediaLine(t, h.answer, "video")
	if got := strings.Join(md.MediaName.Formats, " "); got != "99" {
		t.Fatalf("answer's video formats %q, want 99:\n%s", got, h.answer)
	}
	fmtp, _ := md.Attribute("fmtp")
	if !strings.Contains(fmtp, "profile-level-id=4200") || !strings.Contains(fmtp, "packetization-mode=1") {
		t.Errorf("answer's fmtp %q, want the offered profile 4200xx, packetization-mode=1", fmtp)
	}
	waitFor(t, 15*time.Second, "video packets", func() bool { return h.packets["video"].Load() >= 50 })
}

// TestMasterSaysNoCodecFits: a VP8-only viewer of an H.264 master gets an
// answer whose video is inactive, with audio flowing, rather than no
// answer; the master logs a warning naming the viewer and what it
// offered, and its OnPeer event carries the mismatch.
func TestMasterSaysNoCodecFits(t *testing.T) {
	v := newEnv(t, "nofit")
	var log lockedBuffer
	events := make(chan session.PeerEvent, 4)
	liveMaster(t, v, func(o *session.MasterOptions) {
		o.Logger = slog.New(slog.NewTextHandler(&log, nil))
		o.OnPeer = func(ev session.PeerEvent) {
			if ev.Joined {
				events <- ev
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := newHandPC(t, webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}, opus)
	recvonly(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	h := connectHandViewer(t, ctx, v, "vp8-only", pc)
	md := mediaLine(t, h.answer, "video")
	if md.MediaName.Port.Value != 0 {
		if _, inactive := md.Attribute("inactive"); !inactive {
			t.Errorf("answer's video is not inactive or rejected:\n%s", h.answer)
		}
	}
	if _, sends := mediaLine(t, h.answer, "audio").Attribute("sendonly"); !sends {
		t.Errorf("answer does not send audio:\n%s", h.answer)
	}
	waitFor(t, 15*time.Second, "audio packets", func() bool { return h.packets["audio"].Load() >= 20 })
	ev := <-events
	if len(ev.Mismatches) != 1 || ev.Mismatches[0].Kind != "video" || !strings.HasPrefix(ev.Mismatches[0].Source, "H264") ||
		len(ev.Mismatches[0].Offered) != 1 || ev.Mismatches[0].Offered[0] != "VP8/96" {
		t.Errorf("joined event mismatches %+v, want video: H264 source, VP8/96 offered", ev.Mismatches)
	}
	if l := log.String(); !strings.Contains(l, "viewer=vp8-only") || !strings.Contains(l, "VP8/96") || !strings.Contains(l, "answering without video") {
		t.Errorf("master's log does not say why vp8-only gets no video:\n%s", l)
	}
	if n := h.packets["video"].Load(); n != 0 {
		t.Errorf("%d video packets on an inactive m-line", n)
	}
}

// TestViewerSaysNoCodecFits: a kvsrtc viewer waiting for video frames from
// a master whose H.264 profile (here High 4:4:4, profile-level-id f4001f)
// is none it offered ends at once with ErrNoCommonCodec, naming what it
// offered, instead of waiting for frames that cannot come.
func TestViewerSaysNoCodecFits(t *testing.T) {
	v := newEnv(t, "nofit-viewer")
	liveMaster(t, v, func(o *session.MasterOptions) { o.H264ProfileLevelID = "f4001f" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, errc := runViewer(t, ctx, v, "v-nofit", 10)
	err := <-errc
	if !errors.Is(err, session.ErrNoCommonCodec) || !strings.Contains(err.Error(), "H264, VP8") {
		t.Fatalf("viewer: %v, want ErrNoCommonCodec naming the offered H264, VP8", err)
	}
}
