package mkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultFragmentDuration is how long a fragment grows before the next
// keyframe starts a new one. KVS fragments are one or a few GOPs.
const DefaultFragmentDuration = 2 * time.Second

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Dir receives the fragments; it is created if missing.
	Dir string
	// FragmentDuration; default DefaultFragmentDuration.
	FragmentDuration time.Duration
	// AudioChannels of the Opus track; default 2 (opus/48000/2).
	AudioChannels int
	// Session names the storage session in the file names, so an export
	// tells one session's fragments from another's ([a-zA-Z0-9_-]).
	Session string
}

// Recorder writes one storage session's media as fragments: Matroska files
// that each begin with a video keyframe, named <start ms>-<end ms>.mkv on
// the service's clock, with ".<session>" before ".mkv" when
// RecorderOptions.Session is set (a fragment being written ends in .part).
// Audio before the first keyframe is dropped. Methods are safe for
// concurrent use.
type Recorder struct {
	opts RecorderOptions

	mu        sync.Mutex
	cur       *file
	curFile   *os.File
	curEnd    time.Time
	closed    bool
	fragments int
	frames    int
	err       error
}

// NewRecorder returns a Recorder; nothing is written before the first video
// keyframe.
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if opts.FragmentDuration <= 0 {
		opts.FragmentDuration = DefaultFragmentDuration
	}
	if opts.AudioChannels <= 0 {
		opts.AudioChannels = 2
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create stream media dir: %w", err)
	}
	return &Recorder{opts: opts}, nil
}

// WriteVideo records an H.264 access unit (Annex-B) received at t.
func (r *Recorder) WriteVideo(t time.Time, au []byte) error {
	key := isKeyframe(au)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("recorder closed")
	}
	if r.err != nil {
		return r.err
	}
	// A keyframe a little early (jitter, a GOP a frame short) still ends
	// the fragment: 90% of its duration is enough.
	if key && (r.cur == nil || t.Sub(r.cur.start) >= r.opts.FragmentDuration*9/10) {
		if err := r.finishLocked(); err != nil {
			return err
		}
		if err := r.startLocked(t, au); err != nil {
			return err
		}
	}
	if r.cur == nil {
		return nil // before the first keyframe
	}
	if err := r.cur.writeVideo(t, au, key); err != nil {
		r.err = fmt.Errorf("write video: %w", err)
		return r.err
	}
	r.frames++
	r.curEnd = t
	return nil
}

// WriteAudio records an Opus packet received at t.
func (r *Recorder) WriteAudio(t time.Time, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.cur == nil {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	if err := r.cur.writeAudio(t, data); err != nil {
		r.err = fmt.Errorf("write audio: %w", err)
		return r.err
	}
	r.frames++
	if t.After(r.curEnd) {
		r.curEnd = t
	}
	return nil
}

func (r *Recorder) startLocked(t time.Time, key []byte) error {
	name := filepath.Join(r.opts.Dir, fmt.Sprintf("%013d.mkv.part", t.UnixMilli()))
	fh, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("create fragment: %w", err)
	}
	f, err := newFile(fh, t, key, r.opts.AudioChannels)
	if err != nil {
		fh.Close()
		os.Remove(name)
		// A keyframe whose parameter sets cannot be read: wait for the next.
		return nil
	}
	r.cur, r.curFile, r.curEnd = f, fh, t
	return nil
}

// finishLocked closes the current fragment and gives it its final name.
func (r *Recorder) finishLocked() error {
	if r.cur == nil {
		return nil
	}
	f, fh, end := r.cur, r.curFile, r.curEnd
	r.cur, r.curFile = nil, nil
	werr := f.close()
	cerr := fh.Close()
	part := fh.Name()
	if werr != nil || cerr != nil {
		os.Remove(part)
		return errors.Join(werr, cerr)
	}
	name := fmt.Sprintf("%013d-%013d", f.start.UnixMilli(), max(end.UnixMilli(), f.start.UnixMilli()+1))
	if r.opts.Session != "" {
		name += "." + r.opts.Session
	}
	final := filepath.Join(r.opts.Dir, name+".mkv")
	if err := os.Rename(part, final); err != nil {
		return fmt.Errorf("finish fragment: %w", err)
	}
	r.fragments++
	return nil
}

// Close finishes the fragment being written. It is idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.finishLocked()
}

// Stats returns how many fragments were finished and frames written.
func (r *Recorder) Stats() (fragments, frames int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fragments, r.frames
}
