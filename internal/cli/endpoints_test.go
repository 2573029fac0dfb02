package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// cliSecret is the secret key of the test credential: no output may hold it.
const cliSecret = "kvsrtcCLIsecretKEY0123456789abcdefSECRET"

// awsEnvKeys are cleared for every CLI run, so the machine's AWS setup
// cannot leak into a test.
var awsEnvKeys = []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", envCacheDir, envCredentialsURL, envSTUNURL, "KVSRTC_CREDENTIALS_AUTH"}

// cliEnv sets a clean environment: no shared config, no IMDS, a private
// cache dir, plus env (KEY=VALUE).
func cliEnv(t *testing.T, env ...string) {
	t.Helper()
	for _, k := range awsEnvKeys {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(envCacheDir, filepath.Join(dir, "cache"))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// run runs kvsrtc in process and returns stdout, stderr and the exit code.
// Every output is checked for the test secret key.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, cliSecret) || strings.Contains(s, emulator.DevCredential.SecretAccessKey) {
			t.Errorf("kvsrtc %s printed a secret key:\n%s", strings.Join(args, " "), s)
		}
	}
	return out.String(), errOut.String(), code
}

// startEmulator starts an emulator, creates a channel and sets the
// environment that points kvsrtc at it.
func startEmulator(t *testing.T, opts emulator.Options, name string, extraEnv ...string) (*emulator.Emulator, string) {
	t.Helper()
	e := emulatortest.Start(t, opts)
	out, err := kinesisvideo.NewFromConfig(emulatortest.Config(e)).CreateSignalingChannel(context.Background(),
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	cliEnv(t, append(e.Env(), extraEnv...)...)
	return e, aws.ToString(out.ChannelARN)
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func TestEndpointsCommand(t *testing.T) {
	for _, region := range []string{"us-west-2", "cn-north-1"} {
		t.Run(region, func(t *testing.T) {
			e, arn := startEmulator(t, emulator.Options{Region: region, ShuffleEndpoints: true}, "cam")
			host := strings.TrimPrefix(e.URL(), "https://")
			for _, role := range []string{"master", "viewer"} {
				stdout, stderr, code := run(t, "endpoints", "--channel-arn", arn, "--role", role, "--json")
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				got := decode[endpointsJSON](t, stdout)
				prefix := map[string]string{"master": "/m-", "viewer": "/v-"}[role]
				if got.ChannelARN != arn || got.Role != strings.ToUpper(role) || got.Region != region || got.Cached ||
					!strings.HasPrefix(got.HTTPS, "https://"+host+"/r-") || !strings.HasPrefix(got.WSS, "wss://"+host+prefix) ||
					got.ControlPlane != e.URL() {
					t.Errorf("endpoints = %+v", got)
				}
			}
			// Warm: no call at all, and the human form.
			before := e.TotalRequests()
			stdout, _, code := run(t, "endpoints", "--channel-arn", arn, "--role", "viewer")
			if code != 0 || e.TotalRequests() != before {
				t.Fatalf("warm run: exit %d, %d calls", code, e.TotalRequests()-before)
			}
			for _, want := range []string{"channel        " + arn, "role           VIEWER", "wss            wss://" + host + "/v-", ", cached)"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			// By name: one DescribeSignalingChannel, then cached too.
			for range 2 {
				if _, stderr, code := run(t, "endpoints", "--channel-name", "cam", "--role", "master"); code != 0 {
					t.Fatalf("by name: exit %d: %s", code, stderr)
				}
			}
			if n := e.Requests("DescribeSignalingChannel"); n != 1 {
				t.Errorf("%d DescribeSignalingChannel calls, want 1", n)
			}
		})
	}
}

func TestICECommand(t *testing.T) {
	e, arn := startEmulator(t, emulator.Options{Region: "cn-north-1"}, "cam")
	stdout, stderr, code := run(t, "ice", "--channel-arn", arn, "--role", "viewer", "--client-id", "v1", "--json", "--show-secrets")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	shown := decode[iceJSON](t, stdout)
	// The emulator's env file names its own STUN server (KVSRTC_STUN_URL).
	if len(shown.ICEServers) != 3 || shown.ICEServers[0].URLs[0] != e.STUNURL() {
		t.Fatalf("servers = %v", shown.ICEServers)
	}
	// Without it, the region's KVS STUN URL, from the SDK's host rules.
	t.Setenv("KVSRTC_STUN_URL", "")
	stdout, stderr, code = run(t, "ice", "--channel-arn", arn, "--role", "viewer", "--client-id", "v1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := decode[iceJSON](t, stdout).ICEServers[0].URLs[0]; got != "stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443" {
		t.Fatalf("STUN URL = %q", got)
	}
	var passwords []string
	for _, s := range shown.ICEServers[1:] {
		if s.Credential == "" || s.Credential == "****" || s.Expires.IsZero() {
			t.Errorf("TURN server = %+v", s)
		}
		passwords = append(passwords, s.Credential)
	}
	before := e.TotalRequests()
	jsonOut, _, code := run(t, "ice", "--channel-arn", arn, "--role", "viewer", "--client-id", "v1", "--json")
	human, stderr, code2 := run(t, "ice", "--channel-arn", arn, "--role", "viewer", "--client-id", "v1", "-v")
	if code != 0 || code2 != 0 || e.TotalRequests() != before {
		t.Fatalf("warm runs: exit %d %d, %d calls", code, code2, e.TotalRequests()-before)
	}
	red := decode[iceJSON](t, jsonOut)
	if !red.Cached || red.ICEServers[1].Credential != "****" || red.ICEServers[1].Username != shown.ICEServers[1].Username {
		t.Errorf("redacted = %+v", red)
	}
	for _, p := range passwords {
		if strings.Contains(jsonOut+human+stderr, p) {
			t.Errorf("TURN password printed without --show-secrets")
		}
	}
	for _, want := range []string{"URL", "USERNAME", "PASSWORD", "stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443", "****", "refresh by"} {
		if !strings.Contains(human, want) {
			t.Errorf("human output lacks %q:\n%s", want, human)
		}
	}
	if !strings.Contains(stderr, "cache: ICE servers from ") || !strings.Contains(stderr, "clock offset") {
		t.Errorf("-v stderr = %q", stderr)
	}
}

// --credentials-url in both shapes: kvsrtc's (with region and ARN) and the
// container-credentials one.
func TestCredentialsURL(t *testing.T) {
	_, arn := startEmulator(t, emulator.Options{Credentials: []emulator.Credential{
		emulator.DevCredential, {AccessKeyID: "ASIAURLTEST", SecretAccessKey: cliSecret, SessionToken: "urlTOKENurlTOKEN"}}}, "cam")
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	shapes := map[string]string{
		"/kvsrtc":    fmt.Sprintf(`{"ak":"ASIAURLTEST","sk":%q,"token":"urlTOKENurlTOKEN","region":"us-west-2","arn":%q,"expiration":%q}`, cliSecret, arn, exp),
		"/container": fmt.Sprintf(`{"AccessKeyId":"ASIAURLTEST","SecretAccessKey":%q,"Token":"urlTOKENurlTOKEN","Expiration":%q}`, cliSecret, exp),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, shapes[r.URL.Path])
	}))
	defer srv.Close()
	// No key in the environment: only the URL can supply one.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_REGION", "")
	for _, tc := range []struct {
		path string
		args []string
	}{
		{"/kvsrtc", nil}, // region and channel ARN from the response
		{"/container", []string{"--channel-arn", arn}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			stdout, stderr, code := run(t, append([]string{"ice", "--no-cache", "--json", "--credentials-url", srv.URL + tc.path}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := decode[iceJSON](t, stdout); got.ChannelARN != arn || len(got.ICEServers) != 3 {
				t.Errorf("ice = %+v", got)
			}
			if strings.Contains(stdout+stderr, "urlTOKENurlTOKEN") {
				t.Error("session token printed")
			}
		})
	}
	// A URL that answers garbage is an auth failure.
	_, stderr, code := run(t, "ice", "--credentials-url", srv.URL+"/nothing", "--channel-arn", arn)
	if code != ExitAuth || !strings.Contains(stderr, "credentials URL") {
		t.Errorf("bad URL: exit %d: %s", code, stderr)
	}
}

func TestClockSkewCommand(t *testing.T) {
	_, arn := startEmulator(t, emulator.Options{ClockOffset: 10 * time.Minute}, "cam")
	stdout, stderr, code := run(t, "ice", "--channel-arn", arn, "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`clock offset \+(9m59s|10m0s|10m1s) \(service − local\): the local clock is off`).MatchString(stderr) || !strings.Contains(stderr, "getSignalingChannelEndpoint 403") ||
		!strings.Contains(stderr, "getSignalingChannelEndpoint 200") || !strings.Contains(stderr, "get-ice-server-config 200") {
		t.Errorf("-v stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "turn:") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestChannelCommands(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "other")
	stdout, stderr, code := run(t, "channel", "create", "--channel-name", "cam", "--message-ttl", "30s", "--tag", "team=video")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	arn := strings.TrimSpace(stdout)
	stdout, _, code = run(t, "channel", "describe", "--channel-name", "cam", "--json")
	if got := decode[channelJSON](t, stdout); code != 0 || got.ChannelARN != arn || got.MessageTTLSeconds != 30 || got.Status != "ACTIVE" {
		t.Errorf("describe: exit %d %+v", code, got)
	}
	if _, stderr, code := run(t, "channel", "update", "--channel-arn", arn, "--message-ttl", "90s"); code != 0 {
		t.Fatalf("update: exit %d: %s", code, stderr)
	}
	stdout, _, _ = run(t, "channel", "describe", "--channel-arn", arn)
	if !strings.Contains(stdout, "message ttl  90s") {
		t.Errorf("describe after update:\n%s", stdout)
	}
	stdout, _, code = run(t, "channel", "list", "--prefix", "ca", "--json")
	list := decode[struct{ Channels []channelJSON }](t, stdout)
	if code != 0 || len(list.Channels) != 1 || list.Channels[0].ChannelName != "cam" {
		t.Errorf("list: exit %d %+v", code, list)
	}
	// Resolve (cached), delete, and the cache no longer serves it.
	if _, _, code := run(t, "endpoints", "--channel-name", "cam"); code != 0 {
		t.Fatal("endpoints before delete")
	}
	if _, stderr, code := run(t, "channel", "delete", "--channel-name", "cam"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, stderr)
	}
	_, stderr, code = run(t, "endpoints", "--channel-arn", arn)
	if code != ExitNotFound || !strings.Contains(stderr, "channel not found: "+arn) {
		t.Errorf("after delete: exit %d: %s", code, stderr)
	}
	_ = e
	if _, _, code := run(t, "channel", "update", "--channel-arn", arn, "--message-ttl", "500s"); code != ExitUsage {
		t.Errorf("bad ttl: exit %d", code)
	}
}

// closedURL is an https URL nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "https://" + ln.Addr().String()
}
