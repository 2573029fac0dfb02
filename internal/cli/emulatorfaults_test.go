package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/smithy-go"

	"github.com/kvsrtc/kvsrtc/emulator"
)

func TestEmulatorFaultFlagRanges(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		args []string
		in   string
	}{
		{[]string{"emulator", "--fault", "flood"}, `unknown kind "flood"`},
		{[]string{"emulator", "--fault", "drop:2"}, "probability 2: want a number in (0, 1]"},
		{[]string{"emulator", "--fault", "refuse:rest:418"}, "status 418: want 400, 403, 404, 429, 500 or 503"},
		{[]string{"emulator", "--latency", "-1s"}, "--latency -1s: want between 0 and 10s"},
		{[]string{"emulator", "--jitter", "1h"}, "--jitter 1h0m0s: want between 0 and 10s"},
		{[]string{"emulator", "--loss", "1"}, "--loss 1: want a fraction in [0, 1)"},
		{[]string{"emulator", "--loss", "NaN"}, "--loss NaN: want a fraction in [0, 1)"},
		{[]string{"emulator", "--fault-every", "1ms"}, "--fault-every 1ms: want 0 or at least 100ms"},
	} {
		_, errOut, code := run(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.in) {
			t.Errorf("%v: exit %d, want %d with %q; stderr:\n%s", tc.args, code, ExitUsage, tc.in, errOut)
		}
	}
}

// kvsrtc emulator --fault refuses as told from the start and prints the
// admin API's address and token; the admin API takes faults with the
// token and refuses them without.
func TestEmulatorFaultFlags(t *testing.T) {
	cliEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			[]string{"emulator", "--fault", "refuse:rest:op=ListSignalingChannels:count=1:429", "--latency", "2ms"})
	}()
	admin := regexp.MustCompile(`# admin API \(faults\): (\S+)  Authorization: Bearer ([0-9a-f]{32})\n`)
	var m []string
	waitUntil(t, 30*time.Second, "the admin API line", func() bool {
		m = admin.FindStringSubmatch(out.String())
		return m != nil
	})
	if !strings.HasSuffix(m[1], emulator.AdminPath) {
		t.Fatalf("admin URL %s does not end in %s", m[1], emulator.AdminPath)
	}
	env := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	pem, err := os.ReadFile(env["AWS_CA_BUNDLE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	kv := kinesisvideo.New(kinesisvideo.Options{Region: env["AWS_REGION"], BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]),
		HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "")})
	_, err = kv.ListSignalingChannels(ctx, &kinesisvideo.ListSignalingChannelsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("first ListSignalingChannels under --fault refuse: want ThrottlingException, got %v", err)
	}
	if _, err := kv.ListSignalingChannels(ctx, &kinesisvideo.ListSignalingChannelsInput{}); err != nil {
		t.Fatalf("second ListSignalingChannels: %v", err)
	}
	post := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPost, m[1], strings.NewReader("goaway"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != 403 {
		t.Fatalf("admin API without the token: %d, want 403", code)
	}
	if code := post("Bearer " + m[2]); code != 200 {
		t.Fatalf("admin API with the token: %d, want 200", code)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("emulator exit %d; stderr:\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("emulator did not stop")
	}
}
