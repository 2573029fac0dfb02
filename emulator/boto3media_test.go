package emulator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
	"github.com/kvsrtc/kvsrtc/internal/pyrun"
)

type payload struct {
	ContentType string
	Payload     []byte
}

// Stored media read back with the unmodified boto3 clients
// (kinesis-video-media, kinesis-video-archived-media) on the endpoint
// GetDataEndpoint returns: GetMedia's chunks decode and carry the
// fragments' tags, GetClip's MP4 lasts the range, errors are the modeled
// exception classes.
func TestBoto3ReadsStoredMedia(t *testing.T) {
	if err := pyrun.Check(); err != nil {
		t.Fatal(err)
	}
	denied := emulator.Credential{AccessKeyID: "AKIDPYMEDIADENIED", SecretAccessKey: "py-media-denied-secret", Actions: []string{"kinesisvideo:GetDataEndpoint"}}
	f := newMediaFixture(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, denied}})
	createStream(t, f.c, "no-retention", 0)
	r := runPy(t, pyEnv(f.e, f.e.Credential()), "media", map[string]any{"stream": "cam", "start": f.secs(0), "end": f.secs(10 * time.Second)})

	var ep struct{ DataEndpoint string }
	wantOK(t, r, "endpoint_media", &ep)
	if ep.DataEndpoint != f.e.URL()+f.endpoint {
		t.Errorf("GET_MEDIA endpoint %q, want %s", ep.DataEndpoint, f.e.URL()+f.endpoint)
	}
	wantError(t, r, "endpoint_missing", "ResourceNotFoundException", 404)

	var earliest payload
	wantOK(t, r, "earliest", &earliest)
	if nums := chunkNumbers(earliest.Payload); earliest.ContentType != "video/webm" || len(nums) != 5 {
		t.Fatalf("GetMedia EARLIEST: %s, chunks %v", earliest.ContentType, nums)
	}
	merged, err := mkv.MergeChunks(earliest.Payload)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "getmedia.mkv")
	if err := os.WriteFile(path, merged, 0o644); err != nil {
		t.Fatal(err)
	}
	if first, last, n := probeVideo(t, path); n != 150 || last-first < 4.9 || last-first > 5 {
		t.Errorf("GetMedia through boto3: %d frames over %.3f s", n, last-first)
	}
	var later payload
	wantOK(t, r, "from_time", &later)
	if nums := chunkNumbers(later.Payload); len(nums) != 2 {
		t.Errorf("GetMedia from 3.5 s: chunks %v, want the fragments of 3 and 4 s", nums)
	}
	wantError(t, r, "media_missing", "ResourceNotFoundException", 404)
	wantError(t, r, "media_bad", "InvalidArgumentException", 400)

	var list struct {
		Fragments []struct {
			FragmentNumber                     string
			ServerTimestamp, ProducerTimestamp string // botocore's datetimes, ISO 8601
		}
	}
	wantOK(t, r, "list", &list)
	if len(list.Fragments) != 5 {
		t.Fatalf("ListFragments: %+v", list)
	}
	if ts, err := time.Parse(time.RFC3339Nano, list.Fragments[0].ServerTimestamp); err != nil || !ts.Equal(f.start) {
		t.Errorf("first fragment's ServerTimestamp %q (%v), want %v", list.Fragments[0].ServerTimestamp, err, f.start)
	}
	var two payload
	wantOK(t, r, "for_list", &two)
	if nums := chunkNumbers(two.Payload); len(nums) != 2 {
		t.Errorf("GetMediaForFragmentList: chunks %v", nums)
	}

	var clip payload
	wantOK(t, r, "clip", &clip)
	if clip.ContentType != "video/mp4" {
		t.Errorf("GetClip Content-Type %q", clip.ContentType)
	}
	mp4 := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(mp4, clip.Payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := probeMP4(t, mp4).duration(); d < 4.5 || d > 5.5 {
		t.Errorf("GetClip through boto3 lasts %.3f s, want 5 ±10%%", d)
	}
	wantError(t, r, "clip_empty", "ResourceNotFoundException", 404)
	wantError(t, r, "clip_no_retention", "NoDataRetentionException", 400)
	wantError(t, r, "clip_backwards", "InvalidArgumentException", 400)

	// A credential without kinesisvideo:GetMedia: the media model's
	// NotAuthorizedException (401) with IAM's message.
	env := pyEnv(f.e, denied)
	env.Endpoint = ep.DataEndpoint
	res, err := pyrun.Call(t.Context(), env, "kinesis-video-media", "GetMedia", map[string]any{"StreamName": "cam", "StartSelector": map[string]string{"StartSelectorType": "EARLIEST"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Class != "NotAuthorizedException" || res.HTTPStatusCode != 401 || !strings.Contains(res.Message, "kinesisvideo:GetMedia") {
		t.Errorf("GetMedia without the action: %v", res)
	}
}

// The AWS CLI commands the README shows write the stored media to files.
func TestAWSCLIReadsStoredMedia(t *testing.T) {
	if err := pyrun.CheckCLI(); err != nil {
		t.Fatal(err)
	}
	f := newMediaFixture(t, emulator.Options{})
	env := pyEnv(f.e, f.e.Credential())
	env.Endpoint = f.e.URL() + f.endpoint
	dir := t.TempDir()
	from, to := f.start.UTC().Format(time.RFC3339), f.start.Add(10*time.Second).UTC().Format(time.RFC3339)
	for _, args := range [][]string{
		{"kinesis-video-media", "get-media", "--stream-name", "cam", "--start-selector", "StartSelectorType=EARLIEST", filepath.Join(dir, "cam.mkv")},
		{"kinesis-video-archived-media", "get-clip", "--stream-name", "cam", "--clip-fragment-selector",
			"FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=" + from + ",EndTimestamp=" + to + "}", filepath.Join(dir, "cam.mp4")},
	} {
		r, err := pyrun.CLI(t.Context(), env, args...)
		if err != nil || r.ExitCode != 0 {
			t.Fatalf("aws %s: %v %v", args[1], r, err)
		}
	}
	r, err := pyrun.CLI(t.Context(), env, "kinesis-video-archived-media", "list-fragments", "--stream-name", "cam")
	var list struct {
		Fragments []struct{ FragmentNumber string }
	}
	if err != nil || r.ExitCode != 0 || r.Decode(&list) != nil || len(list.Fragments) != 5 {
		t.Errorf("aws list-fragments: %v %v", r, err)
	}
	stream, err := os.ReadFile(filepath.Join(dir, "cam.mkv"))
	if err != nil {
		t.Fatal(err)
	}
	if nums := chunkNumbers(stream); len(nums) != 5 {
		t.Errorf("get-media wrote %d chunks", len(nums))
	}
	if d := probeMP4(t, filepath.Join(dir, "cam.mp4")).duration(); d < 4.5 || d > 5.5 {
		t.Errorf("get-clip wrote %.3f s", d)
	}
}
