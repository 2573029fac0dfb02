package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// CacheFileName is the file NewFileCache keeps in its directory. Like the C
// SDK's .SignalingCache_v0 it holds endpoints (and here ICE servers too),
// but as JSON and versioned in its content.
const CacheFileName = "signaling-cache.json"

// MaxCacheEntries bounds the file; past it the entries closest to expiry go
// first (the C SDK keeps 32).
const MaxCacheEntries = 256

const cacheVersion = 1

// DefaultCacheDir is os.UserCacheDir()/kvsrtc.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache dir: %w", err)
	}
	return filepath.Join(dir, "kvsrtc"), nil
}

// FileCache is a Cache in one JSON file, shared safely by processes: writers
// take an exclusive lock on a lock file next to it (flock), re-read the file,
// merge their change and replace the file by an atomic rename, so readers,
// which take no lock, see either the old or the new file. The file is 0600
// (TURN passwords are in it) in a 0700 directory. A file that does not parse
// is treated as empty and replaced on the next write, as the C SDK does.
type FileCache struct {
	path string
	now  func() time.Time
	log  *slog.Logger
	mu   sync.Mutex // serialises this process's writers
}

// NewFileCache returns a FileCache keeping CacheFileName in dir (created on
// first write). now is the clock used to drop expired entries (nil:
// time.Now); log receives problems with the file (nil: discard).
func NewFileCache(dir string, now func() time.Time, log *slog.Logger) *FileCache {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FileCache{path: filepath.Join(dir, CacheFileName), now: now, log: log}
}

// Path is the cache file.
func (c *FileCache) Path() string { return c.path }

type cacheFile struct {
	Version int                   `json:"version"`
	Entries map[string]CacheEntry `json:"entries"`
}

// read returns the file's entries; a missing or unreadable file is empty.
func (c *FileCache) read() map[string]CacheEntry {
	data, err := os.ReadFile(c.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Debug("cache file unreadable", "path", c.path, "err", err)
		}
		return map[string]CacheEntry{}
	}
	var f cacheFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != cacheVersion || f.Entries == nil {
		c.log.Debug("cache file ignored", "path", c.path, "err", err, "version", f.Version)
		return map[string]CacheEntry{}
	}
	return f.Entries
}

// Load returns the entry under key.
func (c *FileCache) Load(_ context.Context, key string) (CacheEntry, bool, error) {
	e, ok := c.read()[key]
	return e, ok, nil
}

// Store puts e under key.
func (c *FileCache) Store(ctx context.Context, key string, e CacheEntry) error {
	return c.update(ctx, func(m map[string]CacheEntry) { m[key] = e })
}

// Delete removes the entries whose key starts with prefix.
func (c *FileCache) Delete(ctx context.Context, prefix string) error {
	return c.update(ctx, func(m map[string]CacheEntry) {
		for k := range m {
			if strings.HasPrefix(k, prefix) {
				delete(m, k)
			}
		}
	})
}

// update applies change to the file under the lock.
func (c *FileCache) update(ctx context.Context, change func(map[string]CacheEntry)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, c.path+".lock")
	if err != nil {
		return fmt.Errorf("lock cache file: %w", err)
	}
	defer unlock()
	m := c.read()
	change(m)
	now := c.now()
	for k, v := range m {
		if !now.Before(v.Expires) {
			delete(m, k)
		}
	}
	if len(m) > MaxCacheEntries {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]].Expires.Before(m[keys[j]].Expires) })
		for _, k := range keys[:len(m)-MaxCacheEntries] {
			delete(m, k)
		}
	}
	data, err := json.MarshalIndent(cacheFile{Version: cacheVersion, Entries: m}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cache file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, CacheFileName+".*.tmp")
	if err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("replace cache file: %w", err)
	}
	return nil
}
