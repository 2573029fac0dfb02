package jsrun

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// modulePath is the module whose root holds jstest/.
const modulePath = "github.com/kvsrtc/kvsrtc"

// fixHint is how to repair a machine on which Check fails.
const fixHint = "run ./test.sh, or: cd jstest && npm ci --legacy-peer-deps"

// Dir returns the absolute path of the jstest directory: it walks up from the
// working directory to the go.mod of module github.com/kvsrtc/kvsrtc.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("jsrun: find jstest: %w", err)
	}
	for d := wd; ; {
		if isModuleRoot(filepath.Join(d, "go.mod")) {
			js := filepath.Join(d, "jstest")
			if _, err := os.Stat(filepath.Join(js, "call.mjs")); err != nil {
				return "", fmt.Errorf("jsrun: find jstest: %w", err)
			}
			return js, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("jsrun: find jstest: no go.mod of module %s above %s", modulePath, wd)
		}
		d = parent
	}
}

// isModuleRoot reports whether the go.mod at path declares modulePath, so a
// nested module (testdata, examples) is walked past.
func isModuleRoot(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == modulePath
		}
	}
	return false
}

// Check reports whether Call can run: node is on PATH and jstest's pinned
// npm dependencies are installed at their pinned versions. Its error says how
// to fix the machine; tests should fail with it, not skip.
func Check() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("jsrun: node not found on PATH: install Node.js 20 or later, then %s", fixHint)
	}
	dir, err := Dir()
	if err != nil {
		return fmt.Errorf("%w (%s)", err, fixHint)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return fmt.Errorf("jsrun: read jstest/package.json: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(pkg.Dependencies)) {
		want := pkg.Dependencies[name]
		var got struct {
			Version string `json:"version"`
		}
		err := readJSON(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"), &got)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("jsrun: npm package %s is not installed in %s: %s", name, dir, fixHint)
		case err != nil:
			return fmt.Errorf("jsrun: npm package %s: %w: %s", name, err, fixHint)
		case got.Version != want:
			return fmt.Errorf("jsrun: npm package %s is %s, jstest/package.json pins %s: %s", name, got.Version, want, fixHint)
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
