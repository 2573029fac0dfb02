package mkv

import (
	"bytes"
	"errors"
	"fmt"
)

// EBML element IDs (Matroska) that MergeChunks looks at.
const (
	idEBML    = 0x1A45DFA3
	idSegment = 0x18538067
	idInfo    = 0x1549A966
	idTracks  = 0x1654AE6B
)

// MergeChunks turns a GetMedia byte stream (one self-contained MKV document
// per fragment) into one document, as OutputSegmentMerger in AWS's
// amazon-kinesis-video-streams-parser-library does for players that stop at
// a second EBML header: the first chunk's header, Info and Tracks, then the
// Tags and Clusters of every chunk. The tracks are assumed the same in every
// chunk (one storage session's codecs).
func MergeChunks(stream []byte) ([]byte, error) {
	var out bytes.Buffer
	first := true
	for p := 0; p < len(stream); {
		id, size, hl, err := elementHeader(stream[p:])
		if err != nil {
			return nil, fmt.Errorf("merge chunks at %d: %w", p, err)
		}
		switch id {
		case idEBML:
			if size < 0 || p+hl+int(size) > len(stream) {
				return nil, fmt.Errorf("merge chunks at %d: truncated EBML header", p)
			}
			if first {
				out.Write(stream[p : p+hl+int(size)])
			}
			p += hl + int(size)
		case idSegment:
			if first {
				out.Write(stream[p : p+hl])
			}
			p += hl
			end := len(stream)
			if size >= 0 {
				end = min(p+int(size), len(stream))
			}
			for p < end {
				cid, csize, chl, err := elementHeader(stream[p:])
				if err != nil {
					return nil, fmt.Errorf("merge chunks at %d: %w", p, err)
				}
				if cid == idEBML {
					break // the next chunk
				}
				if csize < 0 || p+chl+int(csize) > len(stream) {
					return nil, fmt.Errorf("merge chunks at %d: element %x of unknown or overlong size", p, cid)
				}
				if first || (cid != idInfo && cid != idTracks) {
					out.Write(stream[p : p+chl+int(csize)])
				}
				p += chl + int(csize)
			}
			first = false
		default:
			return nil, fmt.Errorf("merge chunks at %d: top-level element %x", p, id)
		}
	}
	return out.Bytes(), nil
}

var errShort = errors.New("truncated element header")

// elementHeader reads an element's ID and data size (-1: unknown) and the
// header's length.
func elementHeader(b []byte) (id uint32, size int64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, errShort
	}
	idLen := 1
	for idLen <= 4 && b[0]&(0x80>>(idLen-1)) == 0 {
		idLen++
	}
	if idLen > 4 || len(b) < idLen+1 {
		return 0, 0, 0, errShort
	}
	for _, c := range b[:idLen] {
		id = id<<8 | uint32(c)
	}
	s := b[idLen:]
	sl := 1
	for sl <= 8 && s[0]&(0x80>>(sl-1)) == 0 {
		sl++
	}
	if sl > 8 || len(s) < sl {
		return 0, 0, 0, errShort
	}
	v := int64(s[0] & (0xff >> sl))
	allOnes := v == int64(0xff>>sl)
	for _, c := range s[1:sl] {
		v = v<<8 | int64(c)
		allOnes = allOnes && c == 0xff
	}
	if allOnes {
		v = -1
	}
	return id, v, idLen + sl, nil
}
