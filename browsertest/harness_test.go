package browsertest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/jsrun"
)

//go:embed static
var staticFS embed.FS

// chromiumPath is Debian's Chromium, which ./test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// shared is what every test of the run shares: built once.
var shared struct {
	once      sync.Once
	err       error
	jsDir     string // jstest/
	libDir    string // aws-sdk.js (esbuild bundle of the AWS JS SDK v3 clients)
	kvsBundle string // the KVS JS SDK's shipped browser bundle
	kvsrtc    string // the kvsrtc binary
	artifacts string
}

// setup checks the machine and builds what the tests share. Missing tools
// fail the test with how to install them; nothing is skipped.
func setup(t *testing.T) {
	t.Helper()
	shared.once.Do(func() { shared.err = doSetup() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
}

func doSetup() error {
	if err := jsrun.Check(); err != nil {
		return err
	}
	for _, tool := range []string{chromiumPath, "certutil", "ffprobe", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: run ./test.sh (apt-get install chromium libnss3-tools ffmpeg)", tool)
		}
	}
	dir, err := jsrun.Dir()
	if err != nil {
		return err
	}
	shared.jsDir = dir
	shared.kvsBundle = filepath.Join(dir, "node_modules", "amazon-kinesis-video-streams-webrtc", "dist", "kvs-webrtc.min.js")
	if _, err := os.Stat(shared.kvsBundle); err != nil {
		return fmt.Errorf("the KVS JS SDK browser bundle: %w", err)
	}
	tmp, err := os.MkdirTemp("", "kvsrtc-browsertest-")
	if err != nil {
		return err
	}
	// The directory is small and under the system temp dir; the suite's
	// artifacts are what a person looks at.
	shared.libDir = tmp
	esbuild := filepath.Join(dir, "node_modules", ".bin", "esbuild")
	bundle := exec.Command(esbuild, "aws-sdk-browser.mjs", "--bundle", "--format=iife", "--global-name=AWSKVS",
		"--platform=browser", "--minify", "--log-level=warning", "--outfile="+filepath.Join(tmp, "aws-sdk.js"))
	bundle.Dir = dir
	if out, err := bundle.CombinedOutput(); err != nil {
		return fmt.Errorf("bundle the AWS JS SDK with esbuild (run ./test.sh to install jstest's devDependencies): %v: %s", err, out)
	}
	// kvsrtc as users run it: a separate process.
	shared.kvsrtc = filepath.Join(tmp, "kvsrtc")
	if out, err := exec.Command("go", "build", "-o", shared.kvsrtc, "github.com/kvsrtc/kvsrtc/cmd/kvsrtc").CombinedOutput(); err != nil {
		return fmt.Errorf("go build kvsrtc: %v: %s", err, out)
	}
	shared.artifacts = os.Getenv("KVSRTC_ARTIFACTS")
	if shared.artifacts == "" {
		// The pid keeps two runs started in the same second apart.
		shared.artifacts = filepath.Join("artifacts", fmt.Sprintf("%s-%d", time.Now().UTC().Format("20060102T150405Z"), os.Getpid()))
	}
	if shared.artifacts, err = filepath.Abs(shared.artifacts); err != nil {
		return err
	}
	if err := os.MkdirAll(shared.artifacts, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "browsertest: artifacts (screenshots, recordings, timings) in %s\n", shared.artifacts)
	return nil
}

// artifact is the path of a file kept after the run.
func artifact(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(shared.artifacts, name)
	t.Logf("artifact: %s", p)
	return p
}

// env is one test's emulator and a channel on it.
type env struct {
	e    *emulator.Emulator
	arn  channel.ARN
	home string // HOME for Chromium: an NSS db that trusts the emulator's CA
}

// newEnv starts an emulator, creates channel name and makes a HOME whose
// NSS database trusts the emulator's CA, for Chromium.
func newEnv(t *testing.T, name string) *env {
	t.Helper()
	setup(t)
	e := emulatortest.Start(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := runKvsrtc(t, ctx, e, "channel", "create", "--channel-name", name, "--json")
	var created struct {
		ChannelARN string `json:"channelArn"`
	}
	if err := json.Unmarshal(res, &created); err != nil {
		t.Fatalf("kvsrtc channel create output %q: %v", res, err)
	}
	arn, err := channel.ParseARN(created.ChannelARN)
	if err != nil {
		t.Fatalf("channel create gave ARN %q: %v", created.ChannelARN, err)
	}
	return &env{e: e, arn: arn, home: trustingHome(t, e.CABundlePath())}
}

// trustingHome makes a HOME whose NSS database (~/.pki/nssdb, where
// Chromium on Linux reads user trust) trusts the CA in caPEM for TLS
// servers, and nothing else is changed.
func trustingHome(t *testing.T, caPEM string) string {
	t.Helper()
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-n", "kvsrtc-emulator-ca", "-t", "C,,", "-i", caPEM},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return home
}

// kvsrtcEnv is the environment of a kvsrtc process pointed at e: the
// emulator's endpoint, region, development credential, CA and STUN server,
// and a private cache dir. Nothing from the parent's AWS_* leaks in.
func kvsrtcEnv(t *testing.T, e *emulator.Emulator) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "KVSRTC_") {
			out = append(out, kv)
		}
	}
	out = append(out, e.Env()...)
	return append(out, "KVSRTC_CACHE_DIR="+t.TempDir(), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
}

