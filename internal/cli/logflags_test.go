package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// testSecrets are planted in log lines; none may come out.
var testSecrets = []string{"wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN", "0123456789abcdef0123456789abcdef", "Bearer-s3cr3t-auth", "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"}

// TestLogRedaction logs lines that carry secrets in every way a line can
// (attribute names, presigned URLs, error texts, the message, PEM) through
// both formats, and greps the output for the secrets.
func TestLogRedaction(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			cmd := &cobra.Command{}
			addLogFlags(cmd)
			cmd.PersistentFlags().Set("log-format", format)
			cmd.PersistentFlags().Set("log-level", "debug")
			log, err := newLogger(cmd, &buf)
			if err != nil {
				t.Fatal(err)
			}
			s := testSecrets
			url := "wss://m-1.kinesisvideo.us-west-2.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101&X-Amz-Security-Token=" + s[1] + "&X-Amz-Signature=" + s[2]
			log.Info("dial", "url", url)
			log.Info("dial " + url)
			log.Debug("creds", "secret_access_key", s[0], "SessionToken", s[1], "password", s[3], "attempt", 3)
			log.Warn("request failed", "err", errors.New("answered 401: Authorization: "+s[3]))
			log.Info("cfg", "body", fmt.Sprintf(`{"AccessKeyId":"AKID","SecretAccessKey":"%s","sessionToken":"%s"}`, s[0], s[1]))
			log.Info("key", "pem", "-----BEGIN PRIVATE KEY-----\n"+s[4]+"\n-----END PRIVATE KEY-----")
			log.With("token", s[1]).Info("with")
			out := buf.String()
			for _, sec := range s {
				if strings.Contains(out, sec) {
					t.Errorf("secret %q in the %s log:\n%s", sec, format, out)
				}
			}
			if !strings.Contains(out, "****") || !strings.Contains(out, "X-Amz-Algorithm") || !strings.Contains(out, "attempt") {
				t.Errorf("redaction lost the harmless parts:\n%s", out)
			}
		})
	}
	cmd := &cobra.Command{}
	addLogFlags(cmd)
	cmd.PersistentFlags().Set("log-format", "xml")
	if _, err := newLogger(cmd, io.Discard); err == nil || exitCode(err) != ExitUsage {
		t.Errorf("--log-format xml: %v", err)
	}
}

// TestMasterDebugLogsNoSecrets runs `kvsrtc master --config` with debug
// logs in JSON on a credential whose secret and session token the test
// knows, while a viewer watches, and greps everything it printed.
func TestMasterDebugLogsNoSecrets(t *testing.T) {
	cred := emulator.Credential{AccessKeyID: "ASIALOGTEST", SecretAccessKey: testSecrets[0], SessionToken: testSecrets[1]}
	e, _ := startEmulator(t, emulator.Options{Credentials: []emulator.Credential{cred}}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(`{"channels": [{"name": "cam"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			[]string{"master", "--config", path, "--log-format", "json", "--log-level", "debug"})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), `"channel connected"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the channel did not connect:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o, stderr, code := run(t, "viewer", "--channel-name", "cam", "--seconds", "1"); code != 0 {
		t.Fatalf("viewer: exit %d\n%s\n%s", code, o, stderr)
	}
	cancel()
	<-done
	all := out.String() + errOut.String()
	for _, sec := range testSecrets[:2] {
		if strings.Contains(all, sec) {
			t.Errorf("secret %q printed:\n%s", sec, all)
		}
	}
	if !strings.Contains(all, `"level":"DEBUG"`) {
		t.Errorf("no debug lines: the test checked nothing\n%s", all)
	}
	logLines(t, errOut.String()) // every line JSON
}
