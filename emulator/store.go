package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// channelRecord is one signaling channel as the emulator keeps it.
type channelRecord struct {
	Account      string            `json:"account"`
	Name         string            `json:"name"`
	ARN          string            `json:"arn"`
	Type         string            `json:"type"`
	Status       string            `json:"status"`
	CreationTime time.Time         `json:"creationTime"`
	TTLSeconds   int               `json:"ttlSeconds"`
	Version      string            `json:"version"`
	Tags         map[string]string `json:"tags,omitempty"`
	// Media storage (spec §1.3 items 7–8).
	StorageStatus    string `json:"storageStatus,omitempty"`
	StorageStreamARN string `json:"storageStreamArn,omitempty"`
}

// store keeps channels in memory and, with a data dir, in bbolt (write
// through, so a crash loses nothing acknowledged).
type store struct {
	mu     sync.RWMutex
	byARN  map[string]*channelRecord
	byName map[string]*channelRecord // account + "/" + name
	db     *bolt.DB
}

var channelsBucket = []byte("channels")

// ErrDataDirInUse reports a data dir held by another running emulator.
var ErrDataDirInUse = errors.New("data dir is in use by another emulator")

func openStore(dataDir string) (*store, error) {
	s := &store{byARN: map[string]*channelRecord{}, byName: map[string]*channelRecord{}}
	if dataDir == "" {
		return s, nil
	}
	db, err := bolt.Open(filepath.Join(dataDir, "channels.db"), 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrDataDirInUse, dataDir)
		}
		return nil, fmt.Errorf("open channel store: %w", err)
	}
	s.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(channelsBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var c channelRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode stored channel: %w", err)
			}
			s.index(&c)
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load channels: %w", err)
	}
	return s, nil
}

func (s *store) close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

func nameKey(account, name string) string { return account + "/" + name }

func (s *store) index(c *channelRecord) {
	s.byARN[c.ARN] = c
	s.byName[nameKey(c.Account, c.Name)] = c
}

// get returns a copy of the channel with arn.
func (s *store) get(arn string) (channelRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byARN[arn]
	if !ok {
		return channelRecord{}, false
	}
	return c.clone(), true
}

func (s *store) getByName(account, name string) (channelRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byName[nameKey(account, name)]
	if !ok {
		return channelRecord{}, false
	}
	return c.clone(), true
}

func (c *channelRecord) clone() channelRecord {
	cp := *c
	if c.Tags != nil {
		cp.Tags = make(map[string]string, len(c.Tags))
		for k, v := range c.Tags {
			cp.Tags[k] = v
		}
	}
	return cp
}

// count returns how many channels account has.
func (s *store) count(account string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, c := range s.byARN {
		if c.Account == account {
			n++
		}
	}
	return n
}

// create adds c unless account already has a channel of that name.
func (s *store) create(c channelRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[nameKey(c.Account, c.Name)]; ok {
		return false, nil
	}
	if err := s.persist(&c); err != nil {
		return false, err
	}
	s.index(&c)
	return true, nil
}

// update applies fn to the channel with arn under the lock and persists
// the result. fn returns an error to abort.
func (s *store) update(arn string, fn func(*channelRecord) error) (channelRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byARN[arn]
	if !ok {
		return channelRecord{}, false, nil
	}
	next := cur.clone()
	if err := fn(&next); err != nil {
		return channelRecord{}, true, err
	}
	if err := s.persist(&next); err != nil {
		return channelRecord{}, true, err
	}
	s.index(&next)
	return next.clone(), true, nil
}

// delete removes the channel with arn after check approves it.
func (s *store) delete(arn string, check func(*channelRecord) error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byARN[arn]
	if !ok {
		return false, nil
	}
	if err := check(c); err != nil {
		return true, err
	}
	if s.db != nil {
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(channelsBucket).Delete([]byte(arn)) }); err != nil {
			return true, fmt.Errorf("delete channel: %w", err)
		}
	}
	delete(s.byARN, arn)
	delete(s.byName, nameKey(c.Account, c.Name))
	return true, nil
}

// list returns account's channels whose names begin with prefix, sorted
// by name, after the name "after".
func (s *store) list(account, prefix, after string, limit int) (page []channelRecord, more bool) {
	s.mu.RLock()
	var all []*channelRecord
	for _, c := range s.byARN {
		if c.Account == account && strings.HasPrefix(c.Name, prefix) && c.Name > after {
			all = append(all, c)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for i, c := range all {
		if i == limit {
			more = true
			break
		}
		page = append(page, c.clone())
	}
	s.mu.RUnlock()
	return page, more
}

func (s *store) persist(c *channelRecord) error {
	if s.db == nil {
		return nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(channelsBucket).Put([]byte(c.ARN), data) }); err != nil {
		return fmt.Errorf("store channel: %w", err)
	}
	return nil
}
