package pyrun

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Credentials the fake server expects; the secrets must never show up in
// errors or stderr.
const (
	testAKID   = "AKIDPYRUNTEST"
	testSecret = "pyrunTestSecretKey/7a1c+e9Q3wZp0XkV4mN8bR3tY6uJ"
	testToken  = "pyrunTestSessionToken/FwoGZXIvYXdzEJr//////////wEaD"
	testRegion = "us-west-2"
)

// response is what the fake server answers on one path.
type response struct {
	status int
	header map[string]string
	body   string
}

type seenRequest struct {
	path   string
	header http.Header
	body   string
}

// fakeServer is a TLS server on 127.0.0.1 that answers canned responses and
// records what it was sent: a fault injector, not an emulator.
type fakeServer struct {
	srv    *httptest.Server
	caFile string
	routes map[string]response

	mu   sync.Mutex
	seen []seenRequest
}

func newFakeServer(t *testing.T, routes map[string]response) *fakeServer {
	t.Helper()
	s := &fakeServer{routes: routes}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, seenRequest{path: r.URL.Path, header: r.Header.Clone(), body: string(body)})
	s.mu.Unlock()
	resp, ok := s.routes[r.URL.Path]
	if !ok {
		resp = response{status: http.StatusNotFound, header: map[string]string{"X-Amzn-ErrorType": "UnknownOperationException"},
			body: `{"message":"no route in fake server"}`}
	}
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

func (s *fakeServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.seen...)
}

// env returns an Env that reaches s and trusts its certificate.
func (s *fakeServer) env() Env {
	return Env{Endpoint: s.srv.URL, Region: testRegion, AccessKeyID: testAKID, SecretAccessKey: testSecret,
		SessionToken: testToken, CABundle: s.caFile}
}

// assertNoSecrets fails if s contains one of the test secrets.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret", what)
		}
	}
}
