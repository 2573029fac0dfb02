package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/doctor"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Credentials the doctor tests run with.
var (
	noConnectCred = emulator.Credential{AccessKeyID: "AKIDDOCTORNOCONNECT", SecretAccessKey: cliSecret,
		Actions: []string{"kinesisvideo:DescribeSignalingChannel", "kinesisvideo:GetSignalingChannelEndpoint", "kinesisvideo:GetIceServerConfig"}}
	expiredCred = emulator.Credential{AccessKeyID: "ASIADOCTOREXPIRED", SecretAccessKey: cliSecret,
		SessionToken: "doctor-expired-session-token", Expiration: time.Now().Add(-time.Hour)}
)

// credEnv points the CLI at one of the test credentials.
func credEnv(c emulator.Credential) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_SESSION_TOKEN=" + c.SessionToken}
}

// startDoctorMaster runs a master with the emulator's full credential on
// the channel until the test ends.
func startDoctorMaster(t *testing.T, e *emulator.Emulator, arn string) {
	t.Helper()
	a, err := channel.ParseARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := emulatortest.Config(e)
	r := resolve.New(cfg, resolve.Options{NoCache: true, STUNURL: e.STUNURL()})
	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewMaster(session.MasterOptions{Options: session.Options{ChannelARN: a, Resolver: r,
		Credentials: cfg.Credentials, HTTPClient: emulatortest.HTTPClient(e), SettingEngine: loopbackICE}, Video: video})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = video.Run(ctx); done <- struct{}{} }()
	go func() { _ = m.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		m.Close()
		<-done
		<-done
	})
	deadline := time.Now().Add(20 * time.Second)
	for !m.Timeline().Has(session.StepConnect) {
		if time.Now().After(deadline) {
			t.Fatal("master did not connect")
		}
		time.Sleep(20 * time.Millisecond) // bounded polling with a deadline
	}
}

// runDoctorJSON runs kvsrtc doctor --json and decodes the report.
func runDoctorJSON(t *testing.T, args ...string) (doctor.Report, string, int) {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"doctor", "--json", "--timeout", "5s", "--answer-timeout", "3s"}, args...)...)
	return decode[doctor.Report](t, stdout), stderr, code
}

func findCheck(t *testing.T, rep doctor.Report, name string) doctor.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name || strings.HasPrefix(c.Name, name+" ") {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Checks)
	return doctor.Check{}
}

