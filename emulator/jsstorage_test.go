package emulator_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/internal/jsrun"
)

// The unmodified AWS JS SDK v3 storage client
// (@aws-sdk/client-kinesis-video-webrtc-storage, npm, pinned) calls both
// operations on the emulator's WEBRTC endpoint, and decodes its errors as
// the typed exceptions of the model.
func TestAWSJavaScriptStorageClient(t *testing.T) {
	if err := jsrun.Check(); err != nil {
		t.Fatal(err)
	}
	denied := emulator.Credential{AccessKeyID: "AKIDNOJOIN", SecretAccessKey: "no-join-secret", Actions: []string{"kinesisvideo:Describe*"}}
	f := newIngestFixture(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, denied}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := jsEnv(f.e, f.webrtc, f.e.Credential())
	call := func(env jsrun.Env, op string, in any) *jsrun.Result {
		t.Helper()
		r, err := jsrun.Call(ctx, env, jsrun.Storage, op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}

	// A master on the WSS: JoinStorageSession from JS sends it the offer.
	master := newCMaster(t, f)
	if r := call(env, "JoinStorageSession", map[string]any{"channelArn": f.arn}); !r.OK || r.HTTPStatusCode != 200 {
		t.Fatalf("JoinStorageSession: %+v", r)
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	for {
		_, data, err := master.conn.Read(rctx)
		if err != nil {
			t.Fatalf("no storage offer reached the master: %v", err)
		}
		var fr wsFrame
		if json.Unmarshal(data, &fr) == nil && fr.MessageType == "SDP_OFFER" {
			break
		}
	}

	// A viewer on the WSS: JoinStorageSessionAsViewer sends it an offer
	// without a senderClientId (§4.5).
	viewerEP := wssEndpoint(t, f.e, f.arn, types.ChannelRoleViewer)
	vc, _, err := dialWSS(ctx, f.e, presign(t, f.e, viewerEP, presignOpts{arn: f.arn, clientID: "js-viewer"}))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.CloseNow()
	if r := call(env, "JoinStorageSessionAsViewer", map[string]any{"channelArn": f.arn, "clientId": "js-viewer"}); !r.OK || r.HTTPStatusCode != 200 {
		t.Fatalf("JoinStorageSessionAsViewer: %+v", r)
	}
	for {
		_, data, err := vc.Read(rctx)
		if err != nil {
			t.Fatalf("no storage offer reached the viewer: %v", err)
		}
		var fr wsFrame
		if json.Unmarshal(data, &fr) == nil && fr.MessageType == "SDP_OFFER" {
			if fr.SenderClientID != nil {
				t.Errorf("offer to a viewer carries senderClientId %q", *fr.SenderClientID)
			}
			break
		}
	}

	other := createChannel(t, newClient(f.e), "not-ingesting")
	cases := []struct {
		name   string
		env    jsrun.Env
		op     string
		in     map[string]any
		code   string
		status int
	}{
		{"unknown channel", env, "JoinStorageSession", map[string]any{"channelArn": strings.Replace(f.arn, "/ingest/", "/gone/", 1)}, "ResourceNotFoundException", 404},
		{"channel of another endpoint", env, "JoinStorageSession", map[string]any{"channelArn": other}, "ResourceNotFoundException", 404},
		{"bad client id", env, "JoinStorageSessionAsViewer", map[string]any{"channelArn": f.arn, "clientId": "a b"}, "InvalidArgumentException", 400},
		{"not authorized", jsEnv(f.e, f.webrtc, denied), "JoinStorageSession", map[string]any{"channelArn": f.arn}, "AccessDeniedException", 403},
		{"forged signature", jsEnv(f.e, f.webrtc, emulator.Credential{AccessKeyID: f.e.Credential().AccessKeyID, SecretAccessKey: "forged"}),
			"JoinStorageSession", map[string]any{"channelArn": f.arn}, "InvalidSignatureException", 403},
	}
	for _, tc := range cases {
		r := call(tc.env, tc.op, tc.in)
		if r.OK || r.Name != tc.code || r.HTTPStatusCode != tc.status || r.Fault != "client" || r.Message == "" {
			t.Errorf("%s: want %s (%d), got %+v", tc.name, tc.code, tc.status, r)
		}
	}
	if r := call(jsEnv(f.e, f.webrtc, denied), "JoinStorageSession", map[string]any{"channelArn": f.arn}); !strings.Contains(r.Message, "kinesisvideo:JoinStorageSession") {
		t.Errorf("denial does not name the action: %q", r.Message)
	}
	// The viewer limit, with the text the JS sample master matches to stop
	// retrying (examples/master.js).
	for _, id := range []string{"va", "vb"} { // with js-viewer, three
		c, _, err := dialWSS(ctx, f.e, presign(t, f.e, viewerEP, presignOpts{arn: f.arn, clientID: id}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if r := call(env, "JoinStorageSessionAsViewer", map[string]any{"channelArn": f.arn, "clientId": id}); !r.OK {
			t.Fatalf("viewer %s: %+v", id, r)
		}
	}
	r := call(env, "JoinStorageSessionAsViewer", map[string]any{"channelArn": f.arn, "clientId": "one-too-many"})
	if r.OK || r.Name != "ClientLimitExceededException" || !strings.Contains(strings.ToLower(r.Message), "maximum number of viewers connected to the session") {
		t.Errorf("viewer limit: %+v", r)
	}
}
