package emulator_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
)

// The whole path: a master (built as the C SDK's, storage_test.go) streams
// into a storage session while a GetMedia NOW is open; the GetMedia stream
// carries the fragments live as the storage peer stores them, and GetClip
// then returns them as an MP4 of the same length.
func TestGetMediaLiveFromStorageSession(t *testing.T) {
	f := newIngestFixture(t, emulator.Options{Storage: emulator.StorageOptions{FragmentDuration: time.Second},
		Media: emulator.MediaOptions{GetMediaIdle: 5 * time.Second}})
	m := newCMaster(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if status, code := f.join(t, `{"channelArn":"`+f.arn+`"}`); status != 200 {
		t.Fatalf("join: %d %s", status, code)
	}
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "master")
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "master")
	var wg sync.WaitGroup
	defer wg.Wait()
	defer m.conn.CloseNow()
	m.answer(ctx, &wg, video, audio)
	select {
	case <-m.connected:
	case <-ctx.Done():
		t.Fatal("the storage peer connection did not come up")
	}

	out, err := newClient(f.e, noRetry).GetDataEndpoint(ctx, &kinesisvideo.GetDataEndpointInput{StreamARN: aws.String(f.streamARN), APIName: types.APINameGetMedia})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := url.Parse(aws.ToString(out.DataEndpoint))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"StreamARN":"` + f.streamARN + `","StartSelector":{"StartSelectorType":"NOW"}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.e.URL()+ep.Path+"/getMedia", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(t, f.e, req, []byte(body))
	resp, err := emulatortest.HTTPClient(f.e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GetMedia NOW: %d", resp.StatusCode)
	}

	vf, af := clipFrames(t)
	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	stream(sctx, video, audio, vf, af)
	scancel()
	if !f.e.EndStorageSession(f.arn) {
		t.Fatal("EndStorageSession found no session")
	}
	live, err := io.ReadAll(resp.Body) // ends GetMediaIdle after the last fragment
	if err != nil {
		t.Fatal(err)
	}
	nums := chunkNumbers(live)
	if len(nums) < 2 {
		t.Fatalf("GetMedia NOW during the session: %d chunks", len(nums))
	}
	merged, err := mkv.MergeChunks(live)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "live.mkv")
	if err := os.WriteFile(path, merged, 0o644); err != nil {
		t.Fatal(err)
	}
	first, last, frames := probeVideo(t, path)
	if d := last - first; d < 2.2 || d > 3.3 || frames < 60 {
		t.Errorf("live GetMedia: %d frames over %.2f s, want about 3 s", frames, d)
	}

	fromS, toS := first-1, last+1
	status, h, mp4 := signedPost(t, f.e, ep.Path+"/getClip", []byte(`{"StreamARN":"`+f.streamARN+`","ClipFragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":`+
		epochJSON(fromS)+`,"EndTimestamp":`+epochJSON(toS)+`}}}`), nil)
	if status != 200 || h.Get("Content-Type") != "video/mp4" {
		t.Fatalf("GetClip: %d %.200s", status, mp4)
	}
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(clip, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	if d, want := probeMP4(t, clip).duration(), last-first; d < want*0.9 || d > want*1.1+0.1 {
		t.Errorf("GetClip lasts %.2f s, GetMedia's video %.2f s", d, want)
	}
}

func epochJSON(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
