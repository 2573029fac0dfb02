package pyrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A pyenv shim is replaced by what it runs; any other file is run as it is.
func TestUnshim(t *testing.T) {
	dir := t.TempDir()
	fakePyenv := filepath.Join(dir, "root", "libexec", "pyenv")
	realPy := filepath.Join(dir, "root", "versions", "3.11.7", "bin", "python3")
	for _, p := range []string{fakePyenv, realPy} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// `pyenv which python3` prints the real interpreter.
	if err := os.WriteFile(fakePyenv, []byte("#!/bin/sh\n[ \"$1\" = which ] && echo "+realPy+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(realPy, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "shims", "python3")
	wrapper := filepath.Join(dir, "wrapper", "python3")
	for p, body := range map[string]string{
		shim:    "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\nexec \"" + fakePyenv + "\" exec \"$program\" \"$@\"\n",
		wrapper: "#!/bin/sh\nexec python3 -S \"$@\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := unshim(shim, "python3"); got != realPy {
		t.Errorf("unshim(shim) = %q, want %q", got, realPy)
	}
	if got := unshim(wrapper, "python3"); got != wrapper {
		t.Errorf("unshim(wrapper) = %q, want the wrapper itself", got)
	}
	// The machine's python3: whatever it resolves to still has boto3.
	if py, err := exec.LookPath("python3"); err == nil {
		if out, err := exec.Command(unshim(py, "python3"), "-c", "import boto3").CombinedOutput(); err != nil {
			t.Errorf("resolved %s cannot import boto3: %v %s", py, err, out)
		}
	}
}
