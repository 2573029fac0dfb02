package cli

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// `kvsrtc master --storage` through the emulator, the first offer dropped
// and the session limit compressed to 6 s, then `kvsrtc emulator streams`
// lists the stored media and `streams export` writes a file ffprobe reads.
func TestMasterStorageCommand(t *testing.T) {
	dir := t.TempDir()
	e, arn := startEmulator(t, emulator.Options{DataDir: dir, Storage: emulator.StorageOptions{DropOffers: 1, MaxSessionDuration: 6 * time.Second}}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	// Not enabled yet: refused before connecting, saying what to change.
	_, errOut, code := run(t, "master", "--channel-name", "cam", "--storage", "--seconds", "1")
	if code != ExitFailure || !strings.Contains(errOut, "media storage is DISABLED") || !strings.Contains(errOut, "update-media-storage-configuration") {
		t.Fatalf("storage disabled: exit %d\n%s", code, errOut)
	}
	// `kvsrtc channel storage` makes the stream and enables storage into it.
	if _, errOut, code := run(t, "channel", "storage", "--channel-name", "cam", "--stream", "cam-stream"); code != ExitNotFound || !strings.Contains(errOut, "--create-stream") {
		t.Fatalf("storage into a missing stream: exit %d %s", code, errOut)
	}
	out, errOut, code := run(t, "channel", "storage", "--channel-name", "cam", "--stream", "cam-stream", "--create-stream", "--retention-hours", "2", "--json")
	if code != 0 {
		t.Fatalf("channel storage: exit %d %s", code, errOut)
	}
	ms := decode[mediaStorageJSON](t, out)
	if ms.Status != "ENABLED" || !ms.Created || !strings.Contains(ms.StreamARN, ":stream/cam-stream/") || ms.ChannelARN != arn {
		t.Fatalf("channel storage: %+v", ms)
	}
	s := struct{ StreamARN *string }{aws.String(ms.StreamARN)}

	type result struct {
		out, errOut string
		code        int
	}
	mres := make(chan result, 1)
	go func() {
		out, errOut, code := run(t, "master", "--channel-name", "cam", "--storage", "--storage-retry", "1s",
			"--storage-session-limit", "6s", "--storage-rejoin-margin", "2s", "--seconds", "8")
		mres <- result{out, errOut, code}
	}()
	// `kvsrtc viewer --storage` watches through the storage service.
	deadline := time.Now().Add(15 * time.Second)
	for !recording(e, arn) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // bounded poll: the master's first session
	}
	vout, verr, vcode := run(t, "viewer", "--channel-name", "cam", "--storage", "--storage-retry", "1s", "--seconds", "2", "--json", "--client-id", "watcher")
	if vcode != 0 {
		t.Fatalf("viewer --storage: exit %d\n%s\n%s", vcode, vout, verr)
	}
	if v := decode[viewerJSON](t, vout); v.Stats.Video.Frames < 30 || v.Stats.Audio.Frames == 0 {
		t.Errorf("viewer --storage stats %+v", v.Stats)
	}
	m := <-mres
	out, errOut, code = m.out, m.errOut, m.code
	if code != 0 {
		t.Fatalf("master --storage: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"storage: media storage ENABLED into " + aws.ToString(s.StreamARN),
		"storage: no offer 1s after JoinStorageSession #1; calling it again", "; recording (joining again 2s before the 6s limit)",
		"nears the 6s limit: joining again"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "storage timeline:") || strings.Count(out, "connected") < 2 || !strings.Contains(out, "storage session storage-session-") {
		t.Errorf("stdout lacks the storage timeline with two sessions:\n%s", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(e.StorageSessions(arn)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // bounded poll: the emulator finishes the last fragment
	}

	out, errOut, code = run(t, "emulator", "streams", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("streams: exit %d %s", code, errOut)
	}
	list := decode[[]streamJSON](t, out)
	if len(list) != 1 || list[0].Name != "cam-stream" || list[0].Fragments < 3 || list[0].DurationMs < 7000 {
		t.Fatalf("streams: %+v", list)
	}
	mkv := filepath.Join(t.TempDir(), "cam.mkv")
	out, errOut, code = run(t, "emulator", "streams", "export", "--data", dir, "--stream", "cam-stream", "-o", mkv)
	if code != 0 || !strings.Contains(out, "wrote "+mkv) {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", mkv)
	cmd.Stderr = &stderr
	dur, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v %s", err, stderr.String())
	}
	// 8 s of media from the first frame sent, plus at most the GOP (1 s)
	// the master replays when the session connects, which the emulator
	// stamps back at its media time.
	if d, _ := strconv.ParseFloat(strings.TrimSpace(string(dur)), 64); d < 7.2 || d > 9.5 {
		t.Errorf("exported %.2f s, want 8 to 9", d)
	}
	// A range: from 2 s after the first media, 3 s long.
	part := filepath.Join(t.TempDir(), "part.mkv")
	if out, errOut, code = run(t, "emulator", "streams", "export", "--data", dir, "--stream", "cam-stream", "--start", "2s", "--end", "5s", "-o", part, "--json"); code != 0 {
		t.Fatalf("export a range: exit %d\n%s\n%s", code, out, errOut)
	}
	if res := decode[struct{ DurationMs int64 }](t, out); res.DurationMs < 1500 || res.DurationMs > 3100 {
		t.Errorf("range export: %+v", res)
	}
	if out, errOut, code := run(t, "channel", "storage", "--channel-name", "cam", "--disable"); code != 0 || !strings.Contains(out, "channel cam: media storage DISABLED") {
		t.Errorf("disable: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestStorageUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"master", "--channel-name", "x", "--storage-retry", "1s"}, ExitUsage, "--storage-retry needs --storage"},
		{[]string{"master", "--channel-name", "x", "--storage", "--storage-retry", "1ms"}, ExitUsage, "want between 100ms and 10m"},
		{[]string{"master", "--channel-name", "x", "--storage", "--storage-session-limit", "10s", "--storage-rejoin-margin", "6s"}, ExitUsage, "at most half the session limit"},
		{[]string{"viewer", "--channel-name", "x", "--storage-retry", "1s"}, ExitUsage, "--storage-retry needs --storage"},
		{[]string{"emulator", "--storage-session-limit", "0s"}, ExitUsage, "want at least 1s"},
		{[]string{"channel", "storage", "--channel-name", "x", "--stream", "s", "--disable"}, ExitUsage, "not both"},
		{[]string{"channel", "storage", "--channel-name", "x", "--create-stream"}, ExitUsage, "--create-stream needs --stream"},
		{[]string{"emulator", "streams"}, ExitUsage, "--data is required"},
		{[]string{"emulator", "streams", "export", "--data", t.TempDir(), "--stream", "s"}, ExitUsage, "-o/--output is required"},
		{[]string{"emulator", "streams", "export", "--data", t.TempDir(), "--stream", "s", "-o", filepath.Join(t.TempDir(), "x.mkv")}, ExitNotFound, `no stored media for stream "s"`},
		{[]string{"emulator", "streams", "export", "--data", t.TempDir(), "--stream", "s", "--start", "yesterday", "-o", "x.mkv"}, ExitNotFound, "no stored media"},
	}
	for _, tc := range cases {
		_, errOut, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}
}

func recording(e *emulator.Emulator, arn string) bool {
	for _, s := range e.StorageSessions(arn) {
		if s.Recording {
			return true
		}
	}
	return false
}
