package creds

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BundleTLSConfig trusts a server the bundle vouches for, refuses one it
// does not when the system roots do not either (the error names both),
// checks the host name, and refuses a connection with no server name.
func TestBundleTLSConfig(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	// other's certificate is its own, self-signed: httptest's servers all
	// share one.
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	other.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	other.StartTLS()
	defer other.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	get := func(cfg *tls.Config, url string) error {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(BundleTLSConfig(pool, "127.0.0.1"), srv.URL); err != nil {
		t.Fatalf("server the bundle vouches for: %v", err)
	}
	// httptest's certificate names 127.0.0.1 and example.com: reached by
	// another name it must be refused although its chain is trusted.
	cfg := BundleTLSConfig(pool, "kvsrtc.invalid")
	if err := get(cfg, srv.URL); err == nil || !strings.Contains(err.Error(), "kvsrtc.invalid") {
		t.Fatalf("wrong host name: %v, want a refusal naming it", err)
	}
	err := get(BundleTLSConfig(pool, "127.0.0.1"), other.URL)
	if err == nil || !strings.Contains(err.Error(), "neither the CA bundle") || !strings.Contains(err.Error(), "system roots") {
		t.Fatalf("server outside the bundle and the system roots: %v", err)
	}
	if err := VerifyBundleOrSystem(tls.ConnectionState{PeerCertificates: []*x509.Certificate{srv.Certificate()}}, "", pool); err == nil {
		t.Fatal("a connection without a server name was verified")
	}
	if err := VerifyBundleOrSystem(tls.ConnectionState{}, "127.0.0.1", pool); err == nil {
		t.Fatal("a connection without certificates was verified")
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}
