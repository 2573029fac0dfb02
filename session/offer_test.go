package session_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// csdkH264 is the one H.264 format a C SDK sample master supports
// (RTC_CODEC_H264_PROFILE_42E01F_LEVEL_ASYMMETRY_ALLOWED_PACKETIZATION_MODE,
// samples/kvsWebRTCClientMaster.c), at its default payload type.
var csdkH264 = webrtc.RTPCodecParameters{PayloadType: 125, RTPCodecCapability: webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}

var opus = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}

// runViewer starts a viewer that stops after n video frames; its Run error
// arrives on the channel.
func runViewer(t *testing.T, ctx context.Context, v *env, id string, n int, optFns ...func(*session.ViewerOptions)) (*session.Viewer, <-chan error) {
	t.Helper()
	vw, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: id, VideoFrames: n}, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vw.Close() })
	errc := make(chan error, 1)
	go func() { errc <- vw.Run(ctx) }()
	return vw, errc
}

// TestViewerOfferMeetsCSDKMaster plays a C SDK sample master (H.264
// 42e01f and Opus only) against a kvsrtc viewer. That master answers at
// once only if the offer announces trickle ICE (canTrickle, as
// PeerConnection.c tests it; otherwise it waits for complete gathering,
// 10 s), so the test answers only such an offer. The viewer's offer must
// also list H.264 before VP8 in its video m-line: the JS sample page's
// default codec filter and most devices want H.264.
func TestViewerOfferMeetsCSDKMaster(t *testing.T) {
	v := newEnv(t, "csdk-master")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := dialHandMaster(t, ctx, v)
	vw, errc := runViewer(t, ctx, v, "v-csdk", 30)

	from, offer, early := h.offer(ctx)
	if session, anywhere := canTrickle(offer.SDP); !session || !anywhere {
		t.Fatalf("the offer does not announce trickle at session level (session %v, anywhere %v): a C SDK master would wait 10 s for complete gathering:\n%s",
			session, anywhere, offer.SDP)
	}
	if got := firstFormat(offer.SDP, "video"); got != "H264" {
		t.Errorf("the offer's first video format is %q, want H264", got)
	}
	if got := firstFormat(offer.SDP, "audio"); got != "opus" {
		t.Errorf("the offer's first audio format is %q, want opus", got)
	}
	for _, unwanted := range []string{"VP9/", "AV1/", "H265/", "PCMU/", "G722/"} {
		if strings.Contains(offer.SDP, unwanted) {
			t.Errorf("the offer lists %s, which the viewer cannot decode", strings.TrimSuffix(unwanted, "/"))
		}
	}
	pc := newHandPC(t, csdkH264, opus)
	track, err := webrtc.NewTrackLocalStaticSample(csdkH264.RTPCodecCapability, "video", "csdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	h.answer(ctx, pc, from, offer, early, nil)
	h.sendClip(ctx, track, media.CodecH264)
	if err := <-errc; err != nil {
		t.Fatalf("viewer: %v", err)
	}
	if s := vw.Stats(); s.Video.Codec != "h264" || s.Video.Frames < 30 {
		t.Errorf("viewer stats %+v, want 30 H.264 frames", s.Video)
	}
}

// answerAsH264 rewrites a VP8-only answer so that its video m-line names
// the offer's first H.264 format instead: what Chromium did as a master with
// an H.264-only codec preference (it answered H.264 and sent VP8 on PT 96).
func answerAsH264(t *testing.T, answer, offer string) string {
	t.Helper()
	var pt, rtpmap, fmtp string
	for _, l := range strings.Split(offer, "\r\n") {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && pt == "" && strings.Contains(rest, " H264/") {
			pt, _, _ = strings.Cut(rest, " ")
			rtpmap = l
		}
		if pt != "" && strings.HasPrefix(l, "a=fmtp:"+pt+" ") {
			fmtp = l
		}
	}
	if pt == "" {
		t.Fatal("the offer has no H.264")
	}
	var out []string
	for _, l := range strings.Split(answer, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m=video "):
			f := strings.Fields(l)
			l = strings.Join(append(f[:3:3], pt), " ")
			out = append(out, l)
		case strings.HasPrefix(l, "a=rtpmap:96 "):
			out = append(out, rtpmap, fmtp)
		case strings.HasPrefix(l, "a=fmtp:96 "), strings.HasPrefix(l, "a=rtcp-fb:96 "):
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// TestViewerDecodesUnansweredPT: a master answers H.264 only and sends VP8
// on payload type 96, which the viewer's offer listed as VP8. The viewer
// decodes by the offer's payload types, so it records a VP8 WebM that
// ffmpeg decodes. pion alone drops such a stream (no OnTrack: "Could not
// determine PayloadType").
func TestViewerDecodesUnansweredPT(t *testing.T) {
	v := newEnv(t, "unanswered-pt")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := dialHandMaster(t, ctx, v)
	path := filepath.Join(t.TempDir(), "rec.webm")
	rec, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	vw, errc := runViewer(t, ctx, v, "v-pt", 30, func(o *session.ViewerOptions) { o.Record = rec })

	from, offer, early := h.offer(ctx)
	vp8 := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	pc := newHandPC(t, vp8)
	track, err := webrtc.NewTrackLocalStaticSample(vp8.RTPCodecCapability, "video", "chromium")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	var answer string
	h.answer(ctx, pc, from, offer, early, func(s string) string {
		answer = answerAsH264(t, s, offer.SDP)
		return answer
	})
	if got := firstFormat(answer, "video"); got != "H264" {
		t.Fatalf("the rewritten answer sends %s:\n%s", got, answer)
	}
	h.sendClip(ctx, track, media.CodecVP8)
	if err := <-errc; err != nil {
		t.Fatalf("viewer: %v (stats %+v)", err, vw.Stats().Video)
	}
	if s := vw.Stats(); s.Video.Codec != "vp8" || s.Video.Frames < 30 {
		t.Errorf("viewer stats %+v, want 30 VP8 frames", s.Video)
	}
	if got := vw.Recording(); got != "webm" {
		t.Errorf("recording is %q, want webm (VP8)", got)
	}
	rec.Close()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "vp8" {
		t.Errorf("ffprobe: %v: %q, want vp8", err, out)
	}
	if dec, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(strings.TrimSpace(string(dec))) > 0 {
		t.Errorf("ffmpeg decode: %v\n%s", err, dec)
	}
}
