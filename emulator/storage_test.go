package emulator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// ingestFixture is a channel with media storage ENABLED into a stream.
type ingestFixture struct {
	e              *emulator.Emulator
	arn, streamARN string
	webrtc, wss    string // endpoints
}

func newIngestFixture(t *testing.T, opts emulator.Options) *ingestFixture {
	t.Helper()
	e := emulatortest.Start(t, opts)
	c := newClient(e)
	ctx := context.Background()
	f := &ingestFixture{e: e, arn: createChannel(t, c, "ingest"), streamARN: createStream(t, c, "ingest-stream", 1)}
	if _, err := c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &f.arn,
		MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusEnabled, StreamARN: &f.streamARN}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &f.arn,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWebrtc, types.ChannelProtocolWss}, Role: types.ChannelRoleMaster}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range out.ResourceEndpointList {
		switch ep.Protocol {
		case types.ChannelProtocolWebrtc:
			f.webrtc = aws.ToString(ep.ResourceEndpoint)
		case types.ChannelProtocolWss:
			f.wss = aws.ToString(ep.ResourceEndpoint)
		}
	}
	return f
}

func (f *ingestFixture) join(t *testing.T, body string) (status int, code string) {
	t.Helper()
	status, h, data := signedPost(t, f.e, strings.TrimPrefix(f.webrtc, f.e.URL())+"/joinStorageSession", []byte(body), nil)
	if status != 200 {
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil || m["message"] == "" {
			t.Errorf("error body %q: want {\"message\":…} (lowercase, BC-STO)", data)
		}
		return status, strings.SplitN(h.Get("X-Amzn-ErrorType"), ":", 2)[0]
	}
	if len(data) != 0 {
		t.Errorf("JoinStorageSession answered %q: want an empty body", data)
	}
	return status, ""
}

// The storage service's REST errors (BC-STO shapes).
func TestJoinStorageSessionErrors(t *testing.T) {
	f := newIngestFixture(t, emulator.Options{})
	c := newClient(f.e)
	other := createChannel(t, c, "not-ingesting")
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"no channel", `{}`, 400, "InvalidArgumentException"},
		{"capitalised member", `{"ChannelARN":"` + f.arn + `"}`, 400, "InvalidArgumentException"},
		{"bad ARN", `{"channelArn":"arn:aws:kinesisvideo:us-west-2:1:nope"}`, 400, "InvalidArgumentException"},
		{"unknown channel", `{"channelArn":"` + strings.Replace(f.arn, "/ingest/", "/gone/", 1) + `"}`, 404, "ResourceNotFoundException"},
		{"other channel on this endpoint", `{"channelArn":"` + other + `"}`, 404, "ResourceNotFoundException"},
		{"no master yet", `{"channelArn":"` + f.arn + `"}`, 200, ""},
	}
	for _, tc := range cases {
		if status, code := f.join(t, tc.body); status != tc.status || code != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, status, code, tc.status, tc.code)
		}
	}
	// With no master on the WSS the session waits for one briefly, then
	// ends without an offer.
	deadline := time.Now().Add(10 * time.Second)
	for len(f.e.StorageSessions(f.arn)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // bounded poll
	}
	if n := len(f.e.StorageSessions(f.arn)); n != 0 {
		t.Errorf("a join with no master left %d sessions", n)
	}
	// Media storage DISABLED: the WEBRTC endpoint no longer takes the channel.
	if _, err := c.UpdateMediaStorageConfiguration(context.Background(), &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: &f.arn,
		MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusDisabled}}); err != nil {
		t.Fatal(err)
	}
	if status, code := f.join(t, `{"channelArn":"`+f.arn+`"}`); status != 400 || code != "InvalidArgumentException" {
		t.Errorf("storage disabled: got %d %s", status, code)
	}
}

