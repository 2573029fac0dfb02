package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// TestEmulatorServicePorts runs `kvsrtc emulator --service-ports` in a new
// network namespace (port 443 is free there; binding it needs root) and
// checks that its output says what a client without an endpoint override
// needs: a URL without the port, the hosts-file line for the region's
// control-plane and STUN names, and the C SDK's env lines.
// startServiceEmulator runs `kvsrtc emulator --service-ports` in a new
// network namespace (port 443 is free there; binding it needs root) and
// returns once it has printed its env lines, with its stdout so far.
func startServiceEmulator(t *testing.T, envFile string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare not found: install util-linux (this test runs in its own network namespace)")
	}
	// unshare execs sh, which execs kvsrtc: the signal in stop reaches it.
	args := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
		binary, "emulator", "--service-ports", "--env-file", envFile}, extra...)
	cmd := exec.Command(unshare, args...)
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
	go io.Copy(io.Discard, r) // the pipe must not fill
	return cmd, out
}

// TestEmulatorServicePorts checks that the service-shaped mode's output
// says what a client without an endpoint override needs: a URL without the
// port, the hosts-file line for the region's control-plane and STUN names,
// and the C SDK's env lines.
func TestEmulatorServicePorts(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "kvs.env")
	cmd, out := startServiceEmulator(t, envFile, "--region", "cn-north-1")
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

// TestServicePortsSession: kvsrtc master and viewer, with nothing but the
// env file the service-shaped emulator wrote, stream media relayed by the
// TURN servers on port 443 (127.0.0.2:443 and 127.0.0.3:443, UDP).
func TestServicePortsSession(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "kvs.env")
	emu, _ := startServiceEmulator(t, envFile)
	defer stop(t, emu)
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KVSRTC_CACHE_DIR=" + filepath.Join(dir, "cache"),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true"}
	env = append(env, strings.Split(strings.TrimSpace(string(data)), "\n")...)
	// nsenter execs kvsrtc in the emulator's network namespace.
	inNetns := func(args ...string) *exec.Cmd {
		cmd := exec.Command("nsenter", append([]string{"--net=/proc/" + strconv.Itoa(emu.Process.Pid) + "/ns/net", "--", binary}, args...)...)
		cmd.Env = env
		return cmd
	}
	if out, err := inNetns("channel", "create", "--channel-name", "cam").CombinedOutput(); err != nil {
		t.Fatalf("channel create: %v\n%s", err, out)
	}
	var masterErr bytes.Buffer
	master := inNetns("master", "--channel-name", "cam", "--force-turn", "--relay-transport", "udp")
	master.Stderr = &masterErr
	if err := master.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		master.Process.Signal(syscall.SIGTERM)
		master.Wait()
	}()
	viewer := inNetns("viewer", "--channel-name", "cam", "--seconds", "2", "--json", "--force-turn", "--relay-transport", "udp")
	var viewerErr bytes.Buffer
	viewer.Stderr = &viewerErr
	out, err := viewer.Output()
	if err != nil {
		t.Fatalf("viewer: %v\n%s\nviewer stderr:\n%s\nmaster stderr:\n%s", err, out, viewerErr.String(), masterErr.String())
	}
	var v struct {
		Stats struct {
			Video struct{ Frames int }
		}
		Error string
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("viewer --json: %v\n%s", err, out)
	}
	if v.Error != "" || v.Stats.Video.Frames < 30 {
		t.Fatalf("viewer over TURN on 443: error %q, %d video frames, want ≥ 30\n%s", v.Error, v.Stats.Video.Frames, out)
	}
}

// TestEmulatorTURNPlainTCP: `kvsrtc emulator` advertises plain-TCP TURN
// (turn:…?transport=tcp) only with --turn-plain-tcp, as the service offers
// TCP only over TLS; `kvsrtc ice` shows what it hands out.
func TestEmulatorTURNPlainTCP(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags []string
		plain int // turn:…?transport=tcp URIs wanted
	}{{"default", nil, 0}, {"turn-plain-tcp", []string{"--turn-plain-tcp"}, 2}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			envFile := filepath.Join(dir, "kvs.env")
			emu, _ := startEmulatorProcess(t, filepath.Join(dir, "data"), envFile, tt.flags...)
			defer stop(t, emu)
			data, err := os.ReadFile(envFile)
			if err != nil {
				t.Fatal(err)
			}
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KVSRTC_CACHE_DIR=" + filepath.Join(dir, "cache"),
				"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
				"AWS_EC2_METADATA_DISABLED=true"}
			env = append(env, strings.Split(strings.TrimSpace(string(data)), "\n")...)
			kvsrtc := func(args ...string) []byte {
				cmd := exec.Command(binary, args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("kvsrtc %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			kvsrtc("channel", "create", "--channel-name", "tcp")
			var ice struct {
				ICEServers []struct{ URLs []string } `json:"iceServers"`
			}
			if err := json.Unmarshal(kvsrtc("ice", "--channel-name", "tcp", "--json"), &ice); err != nil {
				t.Fatal(err)
			}
			turns, plain := 0, 0
			for _, s := range ice.ICEServers {
				for _, u := range s.URLs {
					switch {
					case strings.HasPrefix(u, "turns:") && strings.HasSuffix(u, "?transport=tcp"):
						turns++
					case strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "?transport=tcp"):
						plain++
					}
				}
			}
			if turns != 2 || plain != tt.plain {
				t.Errorf("%d turns:…tcp and %d turn:…tcp URIs, want 2 and %d: %+v", turns, plain, tt.plain, ice.ICEServers)
			}
		})
	}
}
