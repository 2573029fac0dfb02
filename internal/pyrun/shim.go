package pyrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// pyenvExec finds the pyenv a shim hands over to: pyenv's shims are bash
// scripts ending in `exec "<root>/libexec/pyenv" exec "$program" "$@"`.
var pyenvExec = regexp.MustCompile(`(?m)^exec "([^"]+/libexec/pyenv)" exec "\$program" "\$@"$`)

var shims sync.Map // shim path → the executable it runs

// unshim returns the executable a pyenv shim at path runs for program, or
// path itself when it is not a pyenv shim. A shim costs a bash script and
// `pyenv exec` (about 0.1 s) on every start; pyenv's own `which` answers
// once per process. Any other wrapper is run as it is.
func unshim(path, program string) string {
	if v, ok := shims.Load(path); ok {
		return v.(string)
	}
	real := path
	if b, err := os.ReadFile(path); err == nil && len(b) < 4096 {
		if m := pyenvExec.FindSubmatch(b); m != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, string(m[1]), "which", program).Output()
			cancel()
			if p := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(p) {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					real = p
				}
			}
		}
	}
	shims.Store(path, real)
	return real
}
