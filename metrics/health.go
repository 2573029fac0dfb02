package metrics

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/signaling"
)

// Media states a health report gives.
const (
	MediaFlowing = "flowing" // frames went to a viewer within StallAfter
	MediaIdle    = "idle"    // no viewer: nothing to send
	MediaStalled = "stalled" // a viewer is connected but no frame went out
)

// ChannelHealth is one channel's part of a health report.
type ChannelHealth struct {
	Channel            string  `json:"channel"`
	Healthy            bool    `json:"healthy"`
	SignalingConnected bool    `json:"signalingConnected"`
	Viewers            int     `json:"viewers"`
	Media              string  `json:"media"`
	LastFrameAgoSec    float64 `json:"lastFrameAgoSeconds,omitempty"`
	// Error is why the channel is not running, for one that failed
	// (its credentials, source or channel), set through Health.Fail.
	Error string `json:"error,omitempty"`
}

// Health reports the channel: healthy when signaling is connected and media
// is not stalled.
func (c *Master) Health() ChannelHealth {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := ChannelHealth{Channel: c.channel, SignalingConnected: c.sigState == signaling.StateConnected, Viewers: len(c.peers), Media: MediaIdle}
	if len(c.peers) > 0 {
		since := c.joined
		if c.lastSent.After(since) {
			since = c.lastSent
		}
		ago := time.Since(since)
		if !c.lastSent.IsZero() {
			h.LastFrameAgoSec = time.Since(c.lastSent).Seconds()
		}
		h.Media = MediaFlowing
		if ago > c.stallAfter {
			h.Media = MediaStalled
		}
	}
	h.Healthy = h.SignalingConnected && h.Media != MediaStalled
	return h
}

// HealthReport is the /healthz body.
type HealthReport struct {
	Healthy  bool            `json:"healthy"`
	Channels []ChannelHealth `json:"channels"`
}

// Health gathers the masters of a process for /healthz. It is safe for
// concurrent use.
type Health struct {
	mu      sync.Mutex
	masters map[string]*Master
	failed  map[string]string
}

// NewHealth returns an empty Health.
func NewHealth() *Health {
	return &Health{masters: map[string]*Master{}, failed: map[string]string{}}
}

// Add reports m under its channel, replacing an earlier failure.
func (h *Health) Add(m *Master) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.masters[m.channel] = m
	delete(h.failed, m.channel)
}

// Fail reports a channel that is not running, with why (no secret: the
// caller passes an error text from kvsrtc's packages, which hold none).
func (h *Health) Fail(channel, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed[channel] = reason
}

// Report gives every channel's health; healthy when all are.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	masters := make([]*Master, 0, len(h.masters))
	for name, m := range h.masters {
		if _, bad := h.failed[name]; !bad {
			masters = append(masters, m)
		}
	}
	r := HealthReport{Healthy: true}
	for name, why := range h.failed {
		r.Channels = append(r.Channels, ChannelHealth{Channel: name, Media: MediaIdle, Error: why})
	}
	h.mu.Unlock()
	for _, m := range masters {
		r.Channels = append(r.Channels, m.Health())
	}
	sort.Slice(r.Channels, func(i, j int) bool { return r.Channels[i].Channel < r.Channels[j].Channel })
	for _, c := range r.Channels {
		r.Healthy = r.Healthy && c.Healthy
	}
	return r
}

// ServeHTTP answers /healthz: 200 with the report when every channel is
// healthy, else 503 with it.
func (h *Health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r := h.Report()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(r)
}
