package emulatortest

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// Start starts an emulator with opts and stops it when the test ends.
func Start(t testing.TB, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	if opts.Listen == "" && !opts.ServicePorts {
		opts.Listen = "127.0.0.1:0"
	}
	e, err := emulator.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	return e
}

// Config returns an aws.Config for the emulator's default credential: its
// region, BaseEndpoint and an HTTP client that trusts its CA.
func Config(e *emulator.Emulator) aws.Config {
	c := e.Credential()
	return aws.Config{
		Region:       e.Region(),
		BaseEndpoint: aws.String(e.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		HTTPClient:   HTTPClient(e),
	}
}

// HTTPClient returns an HTTP client that trusts the emulator's CA.
func HTTPClient(e *emulator.Emulator) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}
