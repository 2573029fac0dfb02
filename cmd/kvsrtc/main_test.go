package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kvsrtc-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kvsrtc")
	// Built as the Dockerfile builds it (static, -trimpath), so these tests
	// run the shipped artifact and TestDockerfileBuild reuses the cache.
	build := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startEmulatorProcess runs `kvsrtc emulator` and returns once it has
// printed its first line (the env file is written before it).
func startEmulatorProcess(tb testing.TB, dataDir, envFile string, extra ...string) (*exec.Cmd, *bufio.Reader) {
	tb.Helper()
	args := append([]string{"emulator", "--listen", "127.0.0.1:0", "--data", dataDir, "--env-file", envFile}, extra...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if _, err := r.ReadString('\n'); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("emulator printed nothing: %v", err)
	}
	return cmd, r
}

func stop(tb testing.TB, cmd *exec.Cmd) {
	tb.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("emulator did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		tb.Fatal("emulator did not stop within 10 s of SIGTERM")
	}
}

func TestEmulatorCommand(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "kvs.env")
	cmd, out := startEmulatorProcess(t, filepath.Join(dir, "data"), envFile, "--region", "cn-north-1")
	rest := ""
	// Read until AWS_CA_BUNDLE, the last of the SDKs' lines (the dev
	// credential has no session token; the C SDK's lines follow it).
	for !strings.Contains(rest, "export AWS_CA_BUNDLE=") {
		line, err := out.ReadString('\n')
		rest += line
		if err != nil {
			t.Fatalf("stdout ended: %v: %s", err, rest)
		}
	}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := emulator.ParseEnvFile(data)
	for _, k := range []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE"} {
		if env[k] == "" {
			t.Fatalf("env file lacks %s: %s", k, data)
		}
		if !strings.Contains(rest, "export "+k+"=") {
			t.Fatalf("stdout lacks export %s: %s", k, rest)
		}
	}
	if fi, _ := os.Stat(envFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	// An unmodified SDK client configured only from those values.
	pem, err := os.ReadFile(env["AWS_CA_BUNDLE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	c := kinesisvideo.New(kinesisvideo.Options{
		Region: env["AWS_REGION"], BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]),
		Credentials: credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""),
		HTTPClient:  &http.Client{Transport: tr},
	})
	o, err := c.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("from-cli")})
	if err != nil || !strings.HasPrefix(aws.ToString(o.ChannelARN), "arn:aws-cn:kinesisvideo:cn-north-1:") {
		t.Fatalf("create through the process: %v %v", err, o)
	}
	tr.CloseIdleConnections()
	stop(t, cmd)
}

func TestEmulatorCommandBadCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "creds.json")
	os.WriteFile(bad, []byte(`{"not":"a list"}`), 0o600)
	out, err := exec.Command(binary, "emulator", "--credentials", bad).CombinedOutput()
	var ee *exec.ExitError
	if err == nil || !errorsAs(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "want a JSON array") {
		t.Fatalf("want exit 2 and a hint, got %v: %s", err, out)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// BenchmarkEmulatorProcessStart: from exec to the env file written, with a
// data dir that already holds the CA (no key generation).
func BenchmarkEmulatorProcessStart(b *testing.B) {
	dir := b.TempDir()
	cmd, _ := startEmulatorProcess(b, filepath.Join(dir, "data"), filepath.Join(dir, "env"))
	stop(b, cmd)
	for b.Loop() {
		cmd, _ := startEmulatorProcess(b, filepath.Join(dir, "data"), filepath.Join(dir, "env"))
		b.StopTimer()
		stop(b, cmd)
		b.StartTimer()
	}
}
