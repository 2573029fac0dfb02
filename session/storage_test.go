package session_test

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// enableStorage creates a stream and points the channel's media storage at
// it; retention 0 makes a stream that cannot ingest.
func enableStorage(t testing.TB, v *env, retention int32, enable bool) {
	t.Helper()
	ctx := context.Background()
	c := kinesisvideo.NewFromConfig(v.cfg)
	s, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String(v.arn.Name + "-stream"), DataRetentionInHours: aws.Int32(retention)})
	if err != nil {
		t.Fatal(err)
	}
	if !enable {
		return
	}
	if _, err := c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: aws.String(v.arn.String()),
		MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusEnabled, StreamARN: s.StreamARN}}); err != nil {
		t.Fatal(err)
	}
}

// storageLog records the storage timeline.
type storageLog struct {
	mu  sync.Mutex
	evs []session.StorageEvent
}

func (l *storageLog) add(ev session.StorageEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

func (l *storageLog) count(k session.StorageEventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (l *storageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.evs {
		b.WriteString(ev.Since.Round(time.Millisecond).String() + " " + ev.Kind.String() + " " + ev.Session)
		if ev.Err != nil {
			b.WriteString(" " + ev.Err.Error())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// 20 s of ingestion through the emulator with compressed limits (an 8 s
// session limit, joins 1 s apart): the first offer is dropped and the
// join retried, the master joins again before the limit without a gap,
// and a session ended early by the service is replaced at once. The
// stored media, exported, decodes cleanly and lasts the 20 s sent.
func TestMasterIngestsThroughStorage(t *testing.T) {
	v := newEnvWith(t, "ingest", emulator.Options{Storage: emulator.StorageOptions{MaxSessionDuration: 8 * time.Second, FragmentDuration: time.Second}})
	enableStorage(t, v, 1, true)
	// The first JoinStorageSession is throttled, and the first storage offer
	// is lost on its way to the master (the emulator's fault rules see
	// storage frames as relayed ones).
	for _, spec := range []string{"refuse:rest:op=JoinStorageSession:400:code=ClientLimitExceededException:count=1", "drop:to-master:action=SDP_OFFER:count=1"} {
		f, err := emulator.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.e.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	video, audio := demoSource(t, media.CodecH264, true, false), demoSource(t, media.CodecOpus, true, false)
	var log storageLog
	master, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video, Audio: audio,
		Storage: &session.StorageOptions{RetryInterval: time.Second, SessionLimit: 8 * time.Second, RejoinMargin: 2 * time.Second, OnEvent: log.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	srcCtx, stopSrc := context.WithCancel(ctx)
	defer stopSrc()
	for _, s := range []*media.Source{video, audio} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(srcCtx)
		}()
	}
	runErr := make(chan error, 1)
	go func() { runErr <- master.Run(ctx) }()

	waitFor(t, 15*time.Second, "the first storage session", func() bool { return log.count(session.StorageEventConnected) >= 1 })
	start := time.Now()
	if log.count(session.StorageEventJoinError) != 1 || log.count(session.StorageEventNoOffer) < 1 || log.count(session.StorageEventJoin) < 2 {
		t.Errorf("the throttled join and the dropped offer were not retried:\n%s", &log)
	}
	// Past the rejoin point (6 s): a second session replaced the first.
	waitFor(t, 12*time.Second, "the rejoin before the limit", func() bool { return log.count(session.StorageEventConnected) >= 2 })
	sleepUntil(ctx, start.Add(10*time.Second))
	if !v.e.EndStorageSession(v.arn.String()) {
		t.Fatalf("no storage session to end:\n%s", &log)
	}
	waitFor(t, 5*time.Second, "a new session after the early end", func() bool { return log.count(session.StorageEventConnected) >= 3 })
	sleepUntil(ctx, start.Add(20*time.Second))
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	stopSrc()
	waitFor(t, 10*time.Second, "the storage sessions to end", func() bool { return len(v.e.StorageSessions(v.arn.String())) == 0 })

	stored, err := v.e.StoredMedia()
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored: %v %+v", err, stored)
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
	if dbg := os.Getenv("KVSRTC_KEEP_EXPORT"); dbg != "" {
		b, _ := os.ReadFile(out)
		_ = os.WriteFile(dbg, b, 0o644)
	}
	d := ffprobeDuration(t, out)
	t.Logf("exported %.2f s from %d fragments (%d video, %d audio frames); timeline:\n%s", d, res.Fragments, res.VideoFrames, res.AudioFrames, &log)
	if d < 18 || d > 22 {
		t.Fatalf("the export lasts %.2f s, want 20 ± 10%%", d)
	}
}

// ffprobeDuration reads the file's duration; any ffprobe message, or any
// ffmpeg message while decoding every frame, fails t.
func ffprobeDuration(t *testing.T, path string) float64 {
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

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// A channel that cannot ingest is refused before connecting, saying why.
func TestMasterStorageChecks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention int32
		enable    bool
		want      string
	}{
		{"disabled", 1, false, "media storage is DISABLED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, "check")
			enableStorage(t, v, tc.retention, tc.enable)
			master, err := session.NewMaster(session.MasterOptions{Options: v.options(), Storage: &session.StorageOptions{}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = master.Run(ctx)
			if !errors.Is(err, resolve.ErrStorageNotReady) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v; want ErrStorageNotReady saying %q", err, tc.want)
			}
			if master.Timeline().Has(session.StepConnect) {
				t.Error("the master connected before the check")
			}
		})
	}
}

// A storage viewer watches the ingesting master through the storage
// service: it joins as a viewer, answers the service's offer and receives
// the master's video and audio, recorded to a file ffprobe reads.
func TestViewerWatchesThroughStorage(t *testing.T) {
	v := newEnvWith(t, "watch", emulator.Options{})
	enableStorage(t, v, 1, true)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	video, audio := demoSource(t, media.CodecH264, true, false), demoSource(t, media.CodecOpus, true, false)
	var mlog, vlog storageLog
	master, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video, Audio: audio,
		Storage: &session.StorageOptions{RetryInterval: time.Second, OnEvent: mlog.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, s := range []*media.Source{video, audio} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = master.Run(ctx)
	}()
	waitFor(t, 15*time.Second, "the master's storage session", func() bool { return mlog.count(session.StorageEventConnected) >= 1 })

	rec := filepath.Join(t.TempDir(), "watch.mkv")
	fh, err := os.Create(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	viewer, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: "watcher", Record: fh, VideoFrames: 60,
		Storage: &session.StorageViewerOptions{RetryInterval: time.Second, OnEvent: vlog.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	if err := viewer.Run(ctx); err != nil {
		t.Fatalf("storage viewer: %v\n%s", err, &vlog)
	}
	st := viewer.Stats()
	if st.Video.Frames < 60 || st.Audio.Frames == 0 || vlog.count(session.StorageEventOffer) != 1 || vlog.count(session.StorageEventConnected) != 1 {
		t.Fatalf("storage viewer stats %+v; timeline:\n%s", st, &vlog)
	}
	fh.Close()
	if d := ffprobeDuration(t, rec); d < 1.5 {
		t.Errorf("the storage viewer's recording lasts %.2f s", d)
	}
}

// With a service that sends its offers with no sender id (as the C SDK
// allows, §6), every session of the master has the id "": a new offer
// ends the session it replaces, and the master must not take that end for
// an early one (it would join again and again).
func TestMasterIngestsWithEmptySenderID(t *testing.T) {
	v := newEnvWith(t, "ingest-c", emulator.Options{Storage: emulator.StorageOptions{EmptySenderID: true, MaxSessionDuration: 4 * time.Second, FragmentDuration: time.Second}})
	enableStorage(t, v, 1, true)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	video, audio := demoSource(t, media.CodecH264, true, false), demoSource(t, media.CodecOpus, true, false)
	var log storageLog
	master, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video, Audio: audio,
		Storage: &session.StorageOptions{RetryInterval: time.Second, SessionLimit: 4 * time.Second, RejoinMargin: time.Second, OnEvent: log.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, s := range []*media.Source{video, audio} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = master.Run(ctx)
	}()
	waitFor(t, 15*time.Second, "two sessions", func() bool { return log.count(session.StorageEventConnected) >= 2 })
	sleepUntil(ctx, time.Now().Add(2*time.Second))
	// Two sessions in ~5 s: one join each, not a storm of them.
	if n := log.count(session.StorageEventJoin); n > 3 {
		t.Fatalf("%d joins for 2 sessions:\n%s", n, &log)
	}
}

// The storage timeline's JSON (kvsrtc master --storage --json) has stable
// names, the kind as text and the error as its message.
func TestStorageEventJSON(t *testing.T) {
	ev := session.StorageEvent{Kind: session.StorageEventJoinError, Since: 1500 * time.Millisecond, Attempt: 2,
		Took: 12 * time.Millisecond, Err: errors.New("throttled")}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"join-error"`, `"sinceMs":1500`, `"attempt":2`, `"tookMs":12`, `"error":"throttled"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), `"session"`) || strings.Contains(string(b), `"current"`) {
		t.Errorf("empty members are left out: %s", b)
	}
}
