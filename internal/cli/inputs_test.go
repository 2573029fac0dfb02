package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/session"
)

// Numeric and named flags out of range are usage errors that say the
// allowed range, before any work.
func TestFlagRanges(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		args []string
		in   string
	}{
		{[]string{"viewer", "--seconds", "NaN", "--channel-name", "x"}, "--seconds NaN: want 0 (no limit) to 31536000"},
		{[]string{"viewer", "--seconds", "-1", "--channel-name", "x"}, "--seconds -1: want 0 (no limit) to"},
		{[]string{"master", "--seconds", "+Inf", "--channel-name", "x"}, "--seconds +Inf: want 0 (no limit) to"},
		{[]string{"master", "--fps", "0", "--channel-name", "x"}, "--fps 0: want 1 to 240"},
		{[]string{"master", "--fps", "-30", "--channel-name", "x"}, "--fps -30: want 1 to 240"},
		{[]string{"master", "--fps", "NaN", "--channel-name", "x"}, "--fps NaN: want 1 to 240"},
		{[]string{"master", "--credentials-retry", "-1s", "--channel-name", "x"}, "--credentials-retry -1s: want 0 (keep trying) to 24h"},
		{[]string{"emulator", "--region", "notaregion"}, `--region "notaregion": want a region name such as us-west-2`},
		{[]string{"emulator", "--ice-ttl", "0s"}, "--ice-ttl 0s: want 1s to 24h"},
		{[]string{"emulator", "--clock-offset", "48h"}, "--clock-offset 48h0m0s: want -24h to 24h"},
		{[]string{"viewer", "--record", "out.txt", "--channel-name", "x"}, "--record out.txt: name it .mkv (H.264, Matroska) or .webm (VP8, WebM)"},
	} {
		_, errOut, code := run(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.in) {
			t.Errorf("%v: exit %d, want %d with %q; stderr:\n%s", tc.args, code, ExitUsage, tc.in, errOut)
		}
	}
}

// A viewer with --seconds against a master that sends no media ends (exit
// 1, saying so) instead of waiting for ever; a master with --seconds and no
// viewer says what it waits for.
func TestViewerNoMediaEnds(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	// A master whose only source is a FIFO nobody writes: it answers
	// viewers but sends no frame.
	fifo := filepath.Join(t.TempDir(), "silent.h264")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer that never writes: the master's open returns
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := start(t, "master", "--channel-name", "cam", "--video", fifo, "--seconds", "2")
	m.waitErr(t, "--seconds 2 counts media from the first frame sent to a viewer; waiting for a viewer", 30*time.Second)
	start := time.Now()
	_, errOut, code := run(t, "viewer", "--channel-name", "cam", "--seconds", "1")
	if code != ExitFailure || !strings.Contains(errOut, "no media from the master for 5s") {
		t.Errorf("viewer exit %d, want %d with 'no media'; stderr:\n%s", code, ExitFailure, errOut)
	}
	t.Logf("viewer ended after %v", time.Since(start).Round(time.Millisecond))
	if code := m.stop(); code != ExitCanceled {
		t.Errorf("master exit %d, want %d\n%s", code, ExitCanceled, m.errOut.String())
	}
}

// SIGINT or SIGTERM (the command's context) stops a master within a second
// whatever its source: a FIFO with no writer (open(2) blocks) and a FIFO
// whose writer never writes (read(2) blocks).
func TestMasterStopsOnFIFO(t *testing.T) {
	startEmulator(t, emulator.Options{}, "cam")
	for _, tc := range []struct {
		name   string
		writer bool
	}{{"no writer", false}, {"silent writer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "in.h264")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			m := start(t, "master", "--channel-name", "cam", "--video", fifo)
			if tc.writer {
				// Opens as soon as the master's open(2) waits for a writer.
				var w *os.File
				waitUntil(t, 30*time.Second, "the master opened the FIFO", func() bool {
					var err error
					w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
					return err == nil
				})
				defer w.Close()
			} else {
				waitUntil(t, 30*time.Second, "the master blocked opening the FIFO", func() bool {
					return goroutineIn("cli.openInput")
				})
			}
			start := time.Now()
			code := m.stop()
			if d := time.Since(start); d > 5*time.Second { // a second, with room for a loaded machine
				t.Errorf("master took %v to stop", d)
			}
			if code != ExitCanceled {
				t.Errorf("exit %d, want %d\n%s", code, ExitCanceled, m.errOut.String())
			}
		})
	}
}

var stackMu sync.Mutex

// goroutineIn reports whether some goroutine is running fn.
func goroutineIn(fn string) bool {
	stackMu.Lock()
	defer stackMu.Unlock()
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn)
}

// A master whose credentials expire mid-session, from a source that cannot
// refresh them (static env keys), says so and exits 3 once signaling has
// refused them for --credentials-retry; before, it stayed up, silent and
// unreachable.
func TestMasterExpiredCredentialsExit(t *testing.T) {
	var mu sync.Mutex
	shift := time.Duration(0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(shift)
	}
	expiring := emulator.Credential{AccessKeyID: "ASIAEXPIRING", SecretAccessKey: cliSecret, SessionToken: "expiringTOKEN",
		Expiration: time.Now().Add(time.Hour)}
	e, arn := startEmulator(t, emulator.Options{Clock: clock, Credentials: []emulator.Credential{emulator.DevCredential, expiring}}, "cam",
		"AWS_ACCESS_KEY_ID=ASIAEXPIRING", "AWS_SECRET_ACCESS_KEY="+cliSecret, "AWS_SESSION_TOKEN=expiringTOKEN")
	m := start(t, "master", "--channel-name", "cam", "--credentials-retry", "2s", "--log-level", "info")
	// Ready, not only on the emulator's connection list: the master fetches
	// ICE servers beside its WSS connect, and a GetIceServerConfig checked
	// after the shift below would end it through that path instead.
	m.waitErr(t, "channel connected", 30*time.Second)
	waitUntil(t, 30*time.Second, "master connected", func() bool { up, _ := e.Connections(arn); return up })
	mu.Lock()
	shift = 2 * time.Hour // the session token has expired
	mu.Unlock()
	e.DropConnections(arn)
	select {
	case <-m.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("master still running with expired credentials:\n%s", m.errOut.String())
	}
	errOut := m.errOut.String()
	if m.code != ExitAuth {
		t.Errorf("exit %d, want %d\n%s", m.code, ExitAuth, errOut)
	}
	for _, s := range []string{"master: signaling connection lost", "master: signaling reconnect attempt 1 failed: signaling handshake refused: 403",
		"signaling refused the credentials for", "hint: the credentials expired"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}
	if strings.Contains(errOut, "expiringTOKEN") {
		t.Error("stderr holds the session token")
	}
}

// TestSessionFlagsApply: --dtls-hello-verify and --wait-turn-permissions
// reach the session options, and both are off by default.
func TestSessionFlagsApply(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--dtls-hello-verify", "--wait-turn-permissions"}, true}} {
		var s sessionFlags
		cmd := &cobra.Command{}
		s.add(cmd)
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := s.parse(); err != nil {
			t.Fatal(err)
		}
		var o session.Options
		s.apply(&o)
		if o.DTLSHelloVerify != tc.want || o.WaitTURNPermissions != tc.want {
			t.Errorf("%v: DTLSHelloVerify %v, WaitTURNPermissions %v, want %v", tc.args, o.DTLSHelloVerify, o.WaitTURNPermissions, tc.want)
		}
	}
}
