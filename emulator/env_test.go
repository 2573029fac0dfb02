package emulator_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// TestEnvForEveryClient: the env lines carry AWS_DEFAULT_REGION (botocore,
// the AWS CLI v1 and the C SDK samples read only it) and the C SDK's
// AWS_KVS_CACERT_PATH next to AWS_CA_BUNDLE, and the certificate covers the
// service's real host names for the region (cn partition included), which a
// hosts-file mapping sends to the emulator.
func TestEnvForEveryClient(t *testing.T) {
	for _, region := range []string{"us-west-2", "cn-north-1"} {
		t.Run(region, func(t *testing.T) {
			e := emulatortest.Start(t, emulator.Options{Region: region})
			env := emulator.ParseEnvFile([]byte(strings.Join(e.Env(), "\n")))
			if env["AWS_DEFAULT_REGION"] != region || env["AWS_REGION"] != region {
				t.Errorf("AWS_DEFAULT_REGION %q, AWS_REGION %q, want %s", env["AWS_DEFAULT_REGION"], env["AWS_REGION"], region)
			}
			if env["AWS_KVS_CACERT_PATH"] != e.CABundlePath() || env["AWS_CA_BUNDLE"] != e.CABundlePath() {
				t.Errorf("AWS_KVS_CACERT_PATH %q, AWS_CA_BUNDLE %q, want %s", env["AWS_KVS_CACERT_PATH"], env["AWS_CA_BUNDLE"], e.CABundlePath())
			}
			if pem, err := os.ReadFile(e.CABundlePath()); err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
				t.Errorf("CA bundle: %v", err)
			}
			if e.HostsLine() != "" {
				t.Errorf("HostsLine %q in the default mode, want none", e.HostsLine())
			}
			suffix := ".amazonaws.com"
			if strings.HasPrefix(region, "cn-") {
				suffix += ".cn"
			}
			if want := "kinesisvideo." + region + suffix; e.ControlPlaneHost() != want {
				t.Errorf("ControlPlaneHost %q, want %s", e.ControlPlaneHost(), want)
			}
			addr := strings.TrimPrefix(e.URL(), "https://")
			for _, name := range []string{e.ControlPlaneHost(), "stun." + e.ControlPlaneHost(), "r-0123abcd." + e.ControlPlaneHost()} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				d := tls.Dialer{NetDialer: &net.Dialer{}, Config: &tls.Config{RootCAs: e.CertPool(), ServerName: name, MinVersion: tls.VersionTLS12}}
				c, err := d.DialContext(ctx, "tcp", addr)
				cancel()
				if err != nil {
					t.Errorf("TLS as %s: %v", name, err)
					continue
				}
				c.Close()
			}
		})
	}
}
