package emulator

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
	"github.com/kvsrtc/kvsrtc/emulator/internal/mp4"
)

// The archived-media operations (service kinesis-video-archived-media, API
// 2017-09-30) on a stream's data endpoint: GetClip, ListFragments and
// GetMediaForFragmentList.

// GetClip's limits: "the first 100 MB or the first 200 fragments from the
// specified start timestamp" (GetClipOutput Payload), a range of at most
// 24 h.
const (
	clipMaxFragments = 200
	clipMaxBytes     = 100 << 20
	clipMaxRange     = 24 * time.Hour
)

var reListNextToken = regexp.MustCompile(`^[a-zA-Z0-9+/]+={0,2}$`)

const patListNextToken = `[a-zA-Z0-9+/]+={0,2}`

// timestampRange is the ClipTimestampRange / TimestampRange shape.
type timestampRange struct {
	StartTimestamp *epochInput `json:"StartTimestamp"`
	EndTimestamp   *epochInput `json:"EndTimestamp"`
}

// fragmentSelector is ClipFragmentSelector / FragmentSelector.
type fragmentSelector struct {
	FragmentSelectorType *string         `json:"FragmentSelectorType"`
	TimestampRange       *timestampRange `json:"TimestampRange"`
}

// check validates a selector named field (required members, enum) and
// returns its range.
func (s *fragmentSelector) check(v *validator, field string) (from, to time.Time) {
	v.required(field+".fragmentSelectorType", s.FragmentSelectorType != nil)
	v.enum(field+".fragmentSelectorType", s.FragmentSelectorType, "PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP")
	v.required(field+".timestampRange", s.TimestampRange != nil)
	if r := s.TimestampRange; r != nil {
		v.required(field+".timestampRange.startTimestamp", r.StartTimestamp != nil)
		v.required(field+".timestampRange.endTimestamp", r.EndTimestamp != nil)
		if r.StartTimestamp != nil && r.EndTimestamp != nil {
			return r.StartTimestamp.time(), r.EndTimestamp.time()
		}
	}
	return time.Time{}, time.Time{}
}

// inRange: the selectors compare a fragment's start with the range, both
// ends inclusive ("Fragments that start before the EndTimestamp value and
// continue past it are included"; ListFragments' FragmentSelector doc).
// The emulator's producer and server timestamps are the same clock.
func inRange(f storedFragment, from, to time.Time) bool {
	return !f.Start.Before(from) && !f.Start.After(to)
}

