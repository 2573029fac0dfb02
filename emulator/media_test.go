package emulator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
)

// mediaFixture is a stream with the 5 s demo clip stored as five 1 s
// fragments, as the storage peer writes them (mkv.Recorder), and the
// stream's data endpoint.
type mediaFixture struct {
	e         *emulator.Emulator
	c         *kinesisvideo.Client
	streamARN string
	endpoint  string // data endpoint path, e.g. /s-1a2b3c4d
	start     time.Time
}

func newMediaFixture(t *testing.T, opts emulator.Options) *mediaFixture {
	t.Helper()
	if opts.Media.GetMediaIdle == 0 {
		opts.Media.GetMediaIdle = 300 * time.Millisecond
	}
	e := emulatortest.Start(t, opts)
	f := &mediaFixture{e: e, c: newClient(e, noRetry)}
	f.streamARN = createStream(t, f.c, "cam", 1)
	out, err := f.c.GetDataEndpoint(context.Background(), &kinesisvideo.GetDataEndpointInput{StreamName: aws.String("cam"), APIName: types.APINameGetMedia})
	if err != nil {
		t.Fatal(err)
	}
	ep := aws.ToString(out.DataEndpoint)
	u, err := url.Parse(ep)
	if err != nil || !strings.HasPrefix(ep, e.URL()+"/s-") || len(u.Path) != len("/s-12345678") {
		t.Fatalf("data endpoint %q: want %s/s-<8 hex>", ep, e.URL())
	}
	f.endpoint = u.Path
	f.start = time.Now().Add(-time.Minute).Truncate(time.Second)
	f.record(t, f.start, "one")
	return f
}

// record stores the clip from start as a storage session would.
func (f *mediaFixture) record(t *testing.T, start time.Time, session string) {
	t.Helper()
	video, audio := clipFrames(t)
	r, err := mkv.NewRecorder(mkv.RecorderOptions{Dir: emulator.StreamMediaDir(f.e, f.streamARN), FragmentDuration: time.Second, Session: session})
	if err != nil {
		t.Fatal(err)
	}
	vi, ai := 0, 0
	for vi < len(video) || ai < len(audio) {
		vt := start.Add(time.Duration(vi) * time.Second / 30)
		at := start.Add(time.Duration(ai) * 20 * time.Millisecond)
		if vi < len(video) && (ai >= len(audio) || !vt.After(at)) {
			err = r.WriteVideo(vt, video[vi])
			vi++
		} else {
			err = r.WriteAudio(at, audio[ai])
			ai++
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// post calls op on the data endpoint, signed with the default credential.
func (f *mediaFixture) post(t *testing.T, op string, body any) (int, http.Header, []byte) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return signedPost(t, f.e, f.endpoint+"/"+op, data, nil)
}

var reFragmentNumber = regexp.MustCompile(`91343852333[0-9]{19}`)

// chunkNumbers returns the AWS_KINESISVIDEO_FRAGMENT_NUMBER of each chunk,
// in order (each number appears twice in a chunk: the fragment number and
// the continuation token).
func chunkNumbers(stream []byte) []string {
	var out []string
	for _, part := range bytes.Split(stream, []byte("AWS_KINESISVIDEO_FRAGMENT_NUMBER"))[1:] {
		if m := reFragmentNumber.Find(part); m != nil {
			out = append(out, string(m))
		}
	}
	return out
}

func apiCode(h http.Header) string { return strings.SplitN(h.Get("X-Amzn-ErrorType"), ":", 2)[0] }

// GetMedia EARLIEST returns every stored fragment as a chunk with the
// service's tags; ffmpeg reads every frame, and the chunks merged as AWS's
// parser library merges them decode without a message.
func TestGetMediaEarliest(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	status, h, body := f.post(t, "getMedia", map[string]any{"StreamARN": f.streamARN, "StartSelector": map[string]string{"StartSelectorType": "EARLIEST"}})
	if status != 200 || h.Get("Content-Type") != "video/webm" {
		t.Fatalf("GetMedia: %d %s %s", status, h.Get("Content-Type"), body)
	}
	nums := chunkNumbers(body)
	if len(nums) != 5 {
		t.Fatalf("%d chunks (%v): want the 5 fragments", len(nums), nums)
	}
	for i := 1; i < len(nums); i++ {
		if nums[i] <= nums[i-1] {
			t.Errorf("fragment numbers not increasing: %v", nums)
		}
	}
	for _, tag := range []string{"AWS_KINESISVIDEO_SERVER_TIMESTAMP", "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "AWS_KINESISVIDEO_CONTINUATION_TOKEN"} {
		if n := bytes.Count(body, []byte(tag)); n != 5 {
			t.Errorf("%s in %d chunks, want 5", tag, n)
		}
	}
	want := strconv.FormatFloat(float64(f.start.UnixMilli())/1000, 'f', 3, 64)
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("no server timestamp %s (the first fragment's start) in the stream", want)
	}
	merged, err := mkv.MergeChunks(body)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "merged.mkv")
	if err := os.WriteFile(path, merged, 0o644); err != nil {
		t.Fatal(err)
	}
	first, last, n := probeVideo(t, path)
	if n != 150 || last-first < 4.9 || last-first > 5 || first != float64(f.start.Unix()) {
		t.Errorf("merged GetMedia stream: %d video frames from %.3f to %.3f s; want 150 over 5 s from the producer time %d", n, first, last, f.start.Unix())
	}
}