// clipFrames reads the repository's demo clips (media/clips): H.264 access
// units at 30 fps and 20 ms Opus packets.
func clipFrames(t *testing.T) (video, audio [][]byte) {
	t.Helper()
	fh, err := os.Open("../media/clips/demo.h264")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	hr, err := h264reader.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var au []byte
	slice := false
	for {
		nal, err := hr.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		typ := nal.UnitType
		if slice && (typ == h264reader.NalUnitTypeSPS || typ == h264reader.NalUnitTypeCodedSliceIdr || typ == h264reader.NalUnitTypeCodedSliceNonIdr) {
			video, au, slice = append(video, au), nil, false
		}
		au = append(append(au, 0, 0, 0, 1), nal.Data...)
		slice = slice || typ == h264reader.NalUnitTypeCodedSliceIdr || typ == h264reader.NalUnitTypeCodedSliceNonIdr
	}
	video = append(video, au)
	oh, err := os.Open("../media/clips/demo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	defer oh.Close()
	or, _, err := oggreader.NewWith(oh)
	if err != nil {
		t.Fatal(err)
	}
	for {
		page, hdr, err := or.ParseNextPage()
		if err != nil {
			break
		}
		if hdr.GranulePosition > 0 {
			audio = append(audio, page)
		}
	}
	return video, audio
}

type wsFrame struct {
	MessageType    string  `json:"messageType"`
	MessagePayload string  `json:"messagePayload"`
	SenderClientID *string `json:"senderClientId"`
}

// cMaster is a master built to behave as the C SDK's in storage mode
// (samples/Common.c, src/source/Signaling): it answers the storage offer
// with the offer's (possibly empty) sender as RecipientClientId, in the
// C SDK's capitalised keys, with complete SDP.
type cMaster struct {
	t         *testing.T
	conn      *websocket.Conn
	pc        *webrtc.PeerConnection
	connected chan struct{}
}

func newCMaster(t *testing.T, f *ingestFixture) *cMaster {
	c, _, err := dialWSS(context.Background(), f.e, presign(t, f.e, f.wss, presignOpts{arn: f.arn}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &cMaster{t: t, conn: c}
}

func loopbackAPI() *webrtc.API {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// answer waits for the storage offer and answers it; then it adds the
// storage peer's candidates as they come, until the socket closes.
func (m *cMaster) answer(ctx context.Context, wg *sync.WaitGroup, video, audio *webrtc.TrackLocalStaticSample) (sender *string) {
	t := m.t
	var offer wsFrame
	for offer.MessageType != "SDP_OFFER" {
		_, data, err := m.conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the storage offer: %v", err)
		}
		offer = wsFrame{}
		_ = json.Unmarshal(data, &offer)
	}
	var sd webrtc.SessionDescription
	b, _ := base64.StdEncoding.DecodeString(offer.MessagePayload)
	if err := json.Unmarshal(b, &sd); err != nil || sd.Type != webrtc.SDPTypeOffer {
		t.Fatalf("offer payload %s: %v", b, err)
	}
	if !strings.Contains(sd.SDP, "H264") || !strings.Contains(sd.SDP, "opus") || !strings.Contains(sd.SDP, "a=recvonly") {
		t.Fatalf("the storage offer must receive H.264 and Opus:\n%s", sd.SDP)
	}
	pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	m.pc = pc
	t.Cleanup(func() { pc.Close() })
	for _, tr := range []*webrtc.TrackLocalStaticSample{video, audio} {
		if _, err := pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	m.connected = connected
	if err := pc.SetRemoteDescription(sd); err != nil {
		t.Fatal(err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	<-gathered
	js, _ := json.Marshal(pc.LocalDescription())
	recipient := ""
	if offer.SenderClientID != nil {
		recipient = *offer.SenderClientID
	}
	frame := `{"action":"SDP_ANSWER","RecipientClientId":"` + recipient + `","MessagePayload":"` + base64.StdEncoding.EncodeToString(js) + `"}`
	if err := m.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, data, err := m.conn.Read(ctx)
			if err != nil {
				return
			}
			var f wsFrame
			if json.Unmarshal(data, &f) != nil || f.MessageType != "ICE_CANDIDATE" {
				continue
			}
			var c webrtc.ICECandidateInit
			b, _ := base64.StdEncoding.DecodeString(f.MessagePayload)
			if json.Unmarshal(b, &c) == nil {
				_ = pc.AddICECandidate(c)
			}
		}
	}()
	return offer.SenderClientID
}

// stream writes the clips to the tracks at real time until ctx ends or the
// clip does.
func stream(ctx context.Context, video, audio *webrtc.TrackLocalStaticSample, vf, af [][]byte) {
	start := time.Now()
	vi, ai := 0, 0
	for vi < len(vf) && ai < len(af) {
		vt := time.Duration(vi) * time.Second / 30
		at := time.Duration(ai) * 20 * time.Millisecond
		next := min(vt, at)
		timer := time.NewTimer(time.Until(start.Add(next)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if vt <= at {
			_ = video.WriteSample(media.Sample{Data: vf[vi], Duration: time.Second / 30})
			vi++
		} else {
			_ = audio.WriteSample(media.Sample{Data: af[ai], Duration: 20 * time.Millisecond})
			ai++
		}
	}
}

// A master modelled on the C SDK joins, is offered a storage session over
// its WSS, answers with an empty recipient, and its media is stored: the
// export decodes cleanly and lasts as long as the media sent.
func TestStorageSessionRecords(t *testing.T) {
	for _, empty := range []bool{true, false} {
		t.Run("EmptySenderID="+strconv.FormatBool(empty), func(t *testing.T) {
			f := newIngestFixture(t, emulator.Options{Storage: emulator.StorageOptions{EmptySenderID: empty, FragmentDuration: time.Second}})
			m := newCMaster(t, f)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if status, code := f.join(t, `{"channelArn":"`+f.arn+`"}`); status != 200 {
				t.Fatalf("join: %d %s", status, code)
			}
			video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "master")
			audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "master")
			var wg sync.WaitGroup
			defer wg.Wait()
			defer m.conn.CloseNow()
			sender := m.answer(ctx, &wg, video, audio)
			if empty != (sender == nil) {
				t.Errorf("EmptySenderID %v: offer sender %v", empty, sender)
			}
			vf, af := clipFrames(t)
			select {
			case <-m.connected:
			case <-ctx.Done():
				t.Fatal("the storage peer connection did not come up")
			}
			sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
			stream(sctx, video, audio, vf, af)
			scancel()
			sessions := f.e.StorageSessions(f.arn)
			if len(sessions) != 1 || !sessions[0].Recording || sessions[0].VideoFrames < 60 || sessions[0].AudioFrames < 100 {
				t.Fatalf("after 3 s of media: %+v", sessions)
			}
			if !f.e.EndStorageSession(f.arn) {
				t.Fatal("EndStorageSession found no session")
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(f.e.StorageSessions(f.arn)) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // bounded poll: the session's goroutine finishes its file
			}
			stored, err := f.e.StoredMedia()
			if err != nil || len(stored) != 1 || stored[0].Name != "ingest-stream" || len(stored[0].Fragments) < 2 {
				t.Fatalf("stored media: %v %+v", err, stored)
			}
			out := filepath.Join(t.TempDir(), "export.mkv")
			fh, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			res, err := stored[0].Export(fh, time.Time{}, time.Time{})
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			if d := probeDuration(t, out); d < 2.4 || d > 3.3 {
				t.Fatalf("export lasts %.2f s, want about 3 (%+v)", d, res)
			}
		})
	}
}

// probeDuration runs ffprobe and ffmpeg on path: any message fails t.
func probeDuration(t *testing.T, path string) float64 {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not found: run ./test.sh, which installs ffmpeg")
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	if dec, err := exec.CommandContext(t.Context(), "ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(dec) > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, dec)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q", out)
	}
	return d
}

// A storage viewer (JoinStorageSessionAsViewer) is offered the recording
// session's media over its WSS and receives the master's video and audio.
func TestStorageViewerWatches(t *testing.T) {
	f := newIngestFixture(t, emulator.Options{})
	m := newCMaster(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer m.conn.CloseNow()
	if status, code := f.join(t, `{"channelArn":"`+f.arn+`"}`); status != 200 {
		t.Fatalf("join: %d %s", status, code)
	}
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "master")
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "master")
	m.answer(ctx, &wg, video, audio)
	select {
	case <-m.connected:
	case <-ctx.Done():
		t.Fatal("the storage session did not connect")
	}
	vf, af := clipFrames(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		stream(ctx, video, audio, vf, af)
	}()

	vc, _, err := dialWSS(ctx, f.e, presign(t, f.e, wssEndpoint(t, f.e, f.arn, types.ChannelRoleViewer), presignOpts{arn: f.arn, clientID: "watcher"}))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.CloseNow()
	status, _, body := signedPost(t, f.e, strings.TrimPrefix(f.webrtc, f.e.URL())+"/joinStorageSessionAsViewer", []byte(`{"channelArn":"`+f.arn+`","clientId":"watcher"}`), nil)
	if status != 200 {
		t.Fatalf("JoinStorageSessionAsViewer: %d %s", status, body)
	}
	var offer wsFrame
	for offer.MessageType != "SDP_OFFER" {
		_, data, err := vc.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the viewer's storage offer: %v", err)
		}
		offer = wsFrame{}
		_ = json.Unmarshal(data, &offer)
	}
	var sd webrtc.SessionDescription
	b, _ := base64.StdEncoding.DecodeString(offer.MessagePayload)
	if err := json.Unmarshal(b, &sd); err != nil {
		t.Fatal(err)
	}
	pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan webrtc.RTPCodecType, 2)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				if n == 20 {
					got <- tr.Kind()
				}
			}
		}()
	})
	if err := pc.SetRemoteDescription(sd); err != nil {
		t.Fatal(err)
	}
	ans, _ := pc.CreateAnswer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	<-gathered
	js, _ := json.Marshal(pc.LocalDescription())
	// As the JS SDK's viewer sends it: lowercase keys, no recipient.
	if err := vc.Write(ctx, websocket.MessageText, []byte(`{"action":"SDP_ANSWER","messagePayload":"`+base64.StdEncoding.EncodeToString(js)+`"}`)); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, data, err := vc.Read(ctx)
			if err != nil {
				return
			}
			var fr wsFrame
			if json.Unmarshal(data, &fr) == nil && fr.MessageType == "ICE_CANDIDATE" {
				var c webrtc.ICECandidateInit
				b, _ := base64.StdEncoding.DecodeString(fr.MessagePayload)
				if json.Unmarshal(b, &c) == nil {
					_ = pc.AddICECandidate(c)
				}
			}
		}
	}()
	kinds := map[webrtc.RTPCodecType]bool{}
	for len(kinds) < 2 {
		select {
		case k := <-got:
			kinds[k] = true
		case <-ctx.Done():
			t.Fatalf("the storage viewer received only %v", kinds)
		}
	}
}
