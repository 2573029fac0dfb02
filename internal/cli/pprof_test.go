package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// KVSRTC_PPROF=1 adds /debug/pprof/ beside the metrics; without it the
// profiles are not served.
func TestWithPprof(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) })
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	t.Setenv(envPprof, "")
	if rec := get(withPprof(metrics), "/debug/pprof/heap?debug=1"); rec.Body.String() != "metrics" {
		t.Fatalf("without %s: /debug/pprof/heap served %q", envPprof, rec.Body.String())
	}
	t.Setenv(envPprof, "1")
	h := withPprof(metrics)
	if rec := get(h, "/debug/pprof/heap?gc=1&debug=1"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "# HeapInuse = ") {
		t.Fatalf("heap profile: %d %.200q", rec.Code, rec.Body.String())
	}
	if rec := get(h, "/metrics"); rec.Body.String() != "metrics" {
		t.Fatalf("/metrics: %q", rec.Body.String())
	}
}
