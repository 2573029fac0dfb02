package jsrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(dir) || filepath.Base(dir) != "jstest" {
		t.Errorf("Dir() = %q, want an absolute path ending in jstest", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
		t.Errorf("jstest has no lockfile: %v", err)
	}
}

func TestDirOutsideModule(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Dir(); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Errorf("Dir() outside the module: err = %v, want no go.mod", err)
	}
}

func TestCheck(t *testing.T) {
	// The test machine must have node and jstest's packages: fail, never skip.
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckMissingNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Check()
	if err == nil || !strings.Contains(err.Error(), fixHint) {
		t.Errorf("Check() without node = %v, want an error with %q", err, fixHint)
	}
}