func (c *call) getClip() (any, *apiError) {
	var in struct {
		StreamName           *string           `json:"StreamName"`
		StreamARN            *string           `json:"StreamARN"`
		ClipFragmentSelector *fragmentSelector `json:"ClipFragmentSelector"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("clipFragmentSelector", in.ClipFragmentSelector != nil)
	var from, to time.Time
	if in.ClipFragmentSelector != nil {
		from, to = in.ClipFragmentSelector.check(&v, "clipFragmentSelector")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case !to.After(from):
		return nil, errInvalidArgument("The EndTimestamp must be later than the StartTimestamp.")
	case to.Sub(from) > clipMaxRange:
		return nil, errInvalidArgument("The EndTimestamp must be within 24 hours of the StartTimestamp.")
	case *in.ClipFragmentSelector.FragmentSelectorType == "SERVER_TIMESTAMP" && to.After(c.now):
		return nil, errInvalidArgument("The EndTimestamp must be in the past when the FragmentSelectorType is SERVER_TIMESTAMP.")
	}
	s, aerr := c.mediaStream(in.StreamName, in.StreamARN, "kinesisvideo:GetClip")
	if aerr != nil {
		return nil, aerr
	}
	if s.RetentionHours == 0 {
		return nil, &apiError{Status: 400, Code: "NoDataRetentionException", Message: "The stream does not retain data (DataRetentionInHours is 0)."}
	}
	if aerr := c.limit(s, "GetClip"); aerr != nil {
		return nil, aerr
	}
	frags, err := c.e.fragments(s)
	if err != nil {
		return nil, errInternal()
	}
	var sel []mkv.Fragment
	var size int64
	for _, f := range frags {
		if !inRange(f, from, to) {
			continue
		}
		if len(sel) == clipMaxFragments || (len(sel) > 0 && size+f.Size > clipMaxBytes) {
			break
		}
		sel, size = append(sel, f.Fragment), size+f.Size
	}
	if len(sel) == 0 {
		return nil, errNotFound("No fragments found in the stream for the requested timestamp range.")
	}
	clip, err := mkv.ReadClip(sel)
	if err != nil {
		return nil, &apiError{Status: 400, Code: "InvalidMediaFrameException", Message: "The media in the requested range could not be read as H.264 from a keyframe: " + err.Error()}
	}
	var buf bytes.Buffer
	if _, err := mp4.Write(&buf, clip); err != nil {
		return nil, &apiError{Status: 400, Code: "InvalidMediaFrameException", Message: "The clip could not be written as MP4: " + err.Error()}
	}
	return streamed(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
	}), nil
}

func errInternal() *apiError {
	return &apiError{Status: 500, Code: "InternalFailure", Message: "could not read the stream's fragments"}
}

// fragmentOut is the Fragment shape, members in model order.
type fragmentOut struct {
	FragmentNumber               string       `json:"FragmentNumber"`
	FragmentSizeInBytes          int64        `json:"FragmentSizeInBytes"`
	ProducerTimestamp            epochSeconds `json:"ProducerTimestamp"`
	ServerTimestamp              epochSeconds `json:"ServerTimestamp"`
	FragmentLengthInMilliseconds int64        `json:"FragmentLengthInMilliseconds"`
}

// listFragmentsDefault is ListFragments' page size without MaxResults (the
// model's maximum; the service's default is UNCONFIRMED).
const listFragmentsDefault = 1000

func (c *call) listFragments() (any, *apiError) {
	var in struct {
		StreamName       *string           `json:"StreamName"`
		StreamARN        *string           `json:"StreamARN"`
		MaxResults       *int              `json:"MaxResults"`
		NextToken        *string           `json:"NextToken"`
		FragmentSelector *fragmentSelector `json:"FragmentSelector"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.intRange("maxResults", in.MaxResults, 1, 1000)
	v.str("nextToken", in.NextToken, 1, 4096, reListNextToken, patListNextToken)
	var from, to time.Time
	if in.FragmentSelector != nil {
		from, to = in.FragmentSelector.check(&v, "fragmentSelector")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.StdEncoding.DecodeString(*in.NextToken)
		if err != nil || !reFragmentNumber.Match(b) {
			return nil, errInvalidArgument("The NextToken is not valid.")
		}
		after = string(b)
	}
	s, aerr := c.mediaStream(in.StreamName, in.StreamARN, "kinesisvideo:ListFragments")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.limit(s, "ListFragments"); aerr != nil {
		return nil, aerr
	}
	frags, err := c.e.fragments(s)
	if err != nil {
		return nil, errInternal()
	}
	limit := listFragmentsDefault
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	out := struct {
		Fragments []fragmentOut `json:"Fragments"`
		NextToken *string       `json:"NextToken,omitempty"`
	}{Fragments: []fragmentOut{}}
	for _, f := range frags {
		if f.Number <= after || (in.FragmentSelector != nil && !inRange(f, from, to)) {
			continue
		}
		if len(out.Fragments) == limit {
			tok := base64.StdEncoding.EncodeToString([]byte(out.Fragments[limit-1].FragmentNumber))
			out.NextToken = &tok
			break
		}
		out.Fragments = append(out.Fragments, fragmentOut{FragmentNumber: f.Number, FragmentSizeInBytes: f.Size,
			ProducerTimestamp: epochSeconds(f.Start), ServerTimestamp: epochSeconds(f.Start),
			FragmentLengthInMilliseconds: f.End.Sub(f.Start).Milliseconds()})
	}
	return out, nil
}

func (c *call) getMediaForFragmentList() (any, *apiError) {
	var in struct {
		StreamName *string  `json:"StreamName"`
		StreamARN  *string  `json:"StreamARN"`
		Fragments  []string `json:"Fragments"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("fragments", in.Fragments != nil)
	if in.Fragments != nil && (len(in.Fragments) < 1 || len(in.Fragments) > 1000) {
		v.add("fragments", len(in.Fragments), "have length between 1 and 1000")
	}
	for i := range in.Fragments {
		v.str("fragments."+strconv.Itoa(i+1)+".member", &in.Fragments[i], 1, 128, reFragmentNumber, patFragmentNumber)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	s, aerr := c.mediaStream(in.StreamName, in.StreamARN, "kinesisvideo:GetMediaForFragmentList")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.limit(s, "GetMediaForFragmentList"); aerr != nil {
		return nil, aerr
	}
	frags, err := c.e.fragments(s)
	if err != nil {
		return nil, errInternal()
	}
	byNumber := make(map[string]storedFragment, len(frags))
	for _, f := range frags {
		byNumber[f.Number] = f
	}
	list := make([]storedFragment, 0, len(in.Fragments))
	for _, n := range in.Fragments {
		f, ok := byNumber[n]
		if !ok {
			// UNCONFIRMED: the service may instead end the payload with
			// the AWS_KINESISVIDEO_EXCEPTION_* tags.
			return nil, errNotFound("The requested fragment %s is not found in the stream.", n)
		}
		list = append(list, f)
	}
	return streamed(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "video/webm")
		w.WriteHeader(http.StatusOK)
		for _, f := range list {
			// The tags GetMedia's chunks carry, without the continuation
			// ones (the model lists fragment number and timestamps only;
			// AWS's parser library reads them under these names).
			n, err := mkv.WriteChunk(w, f.Fragment, mkv.ChunkTags{FragmentNumber: f.Number, ServerTimestamp: f.Start, ProducerTimestamp: f.Start})
			if err != nil && n > 0 {
				return
			}
			if err != nil {
				c.e.log.Warn("get media for fragment list: skip fragment", "fragment", f.Number, "err", err)
			}
		}
	}), nil
}
