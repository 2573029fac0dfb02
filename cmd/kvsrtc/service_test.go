package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// TestEmulatorServicePorts runs `kvsrtc emulator --service-ports` in a new
// network namespace (port 443 is free there; binding it needs root) and
// checks that its output says what a client without an endpoint override
// needs: a URL without the port, the hosts-file line for the region's
// control-plane and STUN names, and the C SDK's env lines.
func TestEmulatorServicePorts(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare not found: install util-linux (this test runs in its own network namespace)")
	}
	dir := t.TempDir()
	envFile := filepath.Join(dir, "kvs.env")
	// unshare execs sh, which execs kvsrtc: the signal in stop reaches it.
	cmd := exec.Command(unshare, "--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
		binary, "emulator", "--service-ports", "--region", "cn-north-1", "--env-file", envFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	out := ""
	for !strings.Contains(out, "export KVSRTC_STUN_URL=") {
		line, err := r.ReadString('\n')
		out += line
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("stdout ended (needs root for unshare and port 443): %v: %s\nstderr:\n%s", err, out, stderr.String())
		}
	}
	stop(t, cmd)
	for _, want := range []string{
		"# kvsrtc emulator https://127.0.0.1 (cn-north-1,",
		"\n# 127.0.0.1 kinesisvideo.cn-north-1.amazonaws.com.cn stun.kinesisvideo.cn-north-1.amazonaws.com.cn\n",
		"export AWS_DEFAULT_REGION=cn-north-1\n",
		"export AWS_KVS_CACERT_PATH=",
		"export KVSRTC_STUN_URL=stun:127.0.0.1:443\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := emulator.ParseEnvFile(data)
	if env["AWS_ENDPOINT_URL_KINESIS_VIDEO"] != "https://127.0.0.1" || env["AWS_DEFAULT_REGION"] != "cn-north-1" ||
		env["AWS_KVS_CACERT_PATH"] == "" || env["AWS_KVS_CACERT_PATH"] != env["AWS_CA_BUNDLE"] {
		t.Errorf("env file for the C SDK and the SDKs:\n%s", data)
	}
}
