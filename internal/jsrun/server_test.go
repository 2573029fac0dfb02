package jsrun

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
	testAKID   = "AKIDJSRUNTEST"
	testSecret = "jsrunTestSecretKey/9f2c+e1Q7wZp0XkV4mN8bR3tY6uJ"
	testToken  = "jsrunTestSessionToken/FwoGZXIvYXdzEJr//////////wEaD"
	testRegion = "us-west-2"
)

// response is what the fake server answers on one path.
type response struct {
	status int
	header map[string]string
	body   string
	// hook, when set, runs before the response is written; the server answers
	// after it returns or when the client goes away.
	hook func(r *http.Request)
}

type seenRequest struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// fakeServer is a TLS server on 127.0.0.1 that answers canned responses and
// records what it was sent.
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
	// Handshake errors (an untrusting client hangs up) go to the test log.
	s.srv.Config.ErrorLog = log.New(testWriter{t}, "fake server: ", 0)
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
	s.seen = append(s.seen, seenRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
	s.mu.Unlock()

	resp, ok := s.routes[r.URL.Path]
	if !ok {
		w.Header().Set("X-Amzn-ErrorType", "UnknownOperationException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"no route in fake server"}`)
		return
	}
	if resp.hook != nil {
		resp.hook(r)
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
	return Env{
		Endpoint:        s.srv.URL,
		Region:          testRegion,
		AccessKeyID:     testAKID,
		SecretAccessKey: testSecret,
		SessionToken:    testToken,
		CABundle:        s.caFile,
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
