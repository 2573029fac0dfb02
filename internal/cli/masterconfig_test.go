package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/metrics"
)

// logLines parses JSON log lines, failing on any line that is not JSON.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" || strings.HasPrefix(line, "metrics on ") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func countLogs(lines []map[string]any, msg, channel string) int {
	n := 0
	for _, l := range lines {
		if l["msg"] == msg && l["channel"] == channel {
			n++
		}
	}
	return n
}

// TestMasterConfigIsolation serves three channels from one --config: one
// works, one has credentials that fail, one a video file that is missing.
// The working one serves a viewer from the start and is never restarted;
// the broken ones are retried on their own and reported on /healthz; once
// the file appears, that channel recovers and serves a viewer too.
func TestMasterConfigIsolation(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam-ok")
	kv := kinesisvideo.NewFromConfig(emulatortest.Config(e))
	for _, name := range []string{"cam-creds", "cam-src"} {
		if _, err := kv.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(envSTUNURL, e.STUNURL())
	dir := t.TempDir()
	later := filepath.Join(dir, "later.h264")
	cfg := fmt.Sprintf(`{"channels": [
		{"name": "cam-ok"},
		{"name": "cam-creds", "credentialsUrl": %q},
		{"name": "cam-src", "video": %q, "loop": true}
	]}`, closedURL(t), later)
	path := filepath.Join(dir, "channels.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut},
			[]string{"master", "--config", path, "--metrics-listen", "127.0.0.1:0", "--log-format", "json"})
	}()
	var addr string
	waitUntil(t, 30*time.Second, "the metrics address", func() bool {
		if m := metricsAddr.FindStringSubmatch(errOut.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	report := func() (int, map[string]metrics.ChannelHealth) {
		code, body := get(t, "http://"+addr+"/healthz")
		var r metrics.HealthReport
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("healthz: %v: %s", err, body)
		}
		by := map[string]metrics.ChannelHealth{}
		for _, c := range r.Channels {
			by[c.Channel] = c
		}
		return code, by
	}
	waitUntil(t, 30*time.Second, "cam-ok healthy and both others failed twice", func() bool {
		_, by := report()
		lines := logLines(t, errOut.String())
		return by["cam-ok"].Healthy && by["cam-creds"].Error != "" && by["cam-src"].Error != "" &&
			countLogs(lines, "channel failed", "cam-creds") >= 2 && countLogs(lines, "channel failed", "cam-src") >= 2
	})
	if code, by := report(); code != 503 || !strings.Contains(by["cam-creds"].Error, "credentials URL") || !strings.Contains(by["cam-src"].Error, "later.h264") {
		t.Errorf("healthz %d %+v", code, by)
	}
	if out, stderr, code := run(t, "viewer", "--channel-name", "cam-ok", "--seconds", "1", "--json"); code != 0 {
		t.Fatalf("viewer of cam-ok: exit %d\n%s\n%s", code, out, stderr)
	}

	// The missing file appears: cam-src recovers at its next attempt.
	if err := os.WriteFile(later, readAll(t, media.DemoH264()), 0o600); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 90*time.Second, "cam-src to recover", func() bool {
		_, by := report()
		return by["cam-src"].Healthy
	})
	out, stderr, code := run(t, "viewer", "--channel-name", "cam-src", "--seconds", "1", "--json")
	if code != 0 {
		t.Fatalf("viewer of cam-src: exit %d\n%s\n%s", code, out, stderr)
	}
	if v := decode[viewerJSON](t, out); v.Stats.Video.Frames < 10 {
		t.Errorf("cam-src viewer got %d frames", v.Stats.Video.Frames)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("master --config exit %d after a signal, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("master --config did not stop")
	}
	lines := logLines(t, errOut.String())
	if n := countLogs(lines, "channel connected", "cam-ok"); n != 1 {
		t.Errorf("cam-ok connected %d times, want once: the other channels' failures disturbed it\n%s", n, errOut.String())
	}
	if n := countLogs(lines, "channel failed", "cam-ok"); n != 0 {
		t.Errorf("cam-ok failed %d times", n)
	}
	if strings.Contains(errOut.String(), emulator.DevCredential.SecretAccessKey) {
		t.Error("a log line carries the secret key")
	}
}

// TestMasterConfigErrors checks that a bad file is a usage error naming
// what is wrong.
func TestMasterConfigErrors(t *testing.T) {
	cliEnv(t)
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"not JSON", `channels: [cam]`, "want JSON"},
		{"unknown field", `{"channels": [{"name": "a", "vidoe": "x.h264"}]}`, `unknown field "vidoe"`},
		{"empty", `{"channels": []}`, "lists no channel"},
		{"twice", `{"channels": [{"name": "a"}, {"name": "a"}]}`, "listed twice"},
		{"no codec", `{"channels": [{"name": "a", "video": "x.mp4"}]}`, "videoCodec"},
		{"stdin", `{"channels": [{"name": "a", "video": "-"}]}`, "stdin"},
		{"bad name", `{"channels": [{"name": "a b"}]}`, "channel 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := run(t, "master", "--config", path)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, ExitUsage, tc.want, stderr)
			}
		})
	}
	if _, stderr, code := run(t, "master", "--config", filepath.Join(dir, "x.json"), "--channel-name", "a"); code != ExitUsage {
		t.Errorf("--config with --channel-name: exit %d: %s", code, stderr)
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMasterConfigIoTChannel: a channel's "iot" block gives it IoT
// certificate credentials of its own (the environment's key may not
// ConnectAsMaster, so only they can connect it).
func TestMasterConfigIoTChannel(t *testing.T) {
	e, arn, iotArgs := iotMasterEnv(t, time.Hour)
	flag := func(name string) string {
		for i, a := range iotArgs {
			if a == name {
				return iotArgs[i+1]
			}
		}
		t.Fatalf("no %s", name)
		return ""
	}
	cfg := fmt.Sprintf(`{"channels": [{"name": "cam", "iot": {"endpoint": %q, "cert": %q, "key": %q, "roleAlias": "cam-role", "thingName": "cam1", "caCert": %q}}]}`,
		flag("--iot-endpoint"), flag("--iot-cert"), flag("--iot-key"), flag("--iot-ca-cert"))
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, []string{"master", "--config", path})
	}()
	waitUntil(t, 30*time.Second, "the IoT channel to connect", func() bool { m, _ := e.Connections(arn); return m })
	if n := e.Requests("AssumeRoleWithCertificate"); n < 1 {
		t.Errorf("%d IoT credential requests", n)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d\n%s", code, errOut.String())
	}
}
