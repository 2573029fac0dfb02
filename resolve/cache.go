package resolve

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
)

// Cache stores resolved endpoints and ICE servers between calls and
// processes. Keys are opaque strings made by the [Resolver] from partition,
// region, channel ARN, role (and client id for ICE servers); values are JSON.
// Implementations must be safe for concurrent use and should drop entries
// whose Expires has passed. [NewMemoryCache] and [NewFileCache] are the two
// provided.
type Cache interface {
	// Load returns the entry stored under key, if any. An expired entry may be
	// returned; the Resolver checks Expires itself.
	Load(ctx context.Context, key string) (CacheEntry, bool, error)
	// Store puts e under key, replacing what was there.
	Store(ctx context.Context, key string, e CacheEntry) error
	// Delete removes the entries whose key starts with prefix.
	Delete(ctx context.Context, prefix string) error
}

// CacheEntry is one cached value.
type CacheEntry struct {
	// Expires is when the value stops being usable.
	Expires time.Time `json:"expires"`
	// Value is the JSON of an [Endpoints] or an [ICEConfig].
	Value json.RawMessage `json:"value"`
}

// cacheKey is partition|region|channel ARN|role, the C SDK's key (channel,
// region, role) made exact by the partition and the full ARN; ICE entries add
// the client id.
func cacheKey(kind string, arn channel.ARN, role channel.Role, clientID string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, s := range []string{arn.Partition, arn.Region, arn.String(), role.String()} {
		b.WriteByte('|')
		b.WriteString(s)
	}
	if kind == kindICE {
		b.WriteByte('|')
		b.WriteString(clientID)
	}
	return b.String()
}

const (
	kindEndpoints = "endpoints"
	kindICE       = "ice"
)

// MemoryCache is a Cache in memory, for one process.
type MemoryCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]CacheEntry
}

// NewMemoryCache returns an empty MemoryCache. now is the clock used to
// drop expired entries; nil means time.Now.
func NewMemoryCache(now func() time.Time) *MemoryCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryCache{now: now, entries: map[string]CacheEntry{}}
}

// Load returns the entry under key.
func (c *MemoryCache) Load(_ context.Context, key string) (CacheEntry, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok, nil
}

// Store puts e under key and drops expired entries.
func (c *MemoryCache) Store(_ context.Context, key string, e CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, v := range c.entries {
		if !now.Before(v.Expires) {
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
	return nil
}

// Delete removes the entries whose key starts with prefix.
func (c *MemoryCache) Delete(_ context.Context, prefix string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, prefix) {
			delete(c.entries, k)
		}
	}
	return nil
}
