package creds_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// iotEmulator starts an emulator with an IoT credentials endpoint and
// writes a device certificate for thing "cam1".
func iotEmulator(t *testing.T, aliases ...emulator.RoleAlias) (*emulator.Emulator, emulator.IoTCertificateFiles) {
	t.Helper()
	e := emulatortest.Start(t, emulator.Options{IoT: &emulator.IoTOptions{RoleAliases: aliases}})
	cert, err := e.IssueIoTCertificate("cam1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return e, files
}

// TestIoTProviderEmulator exchanges a device certificate for credentials at
// the emulator over mutual TLS, and uses them on the control plane.
func TestIoTProviderEmulator(t *testing.T) {
	e, files := iotEmulator(t, emulator.RoleAlias{Alias: "cam-role", CredentialDuration: 20 * time.Minute,
		Actions: []string{"kinesisvideo:ListSignalingChannels"}})
	p, err := creds.NewIoTProvider(creds.IoTProviderOptions{Endpoint: e.IoTEndpoint(), RoleAlias: "cam-role", ThingName: "cam1",
		CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SessionToken == "" || !c.CanExpire || c.Source != creds.IoTSource {
		t.Errorf("credentials %+v", c)
	}
	if d := c.Expires.Sub(before); d < 19*time.Minute || d > 21*time.Minute {
		t.Errorf("expires in %v, want 20 min", d)
	}
	cfg := emulatortest.Config(e)
	cfg.Credentials = aws.NewCredentialsCache(p)
	kv := kinesisvideo.NewFromConfig(cfg)
	if _, err := kv.ListSignalingChannels(context.Background(), &kinesisvideo.ListSignalingChannelsInput{}); err != nil {
		t.Fatalf("list with IoT credentials: %v", err)
	}
	// The role alias's permissions bind the issued credentials.
	_, err = kv.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("x")})
	if err == nil || !strings.Contains(err.Error(), "kinesisvideo:CreateSignalingChannel") {
		t.Errorf("create with list-only IoT credentials: %v", err)
	}
	if n := e.Requests("AssumeRoleWithCertificate"); n != 2 {
		t.Errorf("%d IoT requests, want 2 (one direct, one cached)", n)
	}
}

// TestIoTProviderRefused checks each refusal the service gives, as the
// service words it, with a hint, and that no error carries the private key
// or a secret.
func TestIoTProviderRefused(t *testing.T) {
	e, files := iotEmulator(t, emulator.RoleAlias{Alias: "cam-role"}, emulator.RoleAlias{Alias: "other-things", Things: []string{"cam9"}})
	otherCert, otherKey := selfSigned(t, "cam1")
	key, err := os.ReadFile(files.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(string(key), "\n")[1]
	for _, tc := range []struct {
		name   string
		opts   func(*creds.IoTProviderOptions)
		status int
		want   string
	}{
		{"foreign certificate", func(o *creds.IoTProviderOptions) { o.CertFile, o.KeyFile = otherCert, otherKey }, 403, "AccessDeniedException: Certificate is invalid on this endpoint"},
		{"wrong thing name", func(o *creds.IoTProviderOptions) { o.ThingName = "cam2" }, 403, "Invalid thing name passed"},
		{"unknown role alias", func(o *creds.IoTProviderOptions) { o.RoleAlias = "no-such-alias" }, 404, "ResourceNotFoundException: Role alias does not exist"},
		{"alias for other things", func(o *creds.IoTProviderOptions) { o.RoleAlias = "other-things" }, 403, "Access Denied"},
		{"untrusted endpoint", func(o *creds.IoTProviderOptions) { o.CAFile = otherCert }, 0, "not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := creds.NewIoTProvider(creds.IoTProviderOptions{Endpoint: e.IoTEndpoint(), RoleAlias: "cam-role", ThingName: "cam1",
				CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Retrieve(context.Background())
			var ie *creds.IoTError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want *IoTError", err, err)
			}
			if ie.StatusCode != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (status %d), want status %d and %q", err, ie.StatusCode, tc.status, tc.want)
			}
			if !strings.Contains(err.Error(), e.IoTEndpoint()) || ie.Hint() == "" {
				t.Errorf("error %q does not name the endpoint, or has no hint", err)
			}
			if strings.Contains(err.Error(), keyBody) {
				t.Errorf("error carries the private key: %q", err)
			}
		})
	}
}

// TestLoadIoTRefreshes checks that Load's cache fetches new credentials
// before the old ones expire.
func TestLoadIoTRefreshes(t *testing.T) {
	e, files := iotEmulator(t, emulator.RoleAlias{Alias: "short", CredentialDuration: 6 * time.Second})
	res, err := creds.Load(context.Background(), creds.Options{Region: "us-west-2", ExpiryWindow: 4 * time.Second,
		IoT: &creds.IoTProviderOptions{Endpoint: e.IoTEndpoint(), RoleAlias: "short", ThingName: "cam1",
			CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := res.Config.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := res.Config.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != first.AccessKeyID {
			// The old ones still work: the refresh came before expiry.
			cfg := emulatortest.Config(e)
			cfg.Credentials = credentials.NewStaticCredentialsProvider(first.AccessKeyID, first.SecretAccessKey, first.SessionToken)
			if _, err := kinesisvideo.NewFromConfig(cfg).ListSignalingChannels(context.Background(), &kinesisvideo.ListSignalingChannelsInput{}); err != nil {
				t.Errorf("the first credentials no longer work when the cache refreshed: %v", err)
			}
			break
		}
		// first.Expires is the cache's refresh time (expiry less the
		// window); past it plus a window the old ones have expired.
		if time.Now().After(deadline) || time.Now().After(first.Expires.Add(4*time.Second)) {
			t.Fatalf("still the first credentials at %v (refresh due %v)", time.Now(), first.Expires)
		}
		time.Sleep(50 * time.Millisecond) // bounded polling of a clock-driven cache
	}
	// Options that cannot work are refused before any request.
	_, err = creds.Load(context.Background(), creds.Options{CredentialsURL: "https://127.0.0.1:1/", IoT: &creds.IoTProviderOptions{}})
	if err == nil {
		t.Error("IoT with a credentials URL: no error")
	}
}

// selfSigned writes a certificate and key no emulator issued.
func selfSigned(t *testing.T, cn string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "other.pem"), filepath.Join(dir, "other.key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
