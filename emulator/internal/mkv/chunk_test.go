package mkv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GetMedia's byte stream: chunks of the fragments one after another decode
// as one stream (ffprobe and ffmpeg say nothing), on the producer clock,
// and carry the fragments' tags.
func TestChunksDecodeAsOneStream(t *testing.T) {
	video, audio := clip(t)
	dir := t.TempDir()
	start := time.UnixMilli(1_800_000_000_000)
	r, err := NewRecorder(RecorderOptions{Dir: dir, FragmentDuration: time.Second, Session: "one"})
	if err != nil {
		t.Fatal(err)
	}
	record(t, r, start, video, audio)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	frags, err := ListFragments(dir)
	if err != nil || len(frags) != 5 {
		t.Fatalf("fragments: %v %v", frags, err)
	}
	var buf bytes.Buffer
	for i, f := range frags {
		n := strconv.Itoa(1000 + i)
		if _, err := WriteChunk(&buf, f, ChunkTags{FragmentNumber: n, ServerTimestamp: f.Start, ProducerTimestamp: f.Start, ContinuationToken: n}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "getmedia.mkv")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The raw stream: ffmpeg reads every packet and decodes every frame;
	// it says only, at each next chunk, what it says of the service's
	// GetMedia stream (each fragment is a self-contained MKV document,
	// awslabs/amazon-kinesis-video-streams-pic issue 57).
	for _, args := range [][]string{
		{"ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=codec_name,nb_read_packets", "-of", "csv=p=0", out},
		{"ffmpeg", "-hide_banner", "-v", "error", "-i", out, "-f", "null", "-"},
	} {
		cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", args[0], err)
		}
		if msgs := strings.Count(stderr.String(), "\n"); msgs != 4 || strings.Count(stderr.String(), "unknown-length element with ID 0x18538067") != 4 {
			t.Errorf("%s said, of 5 chunks:\n%s", args[0], stderr.String())
		}
		if args[0] == "ffprobe" && strings.Join(strings.Fields(string(stdout)), " ") != "h264,150 opus,251" {
			t.Errorf("ffprobe read %q: want every packet of the clip", stdout)
		}
	}
	// Merged as AWS's parser library does (OutputSegmentMerger: one
	// header, the clusters of all chunks), it decodes without a word.
	merged := filepath.Join(t.TempDir(), "merged.mkv")
	if err := os.WriteFile(merged, mustMerge(t, buf.Bytes()), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _ := ffprobe(t, merged); len(p.Streams) != 2 || p.Streams[0].Packets != "150" {
		t.Fatalf("merged: %+v", p)
	}
	first, last := packetTimes(t, out)
	if first < 1_800_000_000 || first > 1_800_000_000.001 || last-first < 4.9 || last-first > 5.0 {
		t.Fatalf("video from %.3f to %.3f s: want producer time 1800000000.000 on, 5 s", first, last)
	}
	for _, want := range []string{"AWS_KINESISVIDEO_FRAGMENT_NUMBER", "1004", "AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1800000004.000", "AWS_KINESISVIDEO_CONTINUATION_TOKEN"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("no %q in the stream", want)
		}
	}
}

// packetTimes returns the first and last video packet times ffprobe reads.
func packetTimes(t *testing.T, path string) (first, last float64) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatal("no video packets")
	}
	first, _ = strconv.ParseFloat(lines[0], 64)
	last, _ = strconv.ParseFloat(lines[len(lines)-1], 64)
	return first, last
}

func mustMerge(t *testing.T, b []byte) []byte {
	t.Helper()
	m, err := MergeChunks(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// MergeChunks reads what a client received: any bytes, never a panic, and
// a merge of a merge is the same.
func FuzzMergeChunks(f *testing.F) {
	var b bytes.Buffer
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x45, 0xdf, 0xa3, 0x80, 0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if _, err := WriteErrorChunk(&b, "1", 4000, "x"); err == nil {
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := MergeChunks(data)
		if err != nil {
			return
		}
		m2, err := MergeChunks(m)
		if err != nil || !bytes.Equal(m, m2) {
			t.Fatalf("merge of a merge: %v (%d → %d bytes)", err, len(m), len(m2))
		}
	})
}
