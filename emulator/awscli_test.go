package emulator_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/pyrun"
)

// boto3 finds the emulator through the variables Emulator.Env prints, as a
// user's unmodified program would (no endpoint_url in the code).
func TestBoto3EndpointFromEnv(t *testing.T) {
	if err := pyrun.Check(); err != nil {
		t.Fatal(err)
	}
	e := emulatortest.Start(t, emulator.Options{})
	env := pyEnv(e, e.Credential())
	env.Endpoint = ""
	env.Environ = e.Env()
	r := runPy(t, env, "endpointenv", map[string]string{"url": e.URL(), "ca": e.CABundlePath()})
	var created struct{ ChannelARN string }
	wantOK(t, r, "create", &created)
	var eps struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	wantOK(t, r, "endpoint", &eps)
	if len(eps.ResourceEndpointList) != 1 || !strings.HasPrefix(eps.ResourceEndpointList[0].ResourceEndpoint, e.URL()+"/") {
		t.Errorf("endpoint: %+v, want one under %s", eps, e.URL())
	}
	var desc struct{ ChannelInfo struct{ ChannelARN string } }
	wantOK(t, r, "describe_global", &desc)
	if desc.ChannelInfo.ChannelARN != created.ChannelARN {
		t.Errorf("describe with AWS_ENDPOINT_URL: %+v", desc)
	}
	if res := step(t, r, "ice_on_control_plane"); res.OK || res.Code != "UnknownOperationException" || res.HTTPStatusCode != 404 {
		t.Errorf("GetIceServerConfig on the control-plane host: %v", res)
	}
	if res := step(t, r, "no_ca"); res.OK || res.Class != "SSLError" {
		t.Errorf("without AWS_CA_BUNDLE: %v, want SSLError", res)
	}
	wantOK(t, r, "verify_param", nil)
}

// The unmodified AWS CLI v1 against the emulator in the aws-cn partition:
// the commands of the KVS WebRTC getting-started guide with --endpoint-url
// and with the emulator's Env(), and the exit status and stderr on typed
// errors.
func TestAWSCLI(t *testing.T) {
	if err := pyrun.CheckCLI(); err != nil {
		t.Fatal(err)
	}
	denied := emulator.Credential{AccessKeyID: "AKIDCLIDENIED", SecretAccessKey: "cli-denied-secret", Actions: []string{"kinesisvideo:Describe*"}}
	e := emulatortest.Start(t, emulator.Options{Region: "cn-north-1", Credentials: []emulator.Credential{emulator.DevCredential, denied}})
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	env := pyEnv(e, e.Credential())
	aws := func(env pyrun.Env, args ...string) *pyrun.CLIResult {
		t.Helper()
		r, err := pyrun.CLI(ctx, env, args...)
		if err != nil {
			t.Error(err) // not Fatal: called from goroutines too
			return &pyrun.CLIResult{ExitCode: -1}
		}
		return r
	}

	var created struct{ ChannelARN string }
	r := aws(env, "kinesisvideo", "create-signaling-channel", "--channel-name", "cli-chan")
	if err := r.Decode(&created); err != nil || !strings.HasPrefix(created.ChannelARN, "arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/cli-chan/") {
		t.Fatalf("create-signaling-channel: %v %v", r, err)
	}

	// Independent commands run side by side: each CLI start costs most of
	// a second.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, check := range []func(){
		func() {
			var desc struct {
				ChannelInfo struct {
					ChannelName, ChannelARN, ChannelStatus string
					CreationTime                           float64 // the CLI v1 prints the wire's epoch seconds
				}
			}
			r := aws(env, "kinesisvideo", "describe-signaling-channel", "--channel-name", "cli-chan")
			if err := r.Decode(&desc); err != nil || desc.ChannelInfo.ChannelARN != created.ChannelARN || desc.ChannelInfo.ChannelStatus != "ACTIVE" ||
				desc.ChannelInfo.CreationTime < 1.7e9 {
				t.Errorf("describe-signaling-channel: %v %v", r, err)
			}
		},
		func() {
			// Typed errors: the CLI v1 exits 255 and names the code and the
			// operation (and, in standard retry mode, the retries).
			r := aws(env, "kinesisvideo", "describe-signaling-channel", "--channel-name", "no-such-channel")
			notFound := regexp.MustCompile(`^An error occurred \(ResourceNotFoundException\) when calling the DescribeSignalingChannel operation( \(reached max retries: 0\))?: The requested channel is not found or not active\.$`)
			if r.ExitCode != 255 || !notFound.MatchString(strings.TrimSpace(r.Stderr)) || len(r.Stdout) != 0 {
				t.Errorf("describe a missing channel: %v, want exit 255 and stderr matching %s", r, notFound)
			}
		},
		func() {
			r := aws(pyEnv(e, denied), "kinesisvideo", "create-signaling-channel", "--channel-name", "denied")
			if r.ExitCode != 255 || !strings.Contains(r.Stderr, "An error occurred (AccessDeniedException) when calling the CreateSignalingChannel operation") ||
				!strings.Contains(r.Stderr, "User: arn:aws-cn:iam::123456789012:user/AKIDCLIDENIED is not authorized to perform: kinesisvideo:CreateSignalingChannel") {
				t.Errorf("create with a describe-only key: %v", r)
			}
		},
		func() {
			// The documented way: the emulator's Env(), no --endpoint-url.
			byEnv := env
			byEnv.Endpoint = ""
			byEnv.Environ = e.Env()
			var list struct {
				ChannelInfoList []struct{ ChannelARN string }
			}
			r := aws(byEnv, "kinesisvideo", "list-signaling-channels")
			if err := r.Decode(&list); err != nil || len(list.ChannelInfoList) != 1 || list.ChannelInfoList[0].ChannelARN != created.ChannelARN {
				t.Errorf("list-signaling-channels with the emulator's Env(): %v %v", r, err)
			}
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			check()
		}()
	}

	var eps struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	r = aws(env, "kinesisvideo", "get-signaling-channel-endpoint", "--channel-arn", created.ChannelARN,
		"--single-master-channel-endpoint-configuration", "Protocols=WSS,HTTPS,Role=VIEWER")
	if err := r.Decode(&eps); err != nil || len(eps.ResourceEndpointList) != 2 {
		t.Fatalf("get-signaling-channel-endpoint: %v %v", r, err)
	}
	https := ""
	for _, ep := range eps.ResourceEndpointList {
		if ep.Protocol == "HTTPS" {
			https = ep.ResourceEndpoint
		}
	}
	sig := env
	sig.Endpoint = https
	var ice struct {
		IceServerList []struct {
			Uris               []string
			Username, Password string
			Ttl                int
		}
	}
	r = aws(sig, "kinesis-video-signaling", "get-ice-server-config", "--channel-arn", created.ChannelARN, "--client-id", "cli-viewer")
	if err := r.Decode(&ice); err != nil || len(ice.IceServerList) == 0 {
		t.Fatalf("get-ice-server-config: %v %v", r, err)
	}
	for _, s := range ice.IceServerList {
		if len(s.Uris) == 0 || s.Username == "" || s.Password == "" || s.Ttl <= 0 {
			t.Errorf("get-ice-server-config: server with uris %v, username %q, password set %v, ttl %d", s.Uris, s.Username, s.Password != "", s.Ttl)
		}
	}
	if strings.Contains(r.String(), ice.IceServerList[0].Password) {
		t.Error("CLIResult.String shows the TURN password")
	}
}
