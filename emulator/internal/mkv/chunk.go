package mkv

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// ChunkTags are the AWS_KINESISVIDEO_* tags of one GetMedia chunk (the
// kinesis-video-media model's GetMediaOutput Payload documentation).
type ChunkTags struct {
	// FragmentNumber, ServerTimestamp and ProducerTimestamp come before the
	// fragment's clusters.
	FragmentNumber                     string
	ServerTimestamp, ProducerTimestamp time.Time
	// MillisBehindNow and ContinuationToken come after them, in a second
	// Tags element, when ContinuationToken is set (as FragmentMetadataVisitor in AWS's
	// amazon-kinesis-video-streams-parser-library reads them).
	MillisBehindNow   int64
	ContinuationToken string
}

// The elements of a chunk. One chunk is one EBML document: an EBML header
// and a Segment of unknown size (a live stream), so chunks concatenate into
// the byte stream GetMedia returns.
type chunkDoc struct {
	Header  webm.EBMLHeader `ebml:"EBML"`
	Segment chunkSegment    `ebml:"Segment,size=unknown"`
}

type chunkSegment struct {
	Info    webm.Info      `ebml:"Info"`
	Tracks  *webm.Tracks   `ebml:"Tracks,omitempty"`
	Tags    chunkTagList   `ebml:"Tags"`
	Cluster []webm.Cluster `ebml:"Cluster"`
	After   *chunkTagList  `ebml:"Tags,omitempty"`
}

type chunkTagList struct {
	Tag []chunkTag `ebml:"Tag"`
}

type chunkTag struct {
	Targets   struct{}    `ebml:"Targets"`
	SimpleTag []simpleTag `ebml:"SimpleTag"`
}

type simpleTag struct {
	TagName   string `ebml:"TagName"`
	TagString string `ebml:"TagString"`
}

func tagList(kv ...string) chunkTagList {
	var t chunkTag
	for i := 0; i+1 < len(kv); i += 2 {
		t.SimpleTag = append(t.SimpleTag, simpleTag{TagName: kv[i], TagString: kv[i+1]})
	}
	return chunkTagList{Tag: []chunkTag{t}}
}

// tagSeconds formats a timestamp as the service's tags carry it: epoch
// seconds with milliseconds ("1764620000.123"; the parser library reads it
// with Double.parseDouble).
func tagSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func chunkHeader() webm.EBMLHeader {
	h := *webm.DefaultEBMLHeader
	h.DocType = "matroska" // H.264 is not WebM; the service still says video/webm
	return h
}

// WriteChunk writes the stored fragment f as one GetMedia chunk: EBML
// header, Segment (unknown size), Info, Tracks, the fragment's tags, its
// clusters with absolute timecodes (ms since the epoch on the producer
// clock, as KVS producers write them), and the continuation tags. It
// returns the bytes written.
func WriteChunk(w io.Writer, f Fragment, tags ChunkTags) (int64, error) {
	doc, err := readFile(f.Path)
	if err != nil {
		return 0, fmt.Errorf("read fragment: %w", err)
	}
	base := f.Start
	if !doc.Segment.Info.DateUTC.IsZero() {
		base = doc.Segment.Info.DateUTC
	}
	clusters := make([]webm.Cluster, 0, len(doc.Segment.Cluster))
	for _, cl := range doc.Segment.Cluster {
		clusters = append(clusters, webm.Cluster{Timecode: uint64(base.UnixMilli()) + cl.Timecode, SimpleBlock: cl.SimpleBlock})
	}
	tracks := doc.Segment.Tracks
	var after *chunkTagList // GetMedia's; GetMediaForFragmentList has none
	if tags.ContinuationToken != "" {
		a := tagList("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", strconv.FormatInt(max(tags.MillisBehindNow, 0), 10),
			"AWS_KINESISVIDEO_CONTINUATION_TOKEN", tags.ContinuationToken)
		after = &a
	}
	out := chunkDoc{Header: chunkHeader(), Segment: chunkSegment{
		Info:   webm.Info{TimecodeScale: 1e6, MuxingApp: "kvsrtc-emulator", WritingApp: "kvsrtc-emulator"},
		Tracks: &tracks,
		Tags: tagList("AWS_KINESISVIDEO_FRAGMENT_NUMBER", tags.FragmentNumber,
			"AWS_KINESISVIDEO_SERVER_TIMESTAMP", tagSeconds(tags.ServerTimestamp),
			"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", tagSeconds(tags.ProducerTimestamp)),
		Cluster: clusters,
		After:   after,
	}}
	return marshalTo(w, &out)
}

// WriteErrorChunk writes the chunk that ends a GetMedia stream on an error:
// the fragment number with AWS_KINESISVIDEO_ERROR_CODE and
// AWS_KINESISVIDEO_ERROR_ID (e.g. 4000, "requested fragment is not found").
func WriteErrorChunk(w io.Writer, fragmentNumber string, id int, code string) (int64, error) {
	out := chunkDoc{Header: chunkHeader(), Segment: chunkSegment{
		Info: webm.Info{TimecodeScale: 1e6, MuxingApp: "kvsrtc-emulator", WritingApp: "kvsrtc-emulator"},
		Tags: tagList("AWS_KINESISVIDEO_FRAGMENT_NUMBER", fragmentNumber,
			"AWS_KINESISVIDEO_ERROR_CODE", code, "AWS_KINESISVIDEO_ERROR_ID", strconv.Itoa(id)),
	}}
	return marshalTo(w, &out)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func marshalTo(w io.Writer, doc *chunkDoc) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	if err := ebml.Marshal(doc, bw); err != nil {
		return cw.n, fmt.Errorf("write chunk: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write chunk: %w", err)
	}
	return cw.n, nil
}
