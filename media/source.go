package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultMaxLag is how late a paced Source may fall before it re-anchors its
// schedule instead of bursting to catch up.
const DefaultMaxLag = time.Second

// SourceOptions configures a Source.
type SourceOptions struct {
	// Codec of the input: CodecH264 (Annex-B), CodecVP8 (IVF) or
	// CodecOpus (Ogg). Required.
	Codec Codec
	// FPS is the frame rate of H.264 input, which has no timestamps.
	// Default DefaultFPS. Ignored for IVF and Ogg.
	FPS float64
	// Loop restarts the input at its end. The reader must be an
	// io.Seeker (a file or an embedded clip, not stdin); timestamps and
	// sequence numbers keep growing across loops.
	Loop bool
	// Unpaced publishes frames as fast as they are read, for tests and
	// tools. Subscribers still have bounded queues: a slow one drops.
	Unpaced bool
	// Clock paces the source. Default: the real clock.
	Clock Clock
	// MaxLag: a frame more than MaxLag late re-anchors the schedule at that
	// frame instead of being followed by a burst. Default DefaultMaxLag.
	MaxLag time.Duration
	// Broadcaster options: per-subscriber queue and GOP cache bounds.
	Broadcaster BroadcasterOptions
	// Logger; default discard.
	Logger *slog.Logger
}

// Source reads a stream once, paces it in real time and fans every frame out
// to its subscribers through a Broadcaster (see there for the GOP cache and
// drop policy).
//
// Run does the work in the caller's goroutine; Source starts none.
type Source struct {
	opts  SourceOptions
	r     io.Reader
	log   *slog.Logger
	b     *Broadcaster
	mu    sync.Mutex
	state int // 0 new, 1 running, 2 done
}

// NewSource returns a Source that reads r. It does no I/O: headers are read
// by Run. opts is copied; optFns modify the copy.
func NewSource(r io.Reader, opts SourceOptions, optFns ...func(*SourceOptions)) (*Source, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	if r == nil {
		return nil, errors.New("media: new source: nil reader")
	}
	switch opts.Codec {
	case CodecH264, CodecVP8, CodecOpus:
	default:
		return nil, fmt.Errorf("media: new source: codec %v: %w", opts.Codec, ErrUnsupported)
	}
	if opts.Loop {
		if _, ok := r.(io.Seeker); !ok {
			return nil, errors.New("media: new source: loop needs a seekable reader (a file, not a pipe)")
		}
	}
	if opts.FPS <= 0 {
		opts.FPS = DefaultFPS
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.MaxLag <= 0 {
		opts.MaxLag = DefaultMaxLag
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Broadcaster.Logger == nil {
		opts.Broadcaster.Logger = log
	}
	return &Source{
		opts: opts,
		r:    r,
		log:  log.With("component", "media", "codec", opts.Codec.String()),
		b:    NewBroadcaster(opts.Broadcaster),
	}, nil
}

// Codec returns the source's codec.
func (s *Source) Codec() Codec { return s.opts.Codec }

// Subscribe subscribes to the source's frames; see Broadcaster.Subscribe.
// The channel is closed when Run returns.
func (s *Source) Subscribe() (<-chan Frame, func()) { return s.b.Subscribe() }

// Keyframe returns the keyframe the source's GOP cache starts with, if any;
// see Broadcaster.Keyframe.
func (s *Source) Keyframe() (Frame, bool) { return s.b.Keyframe() }

// Stats returns the fan-out counters.
func (s *Source) Stats() BroadcastStats { return s.b.Stats() }

// Run reads, paces and publishes frames until the input ends (it returns
// nil), ctx is done (ctx.Err()) or the input is broken. When it returns,
// every subscriber's channel is closed. Run may be called once; later calls
// return ErrClosed.
//
// Reads are not interruptible: if the reader blocks (a quiet stdin), Run
// notices ctx only when the read returns. Close the reader to unblock it.
func (s *Source) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 0 {
		s.mu.Unlock()
		return ErrClosed
	}
	s.state = 1
	s.mu.Unlock()
	defer func() {
		s.b.Close()
		s.mu.Lock()
		s.state = 2
		s.mu.Unlock()
	}()

	var (
		offset   time.Duration // added to stream timestamps (loops)
		seq      int
		anchored bool
		wall0    time.Time     // wall time of ts0
		ts0      time.Duration // timestamp at the anchor
	)
	for pass := 0; ; pass++ {
		if pass > 0 {
			if _, err := s.r.(io.Seeker).Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("media: rewind for loop: %w", err)
			}
		}
		fr, err := s.newReader()
		if err != nil {
			return err
		}
		var end time.Duration // end of this pass, stream time
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := fr.ReadFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("media: read %v: %w", s.opts.Codec, err)
			}
			n++
			end = max(end, f.Timestamp+f.Duration)
			f.Timestamp += offset
			f.Seq = seq
			seq++
			if !s.opts.Unpaced {
				now := s.opts.Clock.Now()
				if !anchored {
					wall0, ts0, anchored = now, f.Timestamp, true
				}
				due := wall0.Add(f.Timestamp - ts0)
				if late := now.Sub(due); late > s.opts.MaxLag {
					s.log.Debug("source late; re-anchoring", "late", late, "seq", f.Seq)
					wall0, ts0 = now, f.Timestamp
				} else if wait := due.Sub(now); wait > 0 {
					if err := s.sleep(ctx, wait); err != nil {
						return err
					}
				}
			}
			s.b.Publish(f)
		}
		if !s.opts.Loop {
			return nil
		}
		if n == 0 {
			return fmt.Errorf("media: loop %v: %w: no frames", s.opts.Codec, ErrInvalidStream)
		}
		offset += end
	}
}

func (s *Source) sleep(ctx context.Context, d time.Duration) error {
	t := s.opts.Clock.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

func (s *Source) newReader() (FrameReader, error) {
	switch s.opts.Codec {
	case CodecH264:
		return NewAnnexBReader(s.r, s.opts.FPS)
	case CodecVP8:
		return NewIVFReader(s.r)
	default:
		return NewOggReader(s.r)
	}
}
