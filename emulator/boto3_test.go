package emulator_test

import (
	"context"
	"crypto/tls"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/pyrun"
)

// pyEnv is a pyrun.Env that reaches e with credential c.
func pyEnv(e *emulator.Emulator, c emulator.Credential) pyrun.Env {
	return pyrun.Env{Endpoint: e.URL(), Region: e.Region(), AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, CABundle: e.CABundlePath()}
}

// runPy runs testdata/python/<name>.py and returns its results by step.
func runPy(t *testing.T, env pyrun.Env, name string, input any) map[string]*pyrun.Result {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("testdata", "python", name+".py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got map[string]*pyrun.Result
	if err := pyrun.Run(ctx, env, string(script), input, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// step returns result key of r, failing the test when the script has none.
func step(t *testing.T, r map[string]*pyrun.Result, key string) *pyrun.Result {
	t.Helper()
	res, ok := r[key]
	if !ok || res == nil {
		t.Fatalf("no result %q", key)
	}
	return res
}

// wantOK decodes step key's output into v (nil: only check it succeeded).
func wantOK(t *testing.T, r map[string]*pyrun.Result, key string, v any) {
	t.Helper()
	res := step(t, r, key)
	if !res.OK || res.HTTPStatusCode != 200 {
		t.Errorf("%s: %v", key, res)
		return
	}
	if v != nil {
		if err := res.Decode(v); err != nil {
			t.Errorf("%s: decode: %v", key, err)
		}
	}
}

// wantError checks that step key raised botocore's modeled exception code
// (the class botocore generated from the model, so the header and body were
// parsed) with the HTTP status and a message.
func wantError(t *testing.T, r map[string]*pyrun.Result, key, code string, status int) {
	t.Helper()
	res := step(t, r, key)
	if res.OK || res.Code != code || res.Class != code || res.HTTPStatusCode != status || res.Message == "" || res.RequestID == "" {
		t.Errorf("%s: got %v, want %s (the modeled class) with status %d, a message and a request id", key, res, code, status)
	}
}

// The unmodified boto3 against the emulator: the control plane lifecycle,
// the HTTPS data plane on the endpoint it returns, the storage service on the
// WEBRTC endpoint, and the typed errors, in both ARN partitions.
func TestBoto3(t *testing.T) {
	if err := pyrun.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ region, partition string }{{"us-west-2", "aws"}, {"cn-north-1", "aws-cn"}} {
		t.Run(tc.region, func(t *testing.T) {
			denied := emulator.Credential{AccessKeyID: "AKIDPYDENIED", SecretAccessKey: "py-denied-secret",
				SessionToken: "py-denied-token", Actions: []string{"kinesisvideo:DescribeSignalingChannel"}}
			e := emulatortest.Start(t, emulator.Options{Region: tc.region, Credentials: []emulator.Credential{emulator.DevCredential, denied}})
			r := runPy(t, pyEnv(e, e.Credential()), "lifecycle", map[string]string{"name": "py-chan"})
			checkLifecycle(t, r, tc.region, tc.partition)

			var eps struct {
				ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
			}
			wantOK(t, r, "endpoint_MASTER", &eps)
			in := map[string]string{}
			for _, ep := range eps.ResourceEndpointList {
				in[strings.ToLower(ep.Protocol)] = ep.ResourceEndpoint
			}
			var ch struct{ ChannelARN string }
			wantOK(t, r, "create", &ch)
			in["arn"] = ch.ChannelARN
			if in["https"] == "" || in["webrtc"] == "" {
				t.Fatalf("endpoint_MASTER: %v", step(t, r, "endpoint_MASTER"))
			}
			d := runPy(t, pyEnv(e, denied), "denied", in)
			wantOK(t, d, "describe", nil)
			// §1.4: AccessDeniedException is 401 in the control-plane model;
			// the signaling model has only NotAuthorizedException (401); the
			// storage model's AccessDeniedException is 403.
			wantError(t, d, "create", "AccessDeniedException", 401)
			wantError(t, d, "endpoint", "AccessDeniedException", 401)
			wantError(t, d, "describe_stream", "NotAuthorizedException", 401)
			wantError(t, d, "ice", "NotAuthorizedException", 401)
			wantError(t, d, "join", "AccessDeniedException", 403)
			if res := step(t, d, "create"); !strings.Contains(res.Message, "is not authorized to perform: kinesisvideo:CreateSignalingChannel") ||
				!strings.Contains(res.Message, "arn:"+tc.partition+":iam::") {
				t.Errorf("create: message %q does not name the action and the partition's user", res.Message)
			}
			// SigV4 front-end refusals are 403 with a code botocore reads
			// from X-Amzn-ErrorType (unmodeled, so a plain ClientError).
			for key, code := range map[string]string{"bad_secret": "InvalidSignatureException",
				"unknown_key": "UnrecognizedClientException", "unsigned": "MissingAuthenticationTokenException"} {
				if res := step(t, d, key); res.OK || res.Code != code || res.Class != "ClientError" || res.HTTPStatusCode != 403 || res.Message == "" {
					t.Errorf("%s: got %v, want %s 403 with a message", key, res, code)
				}
			}
		})
	}
}

func checkLifecycle(t *testing.T, r map[string]*pyrun.Result, region, partition string) {
	t.Helper()
	prefix := "arn:" + partition + ":kinesisvideo:" + region + ":123456789012:"
	var created struct{ ChannelARN string }
	wantOK(t, r, "create", &created)
	if !strings.HasPrefix(created.ChannelARN, prefix+"channel/py-chan/") {
		t.Errorf("create: ChannelARN %q, want prefix %s", created.ChannelARN, prefix+"channel/py-chan/")
	}
	wantError(t, r, "create_again", "ResourceInUseException", 400)

	type channelInfo struct {
		ChannelName, ChannelARN, ChannelType, ChannelStatus, CreationTime, Version string
		SingleMasterConfiguration                                                  struct{ MessageTtlSeconds int }
	}
	var desc, byName, updated struct{ ChannelInfo channelInfo }
	wantOK(t, r, "describe", &desc)
	wantOK(t, r, "describe_by_name", &byName)
	ci := desc.ChannelInfo
	// botocore parsed CreationTime (epoch seconds on the wire) into a datetime.
	if ci.ChannelARN != created.ChannelARN || ci.ChannelName != "py-chan" || ci.ChannelType != "SINGLE_MASTER" || ci.ChannelStatus != "ACTIVE" ||
		ci.SingleMasterConfiguration.MessageTtlSeconds != 60 || ci.Version == "" || !strings.HasPrefix(ci.CreationTime, "20") || byName.ChannelInfo != ci {
		t.Errorf("describe: %+v, by name %+v", ci, byName.ChannelInfo)
	}
	wantOK(t, r, "update", nil)
	wantError(t, r, "update_stale", "VersionMismatchException", 400)
	wantOK(t, r, "describe_updated", &updated)
	if u := updated.ChannelInfo; u.SingleMasterConfiguration.MessageTtlSeconds != 120 || u.Version == ci.Version {
		t.Errorf("after update: %+v", u)
	}

	var pages [][]string
	wantOK(t, r, "list_pages", &pages)
	if want := [][]string{{"py-chan"}, {"py-chan-2"}, {"py-chan-3"}}; !slices.EqualFunc(pages, want, slices.Equal[[]string]) {
		t.Errorf("paginated list: %v, want %v", pages, want)
	}

	wantOK(t, r, "tag", nil)
	wantOK(t, r, "untag", nil)
	var tags struct{ Tags map[string]string }
	wantOK(t, r, "tags", &tags)
	if len(tags.Tags) != 2 || tags.Tags["env"] != "test" || tags.Tags["owner"] != "Zoë 東京" {
		t.Errorf("tags after tag env and owner, untag team: %v", tags.Tags)
	}

	var stream struct{ StreamARN string }
	wantOK(t, r, "create_stream", &stream)
	if !strings.HasPrefix(stream.StreamARN, prefix+"stream/py-chan-stream/") {
		t.Errorf("create stream: %q", stream.StreamARN)
	}
	wantError(t, r, "create_stream_again", "ResourceInUseException", 400)
	var streamPages [][]string
	wantOK(t, r, "list_stream_pages", &streamPages)
	if want := [][]string{{"py-chan-stream"}, {"py-chan-stream-2"}}; !slices.EqualFunc(streamPages, want, slices.Equal[[]string]) {
		t.Errorf("paginated stream list: %v, want %v", streamPages, want)
	}
	var sd struct {
		StreamInfo struct {
			StreamName, StreamARN, Status, CreationTime string
			DataRetentionInHours                        int
		}
	}
	wantOK(t, r, "describe_stream", &sd)
	if s := sd.StreamInfo; s.StreamARN != stream.StreamARN || s.Status != "ACTIVE" || s.DataRetentionInHours != 24 || !strings.HasPrefix(s.CreationTime, "20") {
		t.Errorf("describe stream: %+v", s)
	}
	wantOK(t, r, "tag_stream", nil)
	wantOK(t, r, "untag_stream", nil)
	var stags struct{ Tags map[string]string }
	wantOK(t, r, "stream_tags", &stags)
	if len(stags.Tags) != 1 || stags.Tags["env"] != "test" {
		t.Errorf("stream tags after CreateStream team, TagStream env, UntagStream team: %v", stags.Tags)
	}
	wantError(t, r, "stream_tags_missing", "ResourceNotFoundException", 404)
	type storage struct {
		MediaStorageConfiguration struct{ StreamARN, Status string }
	}
	var disabled, enabled storage
	wantOK(t, r, "describe_storage_disabled", &disabled)
	wantOK(t, r, "update_storage", nil)
	wantOK(t, r, "describe_storage", &enabled)
	if disabled.MediaStorageConfiguration.Status != "DISABLED" || enabled.MediaStorageConfiguration != (struct{ StreamARN, Status string }{stream.StreamARN, "ENABLED"}) {
		t.Errorf("media storage: before %+v, after %+v", disabled, enabled)
	}

	checkEndpoints(t, r)

	wantError(t, r, "describe_missing", "ResourceNotFoundException", 404)
	wantError(t, r, "describe_stream_missing", "ResourceNotFoundException", 404)
	wantError(t, r, "invalid_name", "InvalidArgumentException", 400)
	wantError(t, r, "invalid_ttl", "InvalidArgumentException", 400)
	wantError(t, r, "delete_stale", "VersionMismatchException", 400)
	wantOK(t, r, "delete", nil)
	wantError(t, r, "describe_deleted", "ResourceNotFoundException", 404)
}

// checkEndpoints: GetSignalingChannelEndpoint per role, GetIceServerConfig
// on the HTTPS endpoint, the joins on the WEBRTC endpoint.
func checkEndpoints(t *testing.T, r map[string]*pyrun.Result) {
	t.Helper()
	type endpoints struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	byRole := map[string]map[string]string{}
	for _, role := range []string{"MASTER", "VIEWER"} {
		var eps endpoints
		wantOK(t, r, "endpoint_"+role, &eps)
		byRole[role] = map[string]string{}
		for _, ep := range eps.ResourceEndpointList {
			byRole[role][ep.Protocol] = ep.ResourceEndpoint
		}
		m := byRole[role]
		if len(eps.ResourceEndpointList) != 3 || !strings.HasPrefix(m["WSS"], "wss://") || !strings.HasPrefix(m["HTTPS"], "https://") ||
			!strings.HasPrefix(m["WEBRTC"], "https://") {
			t.Errorf("%s endpoints: %v", role, eps)
		}
	}
	// §2.2: one HTTPS and WEBRTC endpoint per channel, a WSS one per role.
	if byRole["MASTER"]["WSS"] == byRole["VIEWER"]["WSS"] || byRole["MASTER"]["HTTPS"] != byRole["VIEWER"]["HTTPS"] {
		t.Errorf("endpoints per role: %v", byRole)
	}

	type iceServer struct {
		Uris               []string
		Username, Password string
		Ttl                int
	}
	for _, key := range []string{"ice", "ice_minimal"} {
		var ice struct{ IceServerList []iceServer }
		wantOK(t, r, key, &ice)
		if len(ice.IceServerList) == 0 {
			t.Errorf("%s: no ICE servers", key)
		}
		for _, s := range ice.IceServerList {
			if len(s.Uris) == 0 || s.Username == "" || s.Password == "" || s.Ttl < 30 || s.Ttl > 86400 {
				t.Errorf("%s: server has uris %v, username %q, password set %v, ttl %d", key, s.Uris, s.Username, s.Password != "", s.Ttl)
			}
			for _, u := range s.Uris {
				if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
					t.Errorf("%s: uri %q", key, u)
				}
			}
		}
	}
	wantError(t, r, "ice_missing", "ResourceNotFoundException", 404)
	var alexa map[string]any
	wantOK(t, r, "alexa", &alexa)
	if len(alexa) != 0 {
		t.Errorf("SendAlexaOfferToMaster with no master: %v, want no Answer", alexa)
	}

	// No master is connected: the joins are accepted (the storage peer
	// offers once a master is there, §6) and have no output.
	for _, key := range []string{"join", "join_viewer"} {
		var out map[string]any
		wantOK(t, r, key, &out)
		if len(out) != 0 {
			t.Errorf("%s: output %v, want none (no output shape)", key, out)
		}
	}
	// A WEBRTC endpoint serves its own channel only (storage.go).
	wantError(t, r, "join_other_channel", "ResourceNotFoundException", 404)
	wantError(t, r, "join_bad_arn", "InvalidArgumentException", 400)
	wantError(t, r, "join_missing", "ResourceNotFoundException", 404)
	// §6: WEBRTC only for a channel whose media storage is ENABLED.
	wantError(t, r, "endpoint_no_storage", "InvalidArgumentException", 400)
}

// The control-plane hosts botocore derives for a region without an endpoint
// override are the ones the service-shaped mode maps to the emulator
// (HostsLine), and the emulator's certificate covers them and the FIPS hosts
// (AWS_USE_FIPS_ENDPOINT), so an unmodified boto3 verifies it. botocore
// resolves aws-us-gov to kinesisvideo-fips.<region>.amazonaws.com, which the
// emulator's hosts line and certificate lacked.
func TestBotocoreEndpoints(t *testing.T) {
	if err := pyrun.Check(); err != nil {
		t.Fatal(err)
	}
	regions := []string{"us-west-2", "cn-north-1", "us-gov-west-1"}
	services := []string{"kinesisvideo", "kinesis-video-signaling", "kinesis-video-webrtc-storage"}
	e := emulatortest.Start(t, emulator.Options{})
	script, err := os.ReadFile(filepath.Join("testdata", "python", "endpoints.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got map[string]map[string]map[string]string
	if err := pyrun.Run(ctx, pyEnv(e, e.Credential()), string(script), map[string]any{"regions": regions, "services": services}, &got); err != nil {
		t.Fatal(err)
	}
	for _, region := range regions {
		t.Run(region, func(t *testing.T) {
			e := emulatortest.Start(t, emulator.Options{Region: region})
			addr := strings.TrimPrefix(e.URL(), "https://")
			for _, mode := range []string{"default", "fips"} {
				for _, s := range services {
					u, err := url.Parse(got[region][mode][s])
					if err != nil || u.Scheme != "https" || u.Port() != "" {
						t.Errorf("%s %s: endpoint %q", mode, s, got[region][mode][s])
						continue
					}
					if mode == "default" && !slices.Contains(emulator.ServiceHosts(e), u.Host) {
						t.Errorf("%s: botocore sends to %s, the hosts line maps %v", s, u.Host, emulator.ServiceHosts(e))
					}
					d := tls.Dialer{Config: &tls.Config{RootCAs: e.CertPool(), ServerName: u.Host, MinVersion: tls.VersionTLS12}}
					conn, err := d.DialContext(ctx, "tcp", addr)
					if err != nil {
						t.Errorf("%s %s: TLS as %s: %v", mode, s, u.Host, err)
						continue
					}
					conn.Close()
				}
			}
		})
	}
}

// botocore's standard retry mode (AWS_MAX_ATTEMPTS 3) on the emulator's
// refusals: 429 ThrottlingException and 500 InternalFailure are retried,
// 400 ClientLimitExceededException is not (§1.4: not in botocore's
// throttling codes, botocore/retries/standard.py).
func TestBoto3Retries(t *testing.T) {
	if err := pyrun.Check(); err != nil {
		t.Fatal(err)
	}
	e := emulatortest.Start(t, emulator.Options{})
	for op, status := range map[string]int{"CreateSignalingChannel": 429, "ListSignalingChannels": 500, "DescribeSignalingChannel": 400} {
		if _, err := e.Inject(emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseREST, Operation: op, Status: status, Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	env := pyEnv(e, e.Credential())
	env.MaxAttempts = 3
	r := runPy(t, env, "retries", nil)
	wantOK(t, r, "create", nil)
	wantOK(t, r, "list", nil)
	wantError(t, r, "describe", "ClientLimitExceededException", 400)
	for op, want := range map[string]int64{"CreateSignalingChannel": 2, "ListSignalingChannels": 2, "DescribeSignalingChannel": 1} {
		if got := e.Requests(op); got != want {
			t.Errorf("%s: %d requests, want %d", op, got, want)
		}
	}
}
