package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kvsrtc/kvsrtc"

// allowed lists, for each package of ours (by prefix, longest match), the
// packages of ours it may import. Anything of ours not listed is refused.
var allowed = map[string][]string{
	"channel":   {},
	"wire":      {},
	"media":     {},
	"emulator":  {"emulator", "wire", "channel", "media"}, // media is a leaf too: it imports nothing of ours
	"creds":     {"channel", "wire"},
	"resolve":   {"creds", "channel", "wire"},
	"signaling": {"resolve", "creds", "channel", "wire"},
	"session":   {"signaling", "resolve", "creds", "channel", "wire", "media"},
	// sessiontest wires a session to an emulator for tests: client → emulator
	// is fine, the other way round is not.
	"session/sessiontest": {"session", "signaling", "resolve", "creds", "channel", "wire", "media", "emulator"},
	"waterfall":           {},
	"web":                 {"session", "signaling", "resolve", "creds", "channel", "wire", "media", "waterfall"},
	"doctor":              {"session", "signaling", "resolve", "creds", "channel", "wire", "media", "waterfall"},
	// metrics reads sessions (and an emulator's counters) for Prometheus;
	// nothing below the CLI imports it, the emulator least of all.
	"metrics": {"session", "signaling", "resolve", "creds", "channel", "wire", "media", "emulator"},
	// Test-only helpers and the CLI may use everything below them.
	"internal/jsrun":    {"internal/redact"},
	"internal/pyrun":    {"internal/redact"},
	"internal/redact":   {},
	"internal/archtest": {},
	"internal/cmd":      {}, // measurement programs: third-party code only
	"internal/soak":     {}, // the soak suite: tests only
	"internal/cli":      {"*"},
	"cmd/kvsrtc":        {"internal/cli"},
	"examples":          {"*"},
	"browsertest":       {"*"},
}

func rule(pkg string) (string, []string, bool) {
	best := ""
	for p := range allowed {
		if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > len(best) {
			best = p
		}
	}
	return best, allowed[best], best != ""
}

func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		name, allow, ok := rule(rel)
		if !ok {
			t.Errorf("package %s has no rule in allowed: add one", rel)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if dep == name || strings.HasPrefix(dep, name+"/") {
				continue // within itself (e.g. emulator → emulator/internal/sigv4)
			}
			ok := false
			for _, a := range allow {
				if a == "*" || dep == a || strings.HasPrefix(dep, a+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s: the import graph flows cli → session → signaling → resolve → creds → leaves (channel, wire); the emulator imports only leaves", rel, dep)
			}
		}
	}
}

func TestRulesRefuseWrongArrows(t *testing.T) {
	refused := [][2]string{{"emulator", "metrics"}, {"session", "metrics"}, {"emulator", "signaling"}, {"emulator", "resolve"}, {"wire", "channel"}, {"creds", "resolve"}, {"signaling", "session"}, {"resolve", "internal/cli"}, {"waterfall", "session"}, {"doctor", "internal/cli"}}
	for _, arrow := range refused {
		_, allow, _ := rule(arrow[0])
		for _, a := range allow {
			if a == "*" || arrow[1] == a || strings.HasPrefix(arrow[1], a+"/") {
				t.Errorf("%s → %s is allowed by the rules", arrow[0], arrow[1])
			}
		}
	}
}

// TestNoInternalTypeInPublicAPI: an exported function, method, field or
// type of a public package must not name a type from an internal package
// (its caller could not name it; style.md "Wire types are public"). It reads
// `go doc -all` of each public package and looks for the names of the
// internal packages it imports.
func TestNoInternalTypeInPublicAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		if strings.Contains(pkg, "/internal") || strings.HasPrefix(pkg, module+"/cmd/") || strings.HasPrefix(pkg, module+"/examples/") {
			continue
		}
		var internal []string
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, module+"/") && strings.Contains(imp, "/internal/") {
				internal = append(internal, imp[strings.LastIndex(imp, "/")+1:])
			}
		}
		if len(internal) == 0 {
			continue
		}
		doc, err := exec.Command("go", "doc", "-all", pkg).Output()
		if err != nil {
			t.Fatalf("go doc %s: %v", pkg, err)
		}
		for _, l := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t//") {
				continue // doc text
			}
			for _, name := range internal {
				if strings.Contains(l, name+".") {
					t.Errorf("%s: %q names a type of internal package %s", strings.TrimPrefix(pkg, module+"/"), strings.TrimSpace(l), name)
				}
			}
		}
	}
}
