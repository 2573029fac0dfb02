package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/smithy-go"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

func TestParseFault(t *testing.T) {
	arn := "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"
	tests := []struct {
		in   string
		want emulator.Fault
		err  string
	}{
		{in: "drop:wss:to-master:0.1", want: emulator.Fault{Kind: emulator.FaultDrop, Direction: emulator.ToMaster, Probability: 0.1}},
		{in: "delay:to-viewer:300ms:count=2", want: emulator.Fault{Kind: emulator.FaultDelay, Direction: emulator.ToViewer, Delay: 300 * time.Millisecond, Count: 2}},
		{in: "reorder:action=ice_candidate:channel=demo", want: emulator.Fault{Kind: emulator.FaultReorder, Action: "ICE_CANDIDATE", ChannelARN: "demo"}},
		{in: "duplicate:channel=" + arn + ":1", want: emulator.Fault{Kind: emulator.FaultDuplicate, ChannelARN: arn, Probability: 1}},
		{in: "refuse:connect:count=3:403", want: emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseConnects, Count: 3, Status: 403}},
		{in: "refuse:rest:op=GetIceServerConfig:429:code=X", want: emulator.Fault{Kind: emulator.FaultRefuse, Target: emulator.RefuseREST, Operation: "GetIceServerConfig", Status: 429, Code: "X"}},
		{in: "clock:-10m", want: emulator.Fault{Kind: emulator.FaultClock, Delay: -10 * time.Minute}},
		{in: "kill:client=viewer-1", want: emulator.Fault{Kind: emulator.FaultKill, ClientID: "viewer-1"}},
		{in: "goaway", want: emulator.Fault{Kind: emulator.FaultGoAway}},
		{in: "expire-turn", want: emulator.Fault{Kind: emulator.FaultExpireTURN}},
		{in: "flood", err: "unknown kind"},
		{in: "drop:2.5", err: "probability"},
		{in: "drop:sideways", err: "not a direction"},
		{in: "delay", err: "delay 0s"},
		{in: "refuse:429", err: "want connect or rest"},
		{in: "refuse:rest:418", err: "status 418"},
		{in: "kill", err: "give channel="},
		{in: "drop:action=HELLO", err: "action"},
		{in: "drop:count=-1", err: "count"},
		{in: "drop:colour=red", err: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := emulator.ParseFault(tt.in)
			if tt.err != "" {
				if !errors.Is(err, emulator.ErrBadFault) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFault(%q) = %v, want an ErrBadFault saying %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFault(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if again, err := emulator.ParseFault(got.String()); err != nil || again.Kind != got.Kind {
				t.Fatalf("String() %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

func adminDo(t *testing.T, e *emulator.Emulator, method, path, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := emulatortest.HTTPClient(e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// The admin API refuses requests without the token or a signature, and
// with them injects faults a client sees, lists events and removes rules.
func TestAdminAPI(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := createChannel(t, newClient(e), "admin")
	bearer := "Bearer " + e.AdminToken()
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + e.AdminToken() + "x", "AWS4-HMAC-SHA256 Credential=nope"} {
		status, h, body := adminDo(t, e, http.MethodPost, emulator.AdminPath, auth, "goaway")
		if status != 403 || !strings.HasPrefix(h.Get("X-Amzn-Errortype"), "AccessDeniedException") || !strings.Contains(body, `"message"`) {
			t.Fatalf("auth %q: want 403 AccessDeniedException, got %d %q %s", auth, status, h.Get("X-Amzn-Errortype"), body)
		}
	}
	if n := len(e.Faults()); n != 0 {
		t.Fatalf("unauthenticated requests injected %d faults", n)
	}

	status, _, body := adminDo(t, e, http.MethodPost, emulator.AdminPath, bearer, "refuse:rest:op=DescribeSignalingChannel:500")
	var out struct {
		ID emulator.FaultID `json:"id"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil || out.ID == 0 {
		t.Fatalf("inject: %d %s", status, body)
	}
	_, err := newClient(e).DescribeSignalingChannel(context.Background(), &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: &arn},
		func(o *kinesisvideo.Options) { o.RetryMaxAttempts = 1 })
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" {
		t.Fatalf("after refuse via the admin API: want InternalFailure, got %v", err)
	}

	// SigV4 with the emulator's credential works too; JSON body form.
	if status, _, body := signedPost(t, e, emulator.AdminPath, []byte(`{"fault":"drop:to-master"}`), nil); status != 200 {
		t.Fatalf("signed inject: %d %s", status, body)
	}
	if status, _, body := adminDo(t, e, http.MethodPost, emulator.AdminPath, bearer, "drop:sideways"); status != 400 || !strings.Contains(body, "not a direction") {
		t.Fatalf("bad fault: want 400 naming the field, got %d %s", status, body)
	}
	status, _, body = adminDo(t, e, http.MethodGet, emulator.AdminPath, bearer, "")
	var evs []struct {
		ID       emulator.FaultID `json:"id"`
		Kind     string           `json:"kind"`
		Injected bool             `json:"injected"`
		Detail   string           `json:"detail"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &evs) != nil || len(evs) != 3 || evs[0].Kind != "refuse" || !evs[0].Injected ||
		evs[1].Injected || !strings.Contains(evs[1].Detail, "refused DescribeSignalingChannel") || evs[2].Kind != "drop" {
		t.Fatalf("events: %d %s", status, body)
	}
	if status, _, _ := adminDo(t, e, http.MethodDelete, emulator.AdminPath+"/"+jsonNumber(evs[2].ID), bearer, ""); status != 200 {
		t.Fatalf("delete rule: %d", status)
	}
	if status, _, _ := adminDo(t, e, http.MethodDelete, emulator.AdminPath+"/"+jsonNumber(evs[2].ID), bearer, ""); status != 404 {
		t.Fatalf("delete rule twice: want 404, got %d", status)
	}
}

func jsonNumber(id emulator.FaultID) string { b, _ := json.Marshal(id); return string(b) }
