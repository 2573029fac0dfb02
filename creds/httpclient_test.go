package creds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A caller's own HTTP client is used as it is, also when AWS_CA_BUNDLE is
// set (aws-sdk-go-v2 refuses to add a bundle to a client it did not build:
// "unable to add custom RootCAs").
func TestLoadOwnHTTPClientWithCABundleEnv(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_CA_BUNDLE", writeTestCA(t))
	t.Setenv("AWS_ACCESS_KEY_ID", testAK)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSK)
	mine := &http.Client{}
	res, err := Load(context.Background(), Options{Region: "us-west-2", HTTPClient: mine})
	if err != nil {
		t.Fatalf("Load with an own client and AWS_CA_BUNDLE set: %v", err)
	}
	if res.Config.HTTPClient != mine {
		t.Fatalf("config uses %T, not the caller's client", res.Config.HTTPClient)
	}
	c, err := res.Config.Credentials.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != testAK {
		t.Fatalf("credentials %q, %v", c.AccessKeyID, err)
	}
}

// writeTestCA writes a self-signed CA certificate as PEM and returns its path.
func writeTestCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "creds test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
