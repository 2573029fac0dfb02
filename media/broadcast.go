package media

import (
	"log/slog"
	"sync"
)

// Defaults for BroadcasterOptions.
const (
	DefaultQueueSize    = 64
	DefaultMaxGOPFrames = 300
)

// BroadcasterOptions configures a Broadcaster.
type BroadcasterOptions struct {
	// QueueSize is how many live frames a subscriber's channel buffers
	// beyond the cached GOP it starts with. Default DefaultQueueSize.
	QueueSize int
	// MaxGOPFrames bounds the GOP cache. A GOP longer than this is not
	// cached, and subscribers that join during it wait for the next
	// keyframe. Default DefaultMaxGOPFrames (10 s at 30 fps).
	MaxGOPFrames int
	// Logger receives drop notices at debug level. Default: discard.
	Logger *slog.Logger
}

// Broadcaster fans frames out to any number of subscribers without ever
// blocking the publisher.
//
// It caches the current GOP — the frames since the most recent keyframe — so
// that a subscriber that joins mid-stream first receives that GOP, starting
// with its keyframe, then live frames: its first frame is decodable at once.
//
// Drop policy: each subscriber has a bounded queue. When a frame does not fit,
// it is dropped for that subscriber and so is every following frame until a
// keyframe fits; the subscriber then resumes at that keyframe, so what it
// receives always decodes (a frozen picture rather than corrupt ones). With
// audio, where every frame is a keyframe, this drops just the frames that do
// not fit. Other subscribers are not affected.
type Broadcaster struct {
	opts   BroadcasterOptions
	log    *slog.Logger
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	gop    []Frame
	gopOK  bool // gop starts at a keyframe and is complete
	closed bool
	stats  BroadcastStats
}

// BroadcastStats counts what a Broadcaster did.
type BroadcastStats struct {
	Subscribers int // current subscribers
	Published   int // frames published
	Delivered   int // frames queued to subscribers, cached GOPs included
	Dropped     int // frames dropped for slow subscribers
	GOPFrames   int // frames in the GOP cache now
}

type subscriber struct {
	ch      chan Frame
	waitKey bool
}

// NewBroadcaster returns a Broadcaster. opts is copied; optFns modify the
// copy.
func NewBroadcaster(opts BroadcasterOptions, optFns ...func(*BroadcasterOptions)) *Broadcaster {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxGOPFrames <= 0 {
		opts.MaxGOPFrames = DefaultMaxGOPFrames
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Broadcaster{
		opts: opts,
		log:  log.With("component", "media"),
		subs: make(map[*subscriber]struct{}),
	}
}

// Publish hands f to every subscriber whose queue has room and updates the
// GOP cache. It never blocks. Publishing after Close does nothing.
func (b *Broadcaster) Publish(f Frame) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.stats.Published++
	switch {
	case f.Keyframe:
		clear(b.gop) // drop references to old payloads
		b.gop = append(b.gop[:0], f)
		b.gopOK = true
	case b.gopOK && len(b.gop) < b.opts.MaxGOPFrames:
		b.gop = append(b.gop, f)
	case b.gopOK:
		clear(b.gop)
		b.gop = b.gop[:0]
		b.gopOK = false
		b.log.Debug("gop cache overflow; late subscribers wait for the next keyframe", "max", b.opts.MaxGOPFrames)
	}
	for s := range b.subs {
		if s.waitKey && !f.Keyframe {
			b.stats.Dropped++
			continue
		}
		select {
		case s.ch <- f:
			s.waitKey = false
			b.stats.Delivered++
		default:
			if !s.waitKey {
				b.log.Debug("subscriber queue full; dropping until the next keyframe", "seq", f.Seq)
			}
			s.waitKey = true
			b.stats.Dropped++
		}
	}
}

// Subscribe returns a channel that first yields the cached GOP (starting
// with its keyframe) and then live frames, and a cancel function. If no
// complete GOP is cached, the first frame delivered is the next keyframe.
//
// cancel removes the subscription and closes the channel; it is idempotent
// and safe to call from any goroutine. Close also closes every channel.
// After Close, Subscribe returns a closed channel.
func (b *Broadcaster) Subscribe() (<-chan Frame, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		ch := make(chan Frame)
		close(ch)
		return ch, func() {}
	}
	s := &subscriber{ch: make(chan Frame, len(b.gop)+b.opts.QueueSize)}
	if b.gopOK {
		for _, f := range b.gop {
			s.ch <- f
		}
		b.stats.Delivered += len(b.gop)
	} else {
		s.waitKey = true
	}
	b.subs[s] = struct{}{}
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.subs[s]; ok {
				delete(b.subs, s)
				close(s.ch)
			}
		})
	}
	return s.ch, cancel
}

// Keyframe returns the keyframe that starts the cached GOP, if there is one
// (a master reads an H.264 source's SPS from it). Its Data is shared: read
// only.
func (b *Broadcaster) Keyframe() (Frame, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.gopOK || len(b.gop) == 0 {
		return Frame{}, false
	}
	return b.gop[0], true
}

// Stats returns counters; Subscribers and GOPFrames are current values.
func (b *Broadcaster) Stats() BroadcastStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Subscribers = len(b.subs)
	st.GOPFrames = len(b.gop)
	return st
}

// Close closes every subscriber's channel (frames already queued can still
// be received) and drops the GOP cache. It is idempotent.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		close(s.ch)
		delete(b.subs, s)
	}
	b.gop = nil
	b.gopOK = false
}
