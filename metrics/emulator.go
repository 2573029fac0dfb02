package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// Emulator is a prometheus.Collector for a running emulator: requests per
// operation and signaling connections (open now, opened, reconnections)
// per role. Pass OnConnection as emulator.Options.OnConnection, then Attach
// the emulator once it started.
type Emulator struct {
	mu         sync.Mutex
	e          *emulator.Emulator
	open       map[string]int // role → open connections
	opened     map[string]int
	reconnects map[string]int

	requests, conns, opens, reconn *prometheus.Desc
}

// NewEmulator returns an emulator collector.
func NewEmulator() *Emulator {
	n := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "emulator", name), help, vars, nil)
	}
	return &Emulator{open: map[string]int{}, opened: map[string]int{}, reconnects: map[string]int{},
		requests: n("requests_total", "Requests by operation (AWS operation names, AssumeRoleWithCertificate for IoT credentials), refused ones included.", "operation"),
		conns:    n("connections", "Signaling WebSocket connections open now.", "role"),
		opens:    n("connections_opened_total", "Signaling WebSocket connections accepted.", "role"),
		reconn:   n("reconnections_total", "Connections from a role and client id seen before.", "role"),
	}
}

// OnConnection counts a connection event (emulator.Options.OnConnection).
func (c *Emulator) OnConnection(ev emulator.ConnectionEvent) {
	role := ev.Role.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Connected {
		c.open[role]++
		c.opened[role]++
		if ev.Reconnect {
			c.reconnects[role]++
		}
	} else if c.open[role] > 0 {
		c.open[role]--
	}
}

// Attach gives the collector the emulator whose request counts it reads.
func (c *Emulator) Attach(e *emulator.Emulator) {
	c.mu.Lock()
	c.e = e
	c.mu.Unlock()
}

// Describe sends the descriptors.
func (c *Emulator) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.conns, c.opens, c.reconn} {
		ch <- d
	}
}

// Collect sends the metrics.
func (c *Emulator) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	e := c.e
	type row struct {
		role            string
		open, opened, r int
	}
	var rows []row
	for _, role := range []string{"MASTER", "VIEWER"} {
		rows = append(rows, row{role, c.open[role], c.opened[role], c.reconnects[role]})
	}
	c.mu.Unlock()
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(r.open), r.role)
		ch <- prometheus.MustNewConstMetric(c.opens, prometheus.CounterValue, float64(r.opened), r.role)
		ch <- prometheus.MustNewConstMetric(c.reconn, prometheus.CounterValue, float64(r.r), r.role)
	}
	if e == nil {
		return
	}
	for op, n := range e.RequestCounts() {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), op)
	}
}
