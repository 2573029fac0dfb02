package pyrun

import (
	"net/http"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	if err := CheckCLI(); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t, map[string]response{
		"/describeSignalingChannel": {status: 200, body: `{"ChannelInfo":{"ChannelName":"demo","ChannelARN":"` + testChannelARN + `"}}`},
		"/deleteSignalingChannel": {status: http.StatusNotFound, header: map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException"},
			body: `{"Message":"The requested channel is not found"}`},
	})
	ctx := runCtx(t)
	r, err := CLI(ctx, srv.env(), "kinesisvideo", "describe-signaling-channel", "--channel-name", "demo")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ChannelInfo struct{ ChannelName, ChannelARN string }
	}
	if err := r.Decode(&out); err != nil || out.ChannelInfo.ChannelARN != testChannelARN {
		t.Fatalf("describe: %v %v", r, err)
	}
	r, err = CLI(ctx, srv.env(), "kinesisvideo", "delete-signaling-channel", "--channel-arn", testChannelARN)
	if err != nil {
		t.Fatal(err)
	}
	// The AWS CLI v1 exits 255 on a service error and names the code and
	// the operation on stderr.
	if r.ExitCode != 255 || !strings.Contains(r.Stderr, "ResourceNotFoundException") || !strings.Contains(r.Stderr, "DeleteSignalingChannel") {
		t.Errorf("delete: %v", r)
	}
	if err := r.Decode(&out); err == nil {
		t.Error("Decode of a failed command succeeded")
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	for _, req := range reqs {
		if a := req.header.Get("Authorization"); !authRE.MatchString(a) {
			t.Errorf("%s: Authorization %q", req.path, a)
		}
	}

	t.Run("no aws", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		if err := checkCLI(); err == nil || !strings.Contains(err.Error(), "aws (the AWS CLI) not found on PATH") {
			t.Errorf("checkCLI: %v", err)
		}
		if _, err := CLI(ctx, srv.env(), "kinesisvideo", "list-signaling-channels"); err == nil || !strings.Contains(err.Error(), "not found on PATH") {
			t.Errorf("CLI: %v", err)
		}
	})
}
