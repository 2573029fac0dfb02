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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// IoTCertificate is a device certificate issued by the emulator's CA, for
// its IoT credentials endpoint.
type IoTCertificate struct {
	// Thing is the thing name, the certificate's CommonName.
	Thing string
	// CertPEM is the device certificate.
	CertPEM []byte
	// KeyPEM is its private key (PKCS #8). It is a secret.
	KeyPEM []byte
	// CAPEM is the emulator's CA, which the device uses to trust the
	// endpoint (AWS_IOT_CORE_CA_CERT_PATH or AWS_KVS_CACERT_PATH).
	CAPEM []byte
}

// Files a written IoTCertificate consists of, named as the C SDK's setup
// scripts name them (scripts/generate-iot-credential.sh).
const (
	iotCACertFile = "ca.pem"
)

// IoTCertificateFiles are the paths [IoTCertificate.WriteFiles] wrote.
type IoTCertificateFiles struct {
	Cert, Key, CA string
}

// WriteFiles writes <thing>.cert.pem, <thing>.private.key (mode 0600) and
// ca.pem into dir, creating it.
func (c IoTCertificate) WriteFiles(dir string) (IoTCertificateFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return IoTCertificateFiles{}, fmt.Errorf("create %s: %w", dir, err)
	}
	f := IoTCertificateFiles{
		Cert: filepath.Join(dir, c.Thing+".cert.pem"),
		Key:  filepath.Join(dir, c.Thing+".private.key"),
		CA:   filepath.Join(dir, iotCACertFile),
	}
	for _, w := range []struct {
		path string
		data []byte
		perm os.FileMode
	}{{f.Key, c.KeyPEM, 0o600}, {f.Cert, c.CertPEM, 0o644}, {f.CA, c.CAPEM, 0o644}} {
		if err := writeFileAtomic(w.path, w.data, w.perm); err != nil {
			return IoTCertificateFiles{}, fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return f, nil
}

// ErrInvalidThingName is returned for a thing name IoT would refuse.
var ErrInvalidThingName = errors.New("invalid IoT thing name")

// reThing is the IoT thing name pattern (CreateThing: [a-zA-Z0-9:_-]+,
// 1 to 128 characters).
var reThing = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// IssueIoTCertificate makes a device certificate for thing, signed by this
// emulator's CA, valid for a year.
func (e *Emulator) IssueIoTCertificate(thing string) (IoTCertificate, error) {
	return issueIoTCertificate(e.pki.caPath, thing, e.now())
}

// IssueIoTCertificate makes a device certificate for thing with the CA kept
// in dataDir (the emulator's --data directory), creating the CA if the
// directory has none yet, so that an emulator started later on dataDir
// accepts it.
func IssueIoTCertificate(dataDir, thing string) (IoTCertificate, error) {
	if dataDir == "" {
		return IoTCertificate{}, errors.New("a data directory is required: the CA that signs device certificates lives there")
	}
	o, err := Options{}.withDefaults()
	if err != nil {
		return IoTCertificate{}, err
	}
	_, suffix := partitionOf(o.Region)
	p, err := loadOrCreatePKI(dataDir, o.Region, suffix, o.turnIPs(), time.Now())
	if err != nil {
		return IoTCertificate{}, err
	}
	return issueIoTCertificate(p.caPath, thing, time.Now())
}

func issueIoTCertificate(caPath, thing string, now time.Time) (IoTCertificate, error) {
	if !reThing.MatchString(thing) {
		return IoTCertificate{}, fmt.Errorf("%w %q: want 1 to 128 of a-z A-Z 0-9 : _ -", ErrInvalidThingName, thing)
	}
	ca, caKey, caPEM, err := loadKeyPair(caPath, filepath.Join(filepath.Dir(caPath), caKeyFile))
	if err != nil {
		return IoTCertificate{}, fmt.Errorf("load CA: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: thing, Organization: []string{"kvsrtc emulator IoT device"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, key, err := signLeaf(tmpl, ca, caKey)
	if err != nil {
		return IoTCertificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return IoTCertificate{}, err
	}
	return IoTCertificate{
		Thing:   thing,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		CAPEM:   caPEM,
	}, nil
}

// iotServerCertificate is the IoT listener's certificate, made in memory
// at start: loopback, the listen IP, and the service's credentials host
// names for the region (so a hosts-file mapping works, as for the control
// plane).
func (e *Emulator) iotServerCertificate(ip net.IP) (tls.Certificate, error) {
	ca, caKey, _, err := loadKeyPair(e.pki.caPath, filepath.Join(filepath.Dir(e.pki.caPath), caKeyFile))
	if err != nil {
		return tls.Certificate{}, err
	}
	ips := serverIPs(nil)
	if ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		ips = append(ips, ip)
	}
	host := "credentials.iot." + e.opts.Region + "." + e.dnsSuffix
	now := e.now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kvsrtc emulator IoT credentials"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(397 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", host, "*." + host},
		IPAddresses: ips,
	}
	der, key, err := signLeaf(tmpl, ca, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// signLeaf makes a P-256 key and a certificate for it from tmpl, signed by
// the CA.
func signLeaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)); err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}
