package cli

import (
	"strings"
	"testing"
)

// TestDemoRelayTCP: the demo's own emulator serves plain-TCP TURN, which
// the default emulator (as the service) no longer offers, so the
// documented `--force-turn --relay-transport tcp` still delivers media.
func TestDemoRelayTCP(t *testing.T) {
	cliEnv(t)
	out, errOut, code := run(t, "demo", "--seconds", "1", "--dir", t.TempDir(), "--force-turn", "--relay-transport", "tcp")
	if code != 0 || !strings.Contains(out, "firstVideoFrame") {
		t.Fatalf("exit %d, want 0 and a first video frame\n%s\n%s", code, out, errOut)
	}
}