// TestDoctorFailures: each failure the doctor names, produced by the
// emulator, with its fix and exit code.
func TestDoctorFailures(t *testing.T) {
	tests := []struct {
		name   string
		opts   emulator.Options
		env    []string
		master bool
		arn    func(string) string
		args   []string
		code   int
		check  string
		fix    []string // substrings of the failing check's fix
	}{
		{name: "no ConnectAsViewer", env: credEnv(noConnectCred), args: []string{"--no-media"},
			code: ExitDoctorConnect, check: "connect",
			fix: []string{"allow kinesisvideo:ConnectAsViewer on arn:aws:kinesisvideo:us-west-2:", "the control-plane calls passed"}},
		{name: "no ConnectAsMaster", env: credEnv(noConnectCred), args: []string{"--no-media", "--role", "master"},
			code: ExitDoctorConnect, check: "connect",
			fix: []string{"allow kinesisvideo:ConnectAsMaster on arn:aws:kinesisvideo:us-west-2:"}},
		{name: "ARN of the wrong shape", args: []string{"--no-media"},
			arn:  func(a string) string { return strings.Replace(a, ":channel/", ":stream/", 1) },
			code: ExitDoctorARN, check: "arn", fix: []string{"give an ARN of the form arn:<partition>:kinesisvideo:"}},
		{name: "clock offset", opts: emulator.Options{ClockOffset: 10 * time.Minute}, args: []string{"--no-media"},
			code: ExitDoctorClock, check: "clock", fix: []string{"set the system clock"}},
		{name: "expired session token", env: credEnv(expiredCred), args: []string{"--no-media"},
			code: ExitDoctorCredentials, check: "credentials", fix: []string{"the session token has expired"}},
		{name: "TURN UDP blocked", opts: emulator.Options{BlockTURN: []string{"udp"}}, args: []string{"--no-media"},
			code: ExitDoctorTURN, check: "turn udp", fix: []string{"outbound UDP to 127.0.0.1:", "--relay-transport tls"}},
		{name: "China ARN under arn:aws:", opts: emulator.Options{Region: "cn-north-1"}, args: []string{"--no-media"},
			arn:  func(a string) string { return strings.Replace(a, "arn:aws-cn:", "arn:aws:", 1) },
			code: ExitDoctorARN, check: "arn", fix: []string{"use arn:aws-cn:kinesisvideo:cn-north-1:", "partition aws-cn"}},
		{name: "no master", code: ExitDoctorPeer, check: "peer", fix: []string{"start one on this channel (`kvsrtc master --channel-arn arn:aws:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Credentials = []emulator.Credential{emulator.DevCredential, noConnectCred, expiredCred}
			e, arn := startEmulator(t, opts, "doc", tt.env...)
			if tt.master {
				startDoctorMaster(t, e, arn)
			}
			given := arn
			if tt.arn != nil {
				given = tt.arn(arn)
			}
			rep, stderr, code := runDoctorJSON(t, append([]string{"--channel-arn", given}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			first := findCheck(t, rep, tt.check)
			if first.Status != doctor.StatusFail || string(rep.FirstFailure) != string(first.Step) {
				t.Errorf("check %s = %+v, first failure %q", tt.check, first, rep.FirstFailure)
			}
			for _, f := range tt.fix {
				if !strings.Contains(first.Fix, f) {
					t.Errorf("fix %q lacks %q", first.Fix, f)
				}
			}
			if !strings.Contains(stderr, "first failing step: "+string(first.Step)) {
				t.Errorf("stderr does not name the step:\n%s", stderr)
			}
			// Later steps still ran where they could.
			switch tt.name {
			case "clock offset", "China ARN under arn:aws:", "TURN UDP blocked":
				for _, n := range []string{"describeChannel", "getEndpoint", "getIceConfig", "connect", "stun", "turn tls"} {
					if c := findCheck(t, rep, n); c.Status != doctor.StatusPass {
						t.Errorf("%s after the failure: %+v", n, c)
					}
				}
			case "no ConnectAsViewer":
				if c := findCheck(t, rep, "turn udp"); c.Status != doctor.StatusPass {
					t.Errorf("turn udp: %+v", c)
				}
			case "ARN of the wrong shape":
				if c := findCheck(t, rep, "describeChannel"); c.Status != doctor.StatusSkip {
					t.Errorf("describe without an ARN: %+v", c)
				}
			case "expired session token":
				if c := findCheck(t, rep, "getEndpoint"); c.Status != doctor.StatusSkip {
					t.Errorf("getEndpoint with refused credentials: %+v", c)
				}
				if c := findCheck(t, rep, "stun"); c.Status != doctor.StatusPass {
					t.Errorf("stun needs no credentials: %+v", c)
				}
			}
			if strings.Contains(stderr+first.Error, expiredCred.SessionToken) {
				t.Error("output holds the session token")
			}
		})
	}
}

// normalise replaces what changes between runs in a human report: times,
// ports, ids; check lines are laid out again so the padding does not
// depend on the width of a port number.
func normalise(s string) string {
	subs := []struct{ re, with string }{
		{`127\.0\.0\.(\d+):\d+`, "127.0.0.$1:PORT"},
		{`/\d{13}`, "/CREATED"},
		{`/([rmv])-[0-9a-z]+`, "/$1-ID"},
		{`doctor-[0-9a-f]{12}`, "doctor-ID"},
		{`offset [+-]\d+s`, "offset Ns"},
		{`at \d+ ms`, "at N ms"},
		{`\d+\.\d+ s\)`, "N s)"},
	}
	line := regexp.MustCompile(`^([✓✗–]) (.+?) +(\d+ ms|    ) (.*)$`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		m := line.FindStringSubmatch(l)
		ms := "N ms"
		if m != nil {
			if !strings.HasSuffix(m[3], "ms") {
				ms = "    "
			}
			l = m[1] + " \x00" + m[2] + "\x00 " + ms + " " + m[4]
		}
		for _, r := range subs {
			l = regexp.MustCompile(r.re).ReplaceAllString(l, r.with)
		}
		if m != nil {
			pre, rest, _ := strings.Cut(l, "\x00")
			name, rest, _ := strings.Cut(rest, "\x00")
			l = fmt.Sprintf("%s%-28s%s", pre, name, rest)
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestDoctorHealthy: with a master on the channel every line passes, the
// human report matches the golden file (times normalised), and the SVG
// report has one bar per check at the JSON's times.
func TestDoctorHealthy(t *testing.T) {
	// Two doctor runs back to back open more than the channel's 3
	// connections a second now that the relay probes no longer wait 2 s
	// each: the quota is not what this test is about.
	e, arn := startEmulator(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}}, "doc")
	startDoctorMaster(t, e, arn)

	rep, stderr, code := runDoctorJSON(t, "--channel-arn", arn)
	if code != 0 {
		t.Fatalf("exit %d\n%s\nfailed: %+v", code, stderr, rep.Failed())
	}
	// Two TURN servers, each with turn:udp, turns:udp and turns:tcp, as
	// the service lists them.
	want := []string{"credentials", "clock", "arn", "describeChannel", "getEndpoint", "getIceConfig", "connect", "stun",
		"turn udp", "turn dtls", "turn tls", "turn udp", "turn dtls", "turn tls", "peer", "media host", "media relay udp", "media relay tls"}
	var got []string
	for _, c := range rep.Checks {
		name := c.Name
		if c.Step == doctor.StepTURN {
			name = name[:strings.LastIndex(name, " ")] // without host:port
		}
		got = append(got, name)
		// No client uses TURN over DTLS.
		skipOK := strings.HasPrefix(c.Name, "turn dtls ")
		if c.Status != doctor.StatusPass && !(skipOK && c.Status == doctor.StatusSkip) {
			t.Errorf("check %s: %+v", c.Name, c)
		}
		if c.Ms < 0 || c.EndMs < c.StartMs {
			t.Errorf("check %s times: %+v", c.Name, c)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("checks %v\nwant %v", got, want)
	}

	svg := filepath.Join(t.TempDir(), "doctor.svg")
	stdout, stderr, code := run(t, "doctor", "--channel-arn", arn, "--client-id", "doctor-000000000000", "--report", svg)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"… allocating TURN relays on 6 URIs", "… offering to the master", "… probing media relayed over tls"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks the progress line %q:\n%s", want, stderr)
		}
	}
	golden := filepath.Join("testdata", "doctor-healthy.golden")
	norm := normalise(stdout)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(norm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantOut, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if norm != string(wantOut) {
		t.Errorf("human report differs from %s (go test -run TestDoctorHealthy -update):\n%s", golden, norm)
	}
	checkSVG(t, svg, rep.Checks)
}

// TestDoctorFlags: usage errors exit 2 and say what is allowed.
func TestDoctorFlags(t *testing.T) {
	cliEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "boss"}, "want master or viewer"},
		{[]string{"--timeout", "0s"}, "--timeout 0s: want between 1s and 5m0s"},
		{[]string{"--wait-viewer", "2h"}, "--wait-viewer 2h0m0s: want between 0s and 1h0m0s"},
		{[]string{"--report", "x.png"}, "want a file name ending in .svg"},
		{[]string{"--channel-arn", "a", "--channel-name", "b"}, "not both"},
	} {
		_, stderr, code := run(t, append([]string{"doctor"}, tt.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("doctor %v: exit %d, %s", tt.args, code, stderr)
		}
	}
}

// TestDoctorMasterWaitViewer: as master with --wait-viewer, the doctor
// waits for a viewer, and reports it joining (peer) and the first frame
// sent to it (media).
func TestDoctorMasterWaitViewer(t *testing.T) {
	e, arn := startEmulator(t, emulator.Options{}, "doc")
	type result struct {
		rep    doctor.Report
		stderr string
		code   int
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, code := run(t, "doctor", "--channel-arn", arn, "--role", "master", "--wait-viewer", "40s", "--json")
		var rep doctor.Report
		_ = json.Unmarshal([]byte(stdout), &rep)
		done <- result{rep, stderr, code}
	}()
	a, err := channel.ParseARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := emulatortest.Config(e)
	r := resolve.New(cfg, resolve.Options{NoCache: true, STUNURL: e.STUNURL()})
	var res result
	// A viewer offers until the doctor's master answers (the doctor's
	// connect check opens and closes a master connection first, and an
	// offer to that one is lost), at most until the doctor ends.
	for attempt := 0; ; attempt++ {
		select {
		case res = <-done:
		default:
			if attempt > 30 {
				t.Fatal("the doctor did not end")
			}
			v, err := session.NewViewer(session.ViewerOptions{Options: session.Options{ChannelARN: a, Resolver: r,
				Credentials: cfg.Credentials, HTTPClient: emulatortest.HTTPClient(e), SettingEngine: loopbackICE},
				ClientID: fmt.Sprintf("probe-%d", attempt), AnswerTimeout: 2 * time.Second, VideoFrames: 1})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_ = v.Run(ctx)
			cancel()
			v.Close()
			continue
		}
		break
	}
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\nfailed: %+v", res.code, res.stderr, res.rep.Failed())
	}
	peer, md := findCheck(t, res.rep, "peer"), findCheck(t, res.rep, "media")
	if peer.Status != doctor.StatusPass || !strings.Contains(peer.Detail, "viewer probe-") ||
		md.Status != doctor.StatusPass || !strings.Contains(md.Detail, "first frame sent to probe-") {
		t.Errorf("peer %+v\nmedia %+v", peer, md)
	}
}

// TestDoctorExitCodes: every doctor step has its own code, documented in
// the README's exit-code table and in the command's help.
func TestDoctorExitCodes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	help := newDoctorCmd(&IOStreams{}, nil).Long
	seen := map[int]doctor.Step{}
	for _, s := range doctor.Steps {
		code, ok := doctorExit[s]
		if !ok {
			t.Errorf("step %s has no exit code", s)
			continue
		}
		if other, dup := seen[code]; dup || code < 10 || code > 20 {
			t.Errorf("step %s: code %d (also %s)", s, code, other)
		}
		seen[code] = s
		entry := fmt.Sprintf("%d %s", code, s)
		if !strings.Contains(string(readme), entry) || !strings.Contains(strings.Join(strings.Fields(help), " "), entry) {
			t.Errorf("%q is not in the README's exit-code table or the help", entry)
		}
		if got := exitCode(&doctorFailure{step: s}); got != code {
			t.Errorf("exitCode(%s) = %d, want %d", s, got, code)
		}
	}
}
