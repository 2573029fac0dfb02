package cli

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// envPprof, when set to 1, adds Go's profiling endpoints (/debug/pprof/)
// to the emulator's --metrics-listen server: internal/cmd/wssload reads the
// emulator's heap after a forced GC (/debug/pprof/heap?gc=1) to measure
// what an idle connection costs. Off by default: a profile shows the
// process's internals to whoever can reach the metrics address.
const envPprof = "KVSRTC_PPROF"

// withPprof serves h and, with KVSRTC_PPROF=1, /debug/pprof/ beside it.
func withPprof(h http.Handler) http.Handler {
	if os.Getenv(envPprof) != "1" {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
