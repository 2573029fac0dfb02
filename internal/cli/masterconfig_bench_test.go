package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

// BenchmarkMultiChannel measures what one channel costs a `kvsrtc master
// --config` process: N channels each sending a ~1 Mbit/s 720p H.264 clip to
// one viewer. The master runs as its own process (the binary built as the
// Dockerfile builds it); the emulator and the viewers run in the benchmark
// process, so the figures are the master's alone: CPU (user+system, % of
// one core) and RSS, per channel, over a measured window once every viewer
// receives video.
//
// KVSRTC_BENCH_CHANNELS lists the channel counts (default "1"; the README
// figures use "1,10,50"), KVSRTC_BENCH_SECONDS the window (default 5).
//
//	KVSRTC_BENCH_CHANNELS=1,10,50 go test -run '^$' -bench MultiChannel -benchtime 1x ./internal/cli/
func BenchmarkMultiChannel(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("no ffmpeg")
	}
	counts := []int{1}
	if s := os.Getenv("KVSRTC_BENCH_CHANNELS"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 200 {
				b.Fatalf("KVSRTC_BENCH_CHANNELS %q: want counts from 1 to 200", s)
			}
			counts = append(counts, n)
		}
	}
	window := 5 * time.Second
	if s := os.Getenv("KVSRTC_BENCH_SECONDS"); s != "" {
		sec, err := strconv.Atoi(s)
		if err != nil || sec < 1 {
			b.Fatalf("KVSRTC_BENCH_SECONDS %q: want whole seconds", s)
		}
		window = time.Duration(sec) * time.Second
	}
	dir := b.TempDir()
	bin := buildStatic(b, dir)
	clip := filepath.Join(dir, "clip.h264")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "4",
		"-c:v", "libx264", "-profile:v", "baseline", "-b:v", "1M", "-maxrate", "1M", "-bufsize", "1M", "-g", "30", "-bf", "0",
		"-x264-params", "repeat-headers=1", "-f", "h264", clip).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("channels=%d", n), func(b *testing.B) {
			for b.Loop() {
				cpu, rss, kbps := measureChannels(b, bin, clip, n, window)
				b.ReportMetric(cpu/float64(n), "CPU-%/channel")
				b.ReportMetric(rss/float64(n), "RSS-MB/channel")
				b.ReportMetric(rss, "RSS-MB")
				b.ReportMetric(kbps, "kbps/viewer")
			}
		})
	}
}

// measureChannels runs one master process for n channels with one viewer
// each and returns its CPU (% of a core), RSS (MB) and the viewers' mean
// video bitrate (kbit/s) over window.
func measureChannels(b *testing.B, bin, clip string, n int, window time.Duration) (cpu, rssMB, kbps float64) {
	e := emulatortest.Start(b, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	arns := make([]channel.ARN, n)
	var cfg strings.Builder
	cfg.WriteString(`{"defaults": {"video": "` + clip + `", "loop": true}, "channels": [`)
	for i := range arns {
		name := fmt.Sprintf("bench-%d", i)
		arns[i] = emulatortest.Channel(b, e, name)
		if i > 0 {
			cfg.WriteString(",")
		}
		cfg.WriteString(`{"name": "` + name + `"}`)
	}
	cfg.WriteString("]}")
	path := filepath.Join(b.TempDir(), "channels.json")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "master", "--config", path, "--log-level", "warn")
	cmd.Env = append(os.Environ(), append(e.Env(), "KVSRTC_STUN_URL="+e.STUNURL(), "KVSRTC_CACHE_DIR="+b.TempDir())...)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	for _, arn := range arns {
		if _, err := e.WaitConnected(ctx, arn.String(), channel.RoleMaster, ""); err != nil {
			b.Fatalf("master for %s: %v\n%s", arn.Name, err, stderr.String())
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	bytes := make([]atomic.Int64, n)
	frames := make([]atomic.Int64, n)
	for i, arn := range arns {
		v, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: fmt.Sprintf("v%d", i),
			OnFrame: func(c media.Codec, f media.Frame) {
				if c.IsVideo() {
					bytes[i].Add(int64(len(f.Data)))
					frames[i].Add(1)
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer v.Close()
			v.Run(vctx)
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := range arns {
		for frames[i].Load() < 30 {
			if time.Now().After(deadline) {
				b.Fatalf("viewer %d got %d frames\n%s", i, frames[i].Load(), stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var before int64
	for i := range bytes {
		before += bytes[i].Load()
	}
	cpu0, _ := procStat(b, cmd.Process.Pid)
	t0 := time.Now()
	time.Sleep(window) // the measured window (a benchmark, not a test)
	cpu1, rss := procStat(b, cmd.Process.Pid)
	elapsed := time.Since(t0)
	var after int64
	for i := range bytes {
		after += bytes[i].Load()
	}
	stopViewers()
	return 100 * (cpu1 - cpu0).Seconds() / elapsed.Seconds(), float64(rss) / (1 << 20),
		float64(after-before) * 8 / 1000 / elapsed.Seconds() / float64(n)
}

// procStat reads a process's CPU time (user+system) and RSS from /proc.
func procStat(b *testing.B, pid int) (time.Duration, int64) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	const ticks = 100                        // USER_HZ on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	var rss int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return time.Duration(ut+st) * time.Second / ticks, rss
}

// buildStatic builds kvsrtc as the Dockerfile does (CGO_ENABLED=0,
// -trimpath) into dir.
func buildStatic(b *testing.B, dir string) string {
	bin := filepath.Join(dir, "kvsrtc")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/kvsrtc")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build kvsrtc: %v\n%s", err, out)
	}
	return bin
}
