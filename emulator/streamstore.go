package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// streamRecord is one Kinesis video stream as the emulator keeps it (the
// stream side of media storage, spec §6).
type streamRecord struct {
	Account        string            `json:"account"`
	Name           string            `json:"name"`
	ARN            string            `json:"arn"`
	DeviceName     string            `json:"deviceName,omitempty"`
	MediaType      string            `json:"mediaType,omitempty"`
	KmsKeyID       string            `json:"kmsKeyId"`
	Status         string            `json:"status"`
	CreationTime   time.Time         `json:"creationTime"`
	RetentionHours int               `json:"retentionHours"`
	Version        string            `json:"version"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// streamStore keeps streams in memory and, with a data dir, in the same
// bbolt file as the channels (bucket "streams", write through).
type streamStore struct {
	mu     sync.RWMutex
	byARN  map[string]*streamRecord
	byName map[string]*streamRecord // account + "/" + name
	db     *bolt.DB
}

var streamsBucket = []byte("streams")

func openStreams(db *bolt.DB) (*streamStore, error) {
	s := &streamStore{byARN: map[string]*streamRecord{}, byName: map[string]*streamRecord{}, db: db}
	if db == nil {
		return s, nil
	}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(streamsBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var r streamRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode stored stream: %w", err)
			}
			s.index(&r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load streams: %w", err)
	}
	return s, nil
}

func (s *streamStore) index(r *streamRecord) {
	s.byARN[r.ARN] = r
	s.byName[nameKey(r.Account, r.Name)] = r
}

func (r *streamRecord) clone() streamRecord {
	cp := *r
	if r.Tags != nil {
		cp.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			cp.Tags[k] = v
		}
	}
	return cp
}

func (s *streamStore) get(arn string) (streamRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byARN[arn]
	if !ok {
		return streamRecord{}, false
	}
	return r.clone(), true
}

func (s *streamStore) getByName(account, name string) (streamRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byName[nameKey(account, name)]
	if !ok {
		return streamRecord{}, false
	}
	return r.clone(), true
}

// create adds r unless account already has a stream of that name.
func (s *streamStore) create(r streamRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[nameKey(r.Account, r.Name)]; ok {
		return false, nil
	}
	if err := s.persist(&r); err != nil {
		return false, err
	}
	s.index(&r)
	return true, nil
}

// delete removes the stream with arn after check approves it.
func (s *streamStore) delete(arn string, check func(*streamRecord) error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byARN[arn]
	if !ok {
		return false, nil
	}
	if err := check(r); err != nil {
		return true, err
	}
	if s.db != nil {
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(streamsBucket).Delete([]byte(arn)) }); err != nil {
			return true, fmt.Errorf("delete stream: %w", err)
		}
	}
	delete(s.byARN, arn)
	delete(s.byName, nameKey(r.Account, r.Name))
	return true, nil
}

// list returns account's streams whose names begin with prefix, sorted by
// name, after the name "after".
func (s *streamStore) list(account, prefix, after string, limit int) (page []streamRecord, more bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []*streamRecord
	for _, r := range s.byARN {
		if r.Account == account && strings.HasPrefix(r.Name, prefix) && r.Name > after {
			all = append(all, r)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for i, r := range all {
		if i == limit {
			more = true
			break
		}
		page = append(page, r.clone())
	}
	return page, more
}

func (s *streamStore) persist(r *streamRecord) error {
	if s.db == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(streamsBucket).Put([]byte(r.ARN), data) }); err != nil {
		return fmt.Errorf("store stream: %w", err)
	}
	return nil
}