// runKvsrtc runs kvsrtc to the end and returns its stdout.
func runKvsrtc(t *testing.T, ctx context.Context, e *emulator.Emulator, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, shared.kvsrtc, args...)
	cmd.Env = kvsrtcEnv(t, e)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("kvsrtc %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// startMaster runs `kvsrtc master` on the channel (the embedded demo clip,
// H.264 640x480 30 fps + Opus, looped) until the test ends, and waits until
// it is connected to the emulator.
func startMaster(t *testing.T, ev *env) {
	t.Helper()
	var stderr syncBuffer
	cmd := exec.Command(shared.kvsrtc, "master", "--channel-arn", ev.arn.String())
	cmd.Env = kvsrtcEnv(t, ev.e)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kvsrtc master: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("kvsrtc master did not stop on SIGTERM within 10 s")
		}
		if t.Failed() {
			t.Logf("kvsrtc master output:\n%s", stderr.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if up, _ := ev.e.Connections(ev.arn.String()); up {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("kvsrtc master exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kvsrtc master not connected after 15 s:\n%s", stderr.String())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pageServer serves the test pages on loopback over plain HTTP
// (http://127.0.0.1 is a secure context, so WebRTC and WebCrypto work):
// /static/ (this package's pages), /lib/kvs-webrtc.min.js (the KVS JS
// SDK's shipped bundle), /lib/aws-sdk.js (the AWS JS SDK v3 bundle) and
// /config.json (cfg, what the page needs to know).
// routes adds handlers, such as a page's /stop.
func pageServer(t *testing.T, cfg any, routes ...map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /lib/kvs-webrtc.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, shared.kvsBundle)
	})
	mux.HandleFunc("GET /lib/aws-sdk.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(shared.libDir, "aws-sdk.js"))
	})
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(cfg)
	})
	for _, r := range routes {
		for pattern, h := range r {
			mux.HandleFunc(pattern, h)
		}
	}
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// browserResult is what jstest/browser-run.mjs prints.
type browserResult struct {
	OK       bool            `json:"ok"`
	Result   json.RawMessage `json:"result"`
	Error    string          `json:"error"`
	Partial  json.RawMessage `json:"partial"`
	Console  []string        `json:"console"`
	LaunchMs float64         `json:"launchMs"`
	TotalMs  float64         `json:"totalMs"`
}

// browse opens url in a new Chromium with a new empty profile and HOME
// home, waits for the page's result (window.kvsrtcResult), saves a
// screenshot as artifact shot and returns what the page reported. The
// test fails if the page reports an error or nothing in time.
func browse(t *testing.T, home, url, shot string, timeout time.Duration, extra ...map[string]any) browserResult {
	t.Helper()
	res := tryBrowse(t, home, url, shot, timeout, extra...)
	if !res.OK {
		t.Fatalf("browser: %s\npartial: %s\nconsole:\n  %s", res.Error, res.Partial, strings.Join(res.Console, "\n  "))
	}
	return res
}

// tryBrowse is browse that returns a failed run instead of failing.
// extra adds scenario fields of browser-run.mjs (such as capture).
func tryBrowse(t *testing.T, home, url, shot string, timeout time.Duration, extra ...map[string]any) browserResult {
	t.Helper()
	sc := map[string]any{
		"url":        url,
		"profileDir": t.TempDir(),
		"home":       home,
		"screenshot": artifact(t, shot),
		"timeoutMs":  timeout.Milliseconds(),
		"executable": chromiumPath,
	}
	for _, m := range extra {
		maps.Copy(sc, m)
	}
	arg, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", "browser-run.mjs", string(arg))
	cmd.Dir = shared.jsDir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node browser-run.mjs: %v\nstderr:\n%s", err, stderr.Bytes())
	}
	var res browserResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("browser-run.mjs output %q: %v\nstderr:\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	return res
}
