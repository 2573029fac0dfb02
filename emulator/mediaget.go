package emulator

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
)

// The kinesis-video-media model's patterns.
var (
	reFragmentNumber    = regexp.MustCompile(`^[0-9]+$`)
	reContinuationToken = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
)

const (
	patFragmentNumber    = `^[0-9]+$`
	patContinuationToken = `^[a-zA-Z0-9_\.\-]+$`
)

// epochInput is a restJson1 timestamp in a request body: epoch seconds, a
// JSON number (what boto3 and aws-sdk-go-v2 send).
type epochInput float64

func (t epochInput) time() time.Time {
	sec, frac := math.Modf(float64(t))
	return time.Unix(int64(sec), int64(math.Round(frac*1e9)))
}

// mediaPollInterval is how often a live GetMedia looks for new fragments
// (they are files the storage peer finishes, possibly another process's).
const mediaPollInterval = 100 * time.Millisecond

// getMedia is GetMedia (POST /getMedia on the data endpoint): the stored
// fragments from the StartSelector on, one MKV chunk each, then the new ones
// as they are stored, until the client goes, the emulator stops or no new
// fragment came for MediaOptions.GetMediaIdle.
func (c *call) getMedia() (any, *apiError) {
	var in struct {
		StreamName    *string `json:"StreamName"`
		StreamARN     *string `json:"StreamARN"`
		StartSelector *struct {
			StartSelectorType   *string     `json:"StartSelectorType"`
			AfterFragmentNumber *string     `json:"AfterFragmentNumber"`
			StartTimestamp      *epochInput `json:"StartTimestamp"`
			ContinuationToken   *string     `json:"ContinuationToken"`
		} `json:"StartSelector"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("startSelector", in.StartSelector != nil)
	sel := in.StartSelector
	if sel != nil {
		v.required("startSelector.startSelectorType", sel.StartSelectorType != nil)
		v.enum("startSelector.startSelectorType", sel.StartSelectorType, "FRAGMENT_NUMBER", "SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP", "NOW", "EARLIEST", "CONTINUATION_TOKEN")
		v.str("startSelector.afterFragmentNumber", sel.AfterFragmentNumber, 1, 128, reFragmentNumber, patFragmentNumber)
		v.str("startSelector.continuationToken", sel.ContinuationToken, 1, 128, reContinuationToken, patContinuationToken)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	typ := *sel.StartSelectorType
	switch {
	case typ == "FRAGMENT_NUMBER" && sel.AfterFragmentNumber == nil:
		return nil, errInvalidArgument("AfterFragmentNumber is required when StartSelectorType is FRAGMENT_NUMBER.")
	case (typ == "SERVER_TIMESTAMP" || typ == "PRODUCER_TIMESTAMP") && sel.StartTimestamp == nil:
		return nil, errInvalidArgument("StartTimestamp is required when StartSelectorType is %s.", typ)
	case typ == "CONTINUATION_TOKEN" && sel.ContinuationToken == nil:
		return nil, errInvalidArgument("ContinuationToken is required when StartSelectorType is CONTINUATION_TOKEN.")
	}
	s, aerr := c.mediaStream(in.StreamName, in.StreamARN, "kinesisvideo:GetMedia")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.limit(s, "GetMedia"); aerr != nil {
		return nil, aerr
	}
	frags, err := c.e.fragments(s)
	if err != nil {
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not read the stream's fragments"}
	}
	// start: the stream's first fragment to send, as a predicate over the
	// fragments in number order.
	var start func(storedFragment) bool
	missing := ""
	switch typ {
	case "EARLIEST":
		start = func(storedFragment) bool { return true }
	case "NOW":
		// "Start with the latest chunk": the one being stored now, i.e.
		// the first not finished at the call.
		last := ""
		if len(frags) > 0 {
			last = frags[len(frags)-1].Number
		}
		start = func(f storedFragment) bool { return f.Number > last }
	case "FRAGMENT_NUMBER":
		// From that fragment on, itself included (the member's own doc:
		// "the fragment number from where you want the GetMedia API to
		// start returning the fragments"; the selector's doc says after
		// it — UNCONFIRMED which the service does).
		n := *sel.AfterFragmentNumber
		found := false
		for _, f := range frags {
			found = found || f.Number == n
		}
		if !found {
			missing = n
		}
		start = func(f storedFragment) bool { return f.Number >= n }
	case "CONTINUATION_TOKEN":
		// The token is the number of the last fragment a GetMedia sent.
		tok := *sel.ContinuationToken
		start = func(f storedFragment) bool { return f.Number > tok }
	default: // SERVER_TIMESTAMP, PRODUCER_TIMESTAMP: the same clock here
		ts := sel.StartTimestamp.time()
		start = func(f storedFragment) bool { return f.End.After(ts) }
	}
	return streamed(func(w http.ResponseWriter) {
		c.e.streamMedia(c.r.Context(), w, s, start, missing)
	}), nil
}

// streamMedia writes the chunks of the fragments start selects, then those
// stored later, until ctx ends, the emulator stops or nothing new comes for
// GetMediaIdle. missing, if set, is a requested fragment that does not
// exist: the stream then holds only the service's error chunk (error id
// 4000, "requested fragment is not found").
func (e *Emulator) streamMedia(ctx context.Context, w http.ResponseWriter, s streamRecord, start func(storedFragment) bool, missing string) {
	w.Header().Set("Content-Type", "video/webm")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	if missing != "" {
		_, _ = mkv.WriteErrorChunk(w, missing, 4000, "FRAGMENT_NOT_FOUND")
		return
	}
	idle := e.opts.Media.withDefaults().GetMediaIdle
	last := ""         // the number of the last fragment sent
	lastNew := e.now() // when a fragment was last sent (or the call began)
	tick := time.NewTicker(mediaPollInterval)
	defer tick.Stop()
	for {
		frags, err := e.fragments(s)
		if err != nil {
			e.log.Warn("get media: list fragments", "stream", s.ARN, "err", err)
			return
		}
		for _, f := range frags {
			if (last != "" && f.Number <= last) || (last == "" && !start(f)) {
				continue
			}
			behind := e.now().Sub(f.End).Milliseconds()
			n, err := mkv.WriteChunk(w, f.Fragment, mkv.ChunkTags{FragmentNumber: f.Number,
				ServerTimestamp: f.Start, ProducerTimestamp: f.Start,
				MillisBehindNow: behind, ContinuationToken: f.Number})
			if err != nil && n > 0 {
				e.log.Debug("get media: write chunk", "stream", s.ARN, "err", err)
				return // the client went
			}
			if err != nil { // an unreadable fragment is skipped
				e.log.Warn("get media: skip fragment", "stream", s.ARN, "fragment", f.Number, "err", err)
			}
			flush()
			last, lastNew = f.Number, e.now()
		}
		if e.now().Sub(lastNew) >= idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-e.done:
			return
		case <-tick.C:
		}
	}
}
