package cli

import "runtime/debug"

// version is set at build time (the Dockerfile passes
// -ldflags "-X github.com/kvsrtc/kvsrtc/internal/cli.version=..."); empty,
// it comes from the module's build info.
var version string

// versionString is what `kvsrtc --version` prints after "kvsrtc version ".
func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" {
		v = "devel"
		if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if !ok {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev
		if dirty {
			v += ", modified"
		}
		v += ")"
	}
	return v + " " + bi.GoVersion
}
