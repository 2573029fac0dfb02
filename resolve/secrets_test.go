package resolve_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// Nothing the package prints — debug logs, errors, ICE servers formatted
// with %v and slog — holds the secret key or a TURN password.
func TestNoSecretsInOutput(t *testing.T) {
	e, cfg := start(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, testCredential()}})
	arn := createChannel(t, e, "secrets")
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDKVSRTCRESOLVE01", testSecret, "")
	var logs logBuffer
	ctx := context.Background()
	r := resolve.New(cfg, resolve.Options{Logger: logs.Logger(), Cache: resolve.NewFileCache(t.TempDir(), nil, logs.Logger())})
	res, err := r.Resolve(ctx, arn, channel.RoleViewer, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	l := slog.New(slog.NewJSONHandler(&out, nil))
	for _, s := range res.ICE.Servers {
		fmt.Fprintf(&out, "%v %+v %s\n", s, s, s)
		l.Info("server", "s", s)
	}
	fmt.Fprintf(&out, "%v\n", res.ICE.Redacted())
	// Errors too: a bad signature and a denied call.
	bad := cfg
	bad.Credentials = credentials.NewStaticCredentialsProvider(emulator.DevCredential.AccessKeyID, testSecret, "")
	_, err = resolve.New(bad, resolve.Options{Logger: logs.Logger()}).Resolve(ctx, arn, channel.RoleViewer, "")
	fmt.Fprintln(&out, err)
	all := out.String() + logs.String()
	var passwords []string
	for _, s := range res.ICE.Servers[1:] {
		passwords = append(passwords, s.Credential)
	}
	for _, secret := range append(passwords, testSecret) {
		if secret == "" {
			t.Fatal("empty secret in test")
		}
		if strings.Contains(all, secret) {
			t.Errorf("output holds secret %.6s…:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "****") {
		t.Error("no redaction marker in output")
	}
}
