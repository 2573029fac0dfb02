package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
)

func (f *mediaFixture) secs(d time.Duration) float64 {
	return float64(f.start.Add(d).UnixMilli()) / 1000
}

func clipSelector(typ string, from, to float64) map[string]any {
	return map[string]any{"FragmentSelectorType": typ, "TimestampRange": map[string]any{"StartTimestamp": from, "EndTimestamp": to}}
}

// GetClip returns an MP4 of the fragments that start in the range, which
// ffprobe and ffmpeg read without a message, lasting what they hold.
func TestGetClip(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	cases := []struct {
		name     string
		from, to time.Duration
		want     float64 // seconds
		frames   string
	}{
		{"all", -time.Second, 10 * time.Second, 5, "150"},
		// The fragments starting at 2 and 3 s: the end is inclusive, and
		// the one that began before 1.5 s is not in.
		{"middle", 1500 * time.Millisecond, 3 * time.Second, 2, "60"},
	}
	for _, tc := range cases {
		status, h, body := f.post(t, "getClip", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(tc.from), f.secs(tc.to))})
		if status != 200 || h.Get("Content-Type") != "video/mp4" {
			t.Fatalf("%s: GetClip %d %s %.200s", tc.name, status, h.Get("Content-Type"), body)
		}
		path := filepath.Join(t.TempDir(), "clip.mp4")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		p := probeMP4(t, path)
		if len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[0].Frames != tc.frames || p.Streams[1].CodecName != "opus" {
			t.Errorf("%s: streams %+v", tc.name, p.Streams)
		}
		if d := p.duration(); d < tc.want*0.9 || d > tc.want*1.1 {
			t.Errorf("%s: clip lasts %.3f s, want %.1f ±10%%", tc.name, d, tc.want)
		}
	}
}

