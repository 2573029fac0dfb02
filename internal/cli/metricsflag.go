package cli

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/metrics"
	"github.com/kvsrtc/kvsrtc/session"
)

// metricsFlag is --metrics-listen.
type metricsFlag struct{ Listen string }

func (f *metricsFlag) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.Listen, "metrics-listen", "", "serve Prometheus metrics of "+what+" on /metrics and a health check on /healthz at this address, e.g. 127.0.0.1:9090")
}

// masterMetrics serves one or more masters' metrics.
type masterMetrics struct {
	reg    *prometheus.Registry
	health *metrics.Health
	srv    *metrics.Server

	mu         sync.Mutex
	collectors map[string]*metrics.Master // channel → its current master's
}

// startMasterMetrics starts the endpoint, or returns nil without
// --metrics-listen. The address is printed on errOut.
func startMasterMetrics(f metricsFlag, errOut io.Writer) (*masterMetrics, error) {
	if f.Listen == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	h := metrics.NewHealth()
	srv, err := metrics.Listen(f.Listen, metrics.Handler(reg, h), nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(errOut, "metrics on http://%s/metrics, health on /healthz\n", srv.Addr())
	return &masterMetrics{reg: reg, health: h, srv: srv, collectors: map[string]*metrics.Master{}}, nil
}

// add registers c for channel, in place of an earlier attempt's.
func (mm *masterMetrics) add(channel string, c *metrics.Master) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if old := mm.collectors[channel]; old != nil {
		mm.reg.Unregister(old)
	}
	mm.collectors[channel] = c
	mm.reg.MustRegister(c)
	mm.health.Add(c)
}

// remove unregisters channel's collector when its master ends.
func (mm *masterMetrics) remove(channel string) {
	if mm == nil {
		return
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if old := mm.collectors[channel]; old != nil {
		mm.reg.Unregister(old)
		delete(mm.collectors, channel)
	}
}

// fail reports channel as not running on /healthz.
func (mm *masterMetrics) fail(channel string, err error) {
	if mm != nil {
		mm.health.Fail(channel, err.Error())
	}
}

// instrument prepares a collector for channel and adds its hooks to mo;
// attach registers it once the Master exists.
func (mm *masterMetrics) instrument(channel string, mo *session.MasterOptions) (attach func(*session.Master)) {
	if mm == nil {
		return func(*session.Master) {}
	}
	c := metrics.NewMaster(metrics.MasterOptions{Channel: channel})
	c.Instrument(mo)
	return func(m *session.Master) {
		c.Attach(m)
		mm.add(channel, c)
	}
}

func (mm *masterMetrics) close() {
	if mm != nil {
		mm.srv.Close()
	}
}

// startEmulatorMetrics serves the emulator's metrics with
// --metrics-listen: it sets opts.OnConnection (chaining one already set)
// and returns attach, to call once the emulator runs, and stop. /healthz
// answers 200 once attached.
func startEmulatorMetrics(f metricsFlag, opts *emulator.Options, errOut io.Writer) (attach func(*emulator.Emulator), stop func(), err error) {
	if f.Listen == "" {
		return func(*emulator.Emulator) {}, func() {}, nil
	}
	c := metrics.NewEmulator()
	prev := opts.OnConnection
	opts.OnConnection = func(ev emulator.ConnectionEvent) {
		c.OnConnection(ev)
		if prev != nil {
			prev(ev)
		}
	}
	reg := metrics.NewRegistry()
	reg.MustRegister(c)
	var ready atomic.Bool
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"healthy":false}`)
			return
		}
		fmt.Fprintln(w, `{"healthy":true}`)
	})
	srv, err := metrics.Listen(f.Listen, withPprof(metrics.Handler(reg, health)), nil)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(errOut, "metrics on http://%s/metrics, health on /healthz\n", srv.Addr())
	return func(e *emulator.Emulator) { c.Attach(e); ready.Store(true) }, func() { srv.Close() }, nil
}