// probeVideo returns the first and last video packet times of path and
// their count; any message of ffprobe, or of ffmpeg decoding every frame,
// fails t.
func probeVideo(t *testing.T, path string) (first, last float64, n int) {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	if dec, err := exec.CommandContext(t.Context(), "ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(dec) > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, dec)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatal("no video packets")
	}
	first, _ = strconv.ParseFloat(lines[0], 64)
	last, _ = strconv.ParseFloat(lines[len(lines)-1], 64)
	return first, last, len(lines)
}

// signRequest signs req (body as given) with the default credential.
func signRequest(t *testing.T, e *emulator.Emulator, req *http.Request, body []byte) {
	t.Helper()
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	c := e.Credential()
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "kinesisvideo", e.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// The start selectors pick where the stream begins.
func TestGetMediaStartSelectors(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	_, _, all := f.post(t, "getMedia", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "EARLIEST"}})
	nums := chunkNumbers(all)
	if len(nums) != 5 {
		t.Fatalf("EARLIEST: %v", nums)
	}
	ts := float64(f.start.Add(2500*time.Millisecond).UnixMilli()) / 1000
	cases := []struct {
		name     string
		selector map[string]any
		want     []string
	}{
		{"fragment number", map[string]any{"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": nums[2]}, nums[2:]},
		{"continuation token", map[string]any{"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": nums[2]}, nums[3:]},
		{"server timestamp inside the third fragment", map[string]any{"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": ts}, nums[2:]},
		{"producer timestamp", map[string]any{"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": ts}, nums[2:]},
		{"now: nothing new", map[string]any{"StartSelectorType": "NOW"}, nil},
	}
	for _, tc := range cases {
		status, _, body := f.post(t, "getMedia", map[string]any{"StreamName": "cam", "StartSelector": tc.selector})
		if got := chunkNumbers(body); status != 200 || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %d, chunks %v, want %v", tc.name, status, got, tc.want)
		}
	}
}

// GetMedia NOW streams the fragments stored after the call, live.
func TestGetMediaNowIsLive(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{Media: emulator.MediaOptions{GetMediaIdle: 2 * time.Second}})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.e.URL()+f.endpoint+"/getMedia",
		strings.NewReader(`{"StreamName":"cam","StartSelector":{"StartSelectorType":"NOW"}}`))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(t, f.e, req, []byte(`{"StreamName":"cam","StartSelector":{"StartSelectorType":"NOW"}}`))
	resp, err := emulatortest.HTTPClient(f.e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GetMedia NOW: %d", resp.StatusCode)
	}
	// The response has begun: the call has chosen where it starts. A
	// second session stores the clip again, later.
	f.record(t, f.start.Add(10*time.Second), "two")
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	nums := chunkNumbers(body)
	if len(nums) != 5 {
		t.Fatalf("NOW: %d chunks %v, want the 5 new fragments", len(nums), nums)
	}
	want := strconv.FormatFloat(float64(f.start.Add(10*time.Second).UnixMilli())/1000, 'f', 3, 64)
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("the first live chunk is not the new session's first fragment (%s)", want)
	}
}

