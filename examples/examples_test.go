// Package examples_test builds every program under examples/ and runs it
// against an in-process emulator (its -emulator flag), so the programs a
// user copies keep working.
package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// run is one example program's run: its arguments, stdin, and what its
// output must contain.
type run struct {
	args  []string
	stdin func(t *testing.T) *exec.Cmd // a producer piped to stdin, or nil
	clip  bool                         // the demo clip on stdin
	want  []string
	re    string // a pattern the output must match
	check func(t *testing.T, dir string)
}

func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	runs := map[string][]run{
		"demo":            {{want: []string{"video and", "frames recorded to example.mkv"}}},
		"firststep":       {{args: []string{"-emulator"}, want: []string{"channel arn:aws:kinesisvideo:", "MASTER: wss wss://", "VIEWER: wss wss://", `credential "****"`, "3 pion ICE servers"}}},
		"track-master":    {{args: []string{"-emulator", "-frames", "40"}, want: []string{"viewer received 40 frames; 40 match frames written to the track (err <nil>)"}}},
		"presign-backend": {{args: []string{"-emulator"}, want: []string{"3 ICE servers, the presigned URL opened a viewer connection", "X-Amz-Signature=****"}}},
		"viewer-frames": {{args: []string{"-emulator", "-out", "frames", "-frames", "12"}, want: []string{"wrote 12 frames to frames"},
			check: func(t *testing.T, dir string) {
				files, _ := filepath.Glob(filepath.Join(dir, "frames", "frame-*.h264"))
				sums, _ := os.ReadFile(filepath.Join(dir, "frames", "frames.txt"))
				if len(files) != 12 || strings.Count(string(sums), "\n") != 12 || !strings.HasSuffix(strings.SplitN(string(sums), "\n", 2)[0], " key") {
					t.Errorf("%d frame files, frames.txt:\n%s", len(files), sums)
				}
			}}},
		"ingest": {{args: []string{"-emulator", "-seconds", "3"}, re: `storage connected storage-session-[0-9a-f]{8}(.|\n)*stored [0-9]+ fragments in stream ingest-stream; exported [0-9.]+s`}},
		"ffmpeg-master": {
			// At least 20: frames may still arrive while Run ends.
			{args: []string{"-emulator", "-frames", "20"}, clip: true, re: `viewer received ([2-9][0-9]|[0-9]{3,}) h264 frames`},
			{args: []string{"-emulator", "-frames", "20"}, stdin: ffmpeg, re: `viewer received ([2-9][0-9]|[0-9]{3,}) h264 frames`},
		},
	}
	dirs, _ := filepath.Glob("*/main.go")
	for _, d := range dirs {
		name := filepath.Dir(d)
		if _, ok := runs[name]; !ok {
			t.Errorf("examples/%s is not run by this test: add it to runs", name)
		}
		if _, err := os.Stat(filepath.Join(name, "README.md")); err != nil {
			t.Errorf("examples/%s has no README.md", name)
		}
	}
	for name, rs := range runs {
		for i, r := range rs {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				t.Parallel()
				r.exec(t, filepath.Join(bin, name))
			})
		}
	}
}

func (r run) exec(t *testing.T, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, path, r.args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	var producer *exec.Cmd
	switch {
	case r.clip:
		clip, err := os.ReadFile(filepath.Join("..", "media", "clips", "demo.h264"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = bytes.NewReader(clip)
	case r.stdin != nil:
		producer = r.stdin(t)
		pipe, err := producer.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = pipe
		if err := producer.Start(); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Run()
	if producer != nil {
		producer.Process.Kill()
		producer.Wait()
	}
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(path), r.args, err, out.String())
	}
	for _, w := range r.want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if r.re != "" && !regexp.MustCompile(r.re).MatchString(out.String()) {
		t.Errorf("output does not match %s:\n%s", r.re, out.String())
	}
	if strings.Contains(out.String(), emulator.DevCredential.SecretAccessKey) {
		t.Errorf("output shows the secret key:\n%s", out.String())
	}
	if r.check != nil {
		r.check(t, dir)
	}
}

// ffmpeg is the README's command: testsrc through libx264 baseline, 10 s.
func ffmpeg(t *testing.T) *exec.Cmd {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg: the demo clip run covers the program")
	}
	return exec.Command("ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=30", "-t", "10",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-bf", "0", "-g", "30", "-f", "h264", "-")
}
