package creds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// BundleTLSConfig is a client TLS configuration for serverName that
// trusts the CAs of bundle and then the system roots, as a CA bundle
// (AWS_CA_BUNDLE) is meant to add a CA to, not to replace: an emulator's or
// a corporate proxy's CA beside the public ones. Its RootCAs is bundle.
//
// The system roots are read only for a server whose chain the bundle does
// not vouch for: loading them parses every certificate under /etc/ssl
// (18 ms here, on the path from the credentials to the first frame), and a
// client of the emulator never needs them. So the standard verification is
// replaced by the same one done in VerifyConnection (chain to a root,
// intermediates from the server, the host name), with the bundle's roots
// first and the system's second; it runs for resumed sessions too. An
// empty serverName verifies the name the client sent (SNI); a connection
// with neither is refused, as crypto/tls refuses one.
func BundleTLSConfig(bundle *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		RootCAs:            bundle,
		InsecureSkipVerify: true, // verified in VerifyConnection, against bundle then the system roots
		VerifyConnection: func(cs tls.ConnectionState) error {
			name := serverName
			if name == "" {
				name = cs.ServerName // SNI: never an IP address
			}
			return VerifyBundleOrSystem(cs, name, bundle)
		},
	}
}

// VerifyBundleOrSystem verifies the server chain of cs for host against
// bundle's roots, then the system's (bundle nil: the system's alone).
func VerifyBundleOrSystem(cs tls.ConnectionState, host string, bundle *x509.CertPool) error {
	if host == "" {
		return errors.New("tls: no server name to verify the certificate for")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	var bundleErr error
	if bundle != nil {
		opts.Roots = bundle
		if _, bundleErr = leaf.Verify(opts); bundleErr == nil {
			return nil
		}
	}
	opts.Roots = nil // the system roots, loaded on first use
	_, err := leaf.Verify(opts)
	if err == nil {
		return nil
	}
	if bundleErr != nil {
		return fmt.Errorf("tls: the certificate of %s is trusted by neither the CA bundle (%w) nor the system roots (%w)", host, bundleErr, err)
	}
	return fmt.Errorf("tls: %w", err)
}

// useBundle makes tr verify servers with BundleTLSConfig. Direct HTTPS
// connections are dialed here, each with a configuration for its host
// (crypto/tls reports no server name for an IP address); proxied ones use
// TLSClientConfig, which verifies the name they send.
func useBundle(tr *http.Transport, bundle *x509.CertPool) {
	tr.TLSClientConfig = BundleTLSConfig(bundle, "")
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	timeout := tr.TLSHandshakeTimeout
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		tc := tls.Client(raw, BundleTLSConfig(bundle, host))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
}
