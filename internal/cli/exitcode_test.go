package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// Every row of the exit-code table (exitcode.go, README "Exit codes"), as
// `kvsrtc master` and `kvsrtc viewer` meet it. Rows marked warm run with the
// endpoints and ICE servers already cached, so the signaling handshake is
// the first call that meets the fault. 1 (failure) and 130 (interrupted)
// are in TestViewerRejoinsMasterCommand and TestViewerNoMediaEnds.
func TestExitCodeTable(t *testing.T) {
	limited := emulator.Credential{AccessKeyID: "AKIDLIMITED", SecretAccessKey: cliSecret, Actions: []string{"kinesisvideo:DescribeSignalingChannel"}}
	for _, tc := range []struct {
		name string
		opts emulator.Options
		warm bool
		env  func(t *testing.T) []string
		args []string
		code int
		in   string // in stderr
	}{
		{name: "usage: --seconds NaN", args: []string{"--seconds", "NaN"}, code: ExitUsage, in: "--seconds NaN: want 0 (no limit) to"},
		{name: "no credentials", env: envs("AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="), code: ExitAuth, in: "credentials missing"},
		{name: "wrong secret", env: envs("AWS_SECRET_ACCESS_KEY=" + cliSecret), code: ExitAuth, in: "credentials missing, invalid or expired"},
		{name: "wrong secret, warm cache", warm: true, env: envs("AWS_SECRET_ACCESS_KEY=" + cliSecret), code: ExitAuth,
			in: "signaling handshake refused: 403"},
		{name: "access denied", opts: emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, limited}},
			env: envs("AWS_ACCESS_KEY_ID=AKIDLIMITED", "AWS_SECRET_ACCESS_KEY="+cliSecret), code: ExitDenied, in: "may not perform kinesisvideo:GetSignalingChannelEndpoint"},
		{name: "not found", args: []string{"--channel-name", "nope"}, code: ExitNotFound, in: "channel not found"},
		{name: "TLS failure", env: envs("AWS_CA_BUNDLE="), code: ExitNetwork, in: "certificate signed by unknown authority"},
		{name: "TLS failure, warm cache", warm: true, env: envs("AWS_CA_BUNDLE="), code: ExitNetwork, in: "certificate signed by unknown authority"},
		{name: "throttled", env: func(t *testing.T) []string {
			u := fakeKVS(t, 400, "ClientLimitExceededException", `{"Message":"slow down"}`, time.Now)
			return []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + u, "AWS_MAX_ATTEMPTS=2"}
		}, code: ExitThrottle, in: "throttled by the service"},
		{name: "unknown region", args: []string{"--region", "xx-nowhere-9"}, code: ExitUsage, in: "unknown region"},
	} {
		for _, cmd := range []string{"master", "viewer"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				startEmulator(t, tc.opts, "cam")
				args := []string{cmd, "--channel-name", "cam", "--client-id", "exit-viewer"}
				if cmd == "master" {
					args = []string{cmd, "--channel-name", "cam"}
				}
				if tc.warm {
					role := map[string]string{"master": "master", "viewer": "viewer"}[cmd]
					for _, warm := range [][]string{{"endpoints", "--channel-name", "cam", "--role", role},
						{"ice", "--channel-name", "cam", "--role", role, "--client-id", map[string]string{"master": "", "viewer": "exit-viewer"}[cmd]}} {
						if _, errOut, code := run(t, warm...); code != 0 {
							t.Fatalf("warm the cache: %v: exit %d\n%s", warm, code, errOut)
						}
					}
				}
				if tc.env != nil {
					for _, kv := range tc.env(t) {
						k, v, _ := strings.Cut(kv, "=")
						t.Setenv(k, v)
					}
				}
				// A refused signaling handshake gives up at once.
				args = append(args, "--seconds", "1", "--credentials-retry", "1s")
				args = append(args, tc.args...)
				_, errOut, code := run(t, args...)
				if code != tc.code {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
				}
				if !strings.Contains(errOut, tc.in) {
					t.Errorf("stderr lacks %q:\n%s", tc.in, errOut)
				}
			})
		}
	}
}

func envs(kv ...string) func(*testing.T) []string {
	return func(*testing.T) []string { return kv }
}
