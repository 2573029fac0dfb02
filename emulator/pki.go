package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// pki is the emulator's local CA and its server certificate. The CA is made
// once and kept under Options.DataDir, so clients trust it through
// AWS_CA_BUNDLE across restarts and start-up does no key generation (§8 item 1).
type pki struct {
	caPath string
	caPEM  []byte
	pool   *x509.CertPool
	cert   tls.Certificate
}

const (
	caFile      = "ca.pem"
	caKeyFile   = "ca-key.pem"
	certFile    = "server.pem"
	certKeyFile = "server-key.pem"
)

// serverNames are the names the server certificate must cover: loopback,
// plus the service's host names for the region, so a client that maps them
// to the emulator (hosts file, §2.1 and §8 item 1) keeps working.
func serverNames(region, dnsSuffix string) []string {
	return []string{
		"localhost",
		"kinesisvideo." + region + "." + dnsSuffix,
		"*.kinesisvideo." + region + "." + dnsSuffix,
		// The FIPS host: botocore's default in aws-us-gov, and everywhere
		// with AWS_USE_FIPS_ENDPOINT=true (env.go serviceHosts).
		fipsHost(region, dnsSuffix),
	}
}

// serverIPs are the IP addresses the server certificate must cover:
// loopback, the default TURN addresses of both modes (127.0.0.2, 127.0.0.3),
// plus extra, the configured TURN addresses (pion's TURN TLS client checks
// the URI's host, an IP, against the certificate). A fixed base keeps one
// leaf valid across modes.
func serverIPs(extra []net.IP) []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3), net.IPv6loopback}
	for _, ip := range extra {
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	return ips
}

func loadOrCreatePKI(dir, region, dnsSuffix string, extraIPs []net.IP, now time.Time) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	caCert, caKey, caPEM, err := loadKeyPair(filepath.Join(dir, caFile), filepath.Join(dir, caKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		caCert, caKey, caPEM, err = createCA(dir, now)
	}
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	names, ips := serverNames(region, dnsSuffix), serverIPs(extraIPs)
	leaf, leafKey, _, err := loadKeyPair(filepath.Join(dir, certFile), filepath.Join(dir, certKeyFile))
	if err != nil || !leafFits(leaf, caCert, names, ips, now) {
		leaf, leafKey, _, err = createLeaf(dir, caCert, caKey, names, ips, now)
		if err != nil {
			return nil, fmt.Errorf("create server certificate: %w", err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &pki{
		caPath: filepath.Join(dir, caFile),
		caPEM:  caPEM,
		pool:   pool,
		cert:   tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey, Leaf: leaf},
	}, nil
}

func leafFits(leaf, ca *x509.Certificate, names []string, ips []net.IP, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca) != nil || now.Add(30*24*time.Hour).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if !slices.Contains(leaf.DNSNames, n) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func loadKeyPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, certPEM, nil
}

func createCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kvsrtc emulator local CA", Organization: []string{"kvsrtc"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return issue(dir, caFile, caKeyFile, tmpl, nil, nil)
}

func createLeaf(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, ips []net.IP, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kvsrtc emulator"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(397 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    names,
		IPAddresses: ips,
	}
	return issue(dir, certFile, certKeyFile, tmpl, ca, caKey)
}

func issue(dir, certName, keyName string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl.SerialNumber = serial
	signer := key
	if parent == nil {
		parent = tmpl
	} else {
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, certName), certPEM, 0o644); err != nil {
		return nil, nil, nil, err
	}
	return cert, key, certPEM, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a reader
// (or a crash) never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
