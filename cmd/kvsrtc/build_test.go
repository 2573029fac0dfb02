package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// dockerBuildLine returns the `go build` RUN line of the Dockerfile, with
// its environment.
func dockerBuildLine(t *testing.T, dockerfile string) string {
	t.Helper()
	for _, line := range strings.Split(dockerfile, "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(cmd, "go build") {
			return cmd
		}
	}
	t.Fatal("the Dockerfile has no RUN ... go build line")
	return ""
}

// TestDockerfileBuild builds kvsrtc the way the Dockerfile does, by running
// the Dockerfile's own `go build` line (so the two cannot drift), and checks
// what the image relies on: a static binary (no ELF interpreter, no shared
// libraries: it runs on distroless/static), the version from the build
// argument, and help for both commands the image is for. No Docker engine
// runs here, so the image itself is not built: the multi-stage layout and
// the non-root user are checked in the file.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root := repoRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(df)
	froms := regexp.MustCompile(`(?m)^FROM `).FindAllStringIndex(text, -1)
	lastFrom := text[strings.LastIndex(text, "\nFROM ")+1:]
	if len(froms) < 2 || !strings.Contains(lastFrom, "static") || !regexp.MustCompile(`(?m)^USER nonroot`).MatchString(lastFrom) {
		t.Errorf("want a multi-stage Dockerfile whose last stage is a static base run as nonroot:\n%s", text)
	}
	line := dockerBuildLine(t, text)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(line, want) {
			t.Errorf("the build line lacks %s: %s", want, line)
		}
	}
	out := t.TempDir()
	bin := filepath.Join(out, "kvsrtc")
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(line, "/out/kvsrtc", bin))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=v9.8.7-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: it would not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	run := func(args ...string) (string, int) {
		c := exec.Command(bin, args...)
		c.Env = []string{"HOME=" + out} // as bare as a container's
		var o bytes.Buffer
		c.Stdout, c.Stderr = &o, &o
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), code
	}
	if o, code := run("--version"); code != 0 || !strings.Contains(o, "v9.8.7-test") {
		t.Errorf("--version: exit %d: %s", code, o)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"emulator", "master", "--log-format"}},
		{[]string{"master", "--help"}, []string{"--config", "--metrics-listen", "--iot-endpoint", "AWS_IOT_CORE_CREDENTIAL_ENDPOINT"}},
		{[]string{"emulator", "--help"}, []string{"--iot-listen", "--metrics-listen", "iot-cert"}},
	} {
		o, code := run(tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tc.args, code, o)
		}
		for _, w := range tc.want {
			if !strings.Contains(o, w) {
				t.Errorf("%v does not mention %s", tc.args, w)
			}
		}
	}
	// The image's default command and the systemd unit's ExecStart parse:
	// they fail on what is missing here (a file, a port), not on a flag.
	cmdLine := regexp.MustCompile(`(?m)^CMD \[(.*)\]`).FindStringSubmatch(text)
	if cmdLine == nil {
		t.Fatal("no CMD in the Dockerfile")
	}
	var cmdArgs []string
	for _, a := range strings.Split(cmdLine[1], ",") {
		cmdArgs = append(cmdArgs, strings.Trim(strings.TrimSpace(a), `"`))
	}
	if cmdArgs[0] != "emulator" {
		t.Errorf("CMD %v: want the emulator", cmdArgs)
	}
	unit, err := os.ReadFile(filepath.Join(root, "deploy/systemd/kvsrtc-master.service"))
	if err != nil {
		t.Fatal(err)
	}
	exec := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/kvsrtc (.*)$`).FindStringSubmatch(string(unit))
	if exec == nil {
		t.Fatal("no ExecStart in the unit")
	}
	o, code := run(strings.Fields(exec[1])...)
	if code != 2 || !strings.Contains(o, "--config: open /etc/kvsrtc/channels.json") {
		t.Errorf("ExecStart %s: exit %d: %s (want the missing config file, not a flag error)", exec[1], code, o)
	}
}

// TestCIExample checks the CI example against the emulator it starts: the
// variables it sets are those the emulator prints, and its credential is
// the development one.
func TestCIExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/ci/github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ci := string(b)
	for _, want := range []string{
		"AWS_ACCESS_KEY_ID: " + emulator.DevCredential.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY: " + emulator.DevCredential.SecretAccessKey,
		"AWS_ENDPOINT_URL_KINESIS_VIDEO: https://127.0.0.1:4443",
		"- 4443:4443", "AWS_CA_BUNDLE", "/home/nonroot/.kvsrtc/ca.pem", "/healthz",
	} {
		if !strings.Contains(ci, want) {
			t.Errorf("the CI example lacks %q", want)
		}
	}
}
