package wire_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps wire a leaf: it is imported by the client
// packages and by the emulator, so it may import nothing but the standard
// library.
func TestStandardLibraryOnly(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/kvsrtc/kvsrtc/wire" {
			t.Errorf("wire depends on %s; only the standard library is allowed", p)
		}
	}
}
