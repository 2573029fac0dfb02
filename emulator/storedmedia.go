package emulator

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
)

// StoredStream is one stream's media kept under a data dir by WebRTC
// ingestion: Matroska fragments on the service's clock.
type StoredStream struct {
	// Account and Name identify the stream; Created is the creation
	// instant in its ARN (a stream deleted and made again is another).
	Account, Name string
	Created       time.Time
	// Dir holds the fragments, <start ms>-<end ms>.mkv.
	Dir string
	// Fragments, and the time they span.
	Fragments   []StoredFragment
	First, Last time.Time
	// Bytes is the fragments' total size.
	Bytes int64
}

// StoredFragment is one fragment file.
type StoredFragment struct {
	Path       string
	Start, End time.Time
	Bytes      int64
	// Session is the storage session that recorded it.
	Session string
}

// Duration is the media time the fragments hold (gaps excluded).
func (s StoredStream) Duration() time.Duration {
	var d time.Duration
	for _, f := range s.Fragments {
		d += f.End.Sub(f.Start)
	}
	return d
}

// ListStoredMedia lists the streams with stored media under dataDir (the
// emulator's --data), by account and name. It reads only files, so it
// works while an emulator runs on the dir.
func ListStoredMedia(dataDir string) ([]StoredStream, error) {
	return listMedia(filepath.Join(dataDir, "media"))
}

// StoredMedia lists this emulator's stored streams.
func (e *Emulator) StoredMedia() ([]StoredStream, error) { return listMedia(e.mediaRoot()) }

func listMedia(root string) ([]StoredStream, error) {
	accounts, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list stored media: %w", err)
	}
	var out []StoredStream
	for _, a := range accounts {
		names, _ := os.ReadDir(filepath.Join(root, a.Name()))
		for _, n := range names {
			gens, _ := os.ReadDir(filepath.Join(root, a.Name(), n.Name()))
			for _, g := range gens {
				ms, err := strconv.ParseInt(g.Name(), 10, 64)
				if err != nil {
					continue
				}
				dir := filepath.Join(root, a.Name(), n.Name(), g.Name())
				frags, err := mkv.ListFragments(dir)
				if err != nil {
					return nil, fmt.Errorf("list stored media: %w", err)
				}
				s := StoredStream{Account: a.Name(), Name: n.Name(), Created: time.UnixMilli(ms), Dir: dir}
				for _, f := range frags {
					s.Fragments = append(s.Fragments, StoredFragment{Path: f.Path, Start: f.Start, End: f.End, Bytes: f.Size, Session: f.Session})
					s.Bytes += f.Size
					if s.First.IsZero() || f.Start.Before(s.First) {
						s.First = f.Start
					}
					if f.End.After(s.Last) {
						s.Last = f.End
					}
				}
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, nil
}

// ExportResult describes an exported file.
type ExportResult struct {
	// Fragments read, frames written.
	Fragments, VideoFrames, AudioFrames int
	// First and Last are the service timestamps of the first and last
	// frames written.
	First, Last time.Time
}

// ErrNoMedia reports an export range with no video keyframe in it.
var ErrNoMedia = errors.New("no stored media in the range")

// Export writes the stream's media between from and to (zero: unbounded)
// to w as one Matroska file (H.264 + Opus) that begins at a keyframe.
func (s StoredStream) Export(w io.WriteSeeker, from, to time.Time) (ExportResult, error) {
	frags := make([]mkv.Fragment, len(s.Fragments))
	for i, f := range s.Fragments {
		frags[i] = mkv.Fragment{Path: f.Path, Start: f.Start, End: f.End, Size: f.Bytes, Session: f.Session}
	}
	st, err := mkv.Export(w, frags, from, to)
	if err != nil {
		if st.VideoFrames == 0 {
			return ExportResult{}, fmt.Errorf("export stream %s: %w: %w", s.Name, ErrNoMedia, err)
		}
		return ExportResult{}, fmt.Errorf("export stream %s: %w", s.Name, err)
	}
	return ExportResult{Fragments: st.Fragments, VideoFrames: st.VideoFrames, AudioFrames: st.Audio, First: st.First, Last: st.Last}, nil
}