type mp4Probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Frames    string `json:"nb_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func (p mp4Probe) duration() float64 {
	var d float64
	_ = json.Unmarshal([]byte(p.Format.Duration), &d)
	return d
}

// probeMP4 reads path with ffprobe and decodes it with ffmpeg; any message
// fails t.
func probeMP4(t *testing.T, path string) mp4Probe {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_entries", "stream=codec_name,nb_frames:format=duration", "-of", "json", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	if dec, err := exec.CommandContext(t.Context(), "ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(dec) > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, dec)
	}
	var p mp4Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// GetClip's errors, typed as the archived-media model has them.
func TestGetClipErrors(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	createStream(t, f.c, "no-retention", 0)
	if _, err := f.c.GetDataEndpoint(context.Background(), &kinesisvideo.GetDataEndpointInput{StreamName: aws.String("no-retention"), APIName: "GET_CLIP"}); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no selector", map[string]any{"StreamName": "cam"}, 400, "InvalidArgumentException"},
		{"bad selector type", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("ARRIVAL", f.secs(0), f.secs(time.Second))}, 400, "InvalidArgumentException"},
		{"end before start", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(time.Second), f.secs(0))}, 400, "InvalidArgumentException"},
		{"over 24 h", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("PRODUCER_TIMESTAMP", f.secs(0), f.secs(25*time.Hour))}, 400, "InvalidArgumentException"},
		{"server end in the future", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(0), now+3600)}, 400, "InvalidArgumentException"},
		{"nothing in the range", map[string]any{"StreamName": "cam", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(-time.Hour), f.secs(-time.Minute))}, 404, "ResourceNotFoundException"},
		{"unknown stream", map[string]any{"StreamName": "gone", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(0), f.secs(time.Second))}, 404, "ResourceNotFoundException"},
		{"no data retention", map[string]any{"StreamName": "no-retention", "ClipFragmentSelector": clipSelector("SERVER_TIMESTAMP", f.secs(0), f.secs(time.Second))}, 400, "NoDataRetentionException"},
	}
	for _, tc := range cases {
		status, h, body := f.post(t, "getClip", tc.body)
		var m map[string]string
		if status != tc.status || apiCode(h) != tc.code || json.Unmarshal(body, &m) != nil || m["Message"] == "" {
			t.Errorf("%s: %d %s %s, want %d %s with a Message", tc.name, status, apiCode(h), body, tc.status, tc.code)
		}
	}
}

type fragmentList struct {
	Fragments []struct {
		FragmentNumber               string
		FragmentSizeInBytes          int64
		ProducerTimestamp            float64
		ServerTimestamp              float64
		FragmentLengthInMilliseconds int64
	}
	NextToken string
}

// ListFragments pages through the fragments of a range; GetMediaForFragmentList
// returns chunks of the ones named.
func TestListFragmentsAndGetMediaForFragmentList(t *testing.T) {
	f := newMediaFixture(t, emulator.Options{})
	var all fragmentList
	status, _, body := f.post(t, "listFragments", map[string]any{"StreamName": "cam"})
	if status != 200 || json.Unmarshal(body, &all) != nil || len(all.Fragments) != 5 || all.NextToken != "" {
		t.Fatalf("ListFragments: %d %s", status, body)
	}
	for i, fr := range all.Fragments {
		if fr.ServerTimestamp != f.secs(time.Duration(i)*time.Second) || fr.ProducerTimestamp != fr.ServerTimestamp ||
			fr.FragmentSizeInBytes < 1000 || fr.FragmentLengthInMilliseconds < 900 || fr.FragmentLengthInMilliseconds > 1000 {
			t.Errorf("fragment %d: %+v", i, fr)
		}
	}
	// Two at a time, through NextToken.
	var paged []string
	tok := ""
	for range 5 {
		in := map[string]any{"StreamARN": f.streamARN, "MaxResults": 2}
		if tok != "" {
			in["NextToken"] = tok
		}
		var page fragmentList
		if status, _, body := f.post(t, "listFragments", in); status != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("page: %d %s", status, body)
		}
		for _, fr := range page.Fragments {
			paged = append(paged, fr.FragmentNumber)
		}
		if tok = page.NextToken; tok == "" {
			break
		}
	}
	if len(paged) != 5 || paged[4] != all.Fragments[4].FragmentNumber {
		t.Errorf("paged %v", paged)
	}
	var some fragmentList
	_, _, body = f.post(t, "listFragments", map[string]any{"StreamName": "cam", "FragmentSelector": clipSelector("PRODUCER_TIMESTAMP", f.secs(time.Second), f.secs(3*time.Second))})
	if json.Unmarshal(body, &some) != nil || len(some.Fragments) != 3 || some.Fragments[0].FragmentNumber != all.Fragments[1].FragmentNumber {
		t.Errorf("range 1–3 s: %s", body)
	}
	if status, h, _ := f.post(t, "listFragments", map[string]any{"StreamName": "cam", "NextToken": "bm90LWEtbnVtYmVy"}); status != 400 || apiCode(h) != "InvalidArgumentException" {
		t.Errorf("bad NextToken: %d %s", status, apiCode(h))
	}

	want := []string{all.Fragments[3].FragmentNumber, all.Fragments[1].FragmentNumber}
	status, h, body := f.post(t, "getMediaForFragmentList", map[string]any{"StreamName": "cam", "Fragments": want})
	if got := chunkNumbers(body); status != 200 || h.Get("Content-Type") != "video/webm" || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("GetMediaForFragmentList: %d %s chunks %v, want %v", status, h.Get("Content-Type"), got, want)
	}
	if bytes.Contains(body, []byte("AWS_KINESISVIDEO_CONTINUATION_TOKEN")) {
		t.Error("GetMediaForFragmentList chunks carry GetMedia's continuation tags")
	}
	if status, h, _ := f.post(t, "getMediaForFragmentList", map[string]any{"StreamName": "cam", "Fragments": []string{"42"}}); status != 404 || apiCode(h) != "ResourceNotFoundException" {
		t.Errorf("unknown fragment: %d %s", status, apiCode(h))
	}
}