// GetMedia's errors, in the model's shapes.
func TestGetMediaErrors(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no selector", map[string]any{"StreamName": "cam"}, 400, "InvalidArgumentException"},
		{"bad selector type", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "LATEST"}}, 400, "InvalidArgumentException"},
		{"fragment number missing", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "FRAGMENT_NUMBER"}}, 400, "InvalidArgumentException"},
		{"timestamp missing", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "SERVER_TIMESTAMP"}}, 400, "InvalidArgumentException"},
		{"no stream", map[string]any{"StartSelector": map[string]string{"StartSelectorType": "NOW"}}, 400, "InvalidArgumentException"},
		{"both name and ARN", map[string]any{"StreamName": "cam", "StreamARN": f.streamARN, "StartSelector": map[string]string{"StartSelectorType": "NOW"}}, 400, "InvalidArgumentException"},
		{"unknown stream", map[string]any{"StreamName": "gone", "StartSelector": map[string]string{"StartSelectorType": "NOW"}}, 404, "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		status, h, body := f.post(t, "getMedia", tc.body)
		var m map[string]string
		if status != tc.status || apiCode(h) != tc.code || json.Unmarshal(body, &m) != nil || m["Message"] == "" {
			t.Errorf("%s: %d %s %s, want %d %s with a Message", tc.name, status, apiCode(h), body, tc.status, tc.code)
		}
	}
	// A fragment number the stream never had: the stream holds the
	// service's error chunk (error id 4000).
	status, _, body := f.post(t, "getMedia", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "42"}})
	if status != 200 || !bytes.Contains(body, []byte("AWS_KINESISVIDEO_ERROR_ID")) || !bytes.Contains(body, []byte("4000")) {
		t.Errorf("unknown fragment: %d %q", status, body)
	}
	// GetDataEndpoint's own errors through the unmodified SDK.
	_, err := f.c.GetDataEndpoint(context.Background(), &kinesisvideo.GetDataEndpointInput{StreamName: aws.String("gone"), APIName: types.APINameGetClip})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetDataEndpoint of a missing stream: %v", err)
	}
	_, err = f.c.GetDataEndpoint(context.Background(), &kinesisvideo.GetDataEndpointInput{StreamName: aws.String("cam"), APIName: "GET_EVERYTHING"})
	var ia *types.InvalidArgumentException
	if !errors.As(err, &ia) {
		t.Errorf("GetDataEndpoint with a bad APIName: %v", err)
	}
}

// More than TPS calls in a second on one stream: ClientLimitExceededException.
func TestGetMediaTPS(t *testing.T) {
	frozen := time.Now()
	f := newMediaFixture(t, emulator.Options{Clock: func() time.Time { return frozen }, Media: emulator.MediaOptions{TPS: 2}})
	body := map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "42"}}
	for i, want := range []int{200, 200, 400} {
		status, h, _ := f.post(t, "getMedia", body)
		if status != want || (want == 400 && apiCode(h) != "ClientLimitExceededException") {
			t.Errorf("call %d: %d %s, want %d", i+1, status, apiCode(h), want)
		}
	}
}

// The service's host-based endpoint shape is served too: /getMedia on host
// s-<id>.kinesisvideo.<region>.amazonaws.com (a client whose hosts file
// sends that name to the emulator).
func TestGetMediaHostEndpoint(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	body := []byte(`{"StreamName":"cam","StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER","AfterFragmentNumber":"42"}}`)
	for _, tc := range []struct {
		host string
		want int
	}{
		{strings.TrimPrefix(f.endpoint, "/") + ".kinesisvideo.us-west-2.amazonaws.com", 200},
		{"kinesisvideo.us-west-2.amazonaws.com", 404}, // the control plane has no getMedia
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.e.URL()+"/getMedia", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		signRequest(t, f.e, req, body)
		resp, err := emulatortest.HTTPClient(f.e).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && !bytes.Contains(data, []byte("AWS_KINESISVIDEO_ERROR_ID"))) {
			t.Errorf("host %s: %d %.100q, want %d", tc.host, resp.StatusCode, data, tc.want)
		}
	}
}
