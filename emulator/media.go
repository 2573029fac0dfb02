package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
)

// MediaOptions configure reading stored media back (GetDataEndpoint,
// GetMedia, GetClip, ListFragments, GetMediaForFragmentList). Zero fields
// take the defaults.
type MediaOptions struct {
	// GetMediaIdle ends a GetMedia response when no new fragment has
	// arrived for this long: 5 s. The service keeps a live GetMedia open
	// while the producer sends; how long it waits for one that stopped is
	// UNCONFIRMED, and a client resumes with the continuation token either
	// way.
	GetMediaIdle time.Duration
	// TPS is the calls per second per stream and operation before
	// ClientLimitExceededException: 5, the service's GetMedia limit.
	TPS int
}

func (o MediaOptions) withDefaults() MediaOptions {
	if o.GetMediaIdle <= 0 {
		o.GetMediaIdle = 5 * time.Second
	}
	if o.TPS <= 0 {
		o.TPS = 5
	}
	return o
}

// mediaState is the media services' per-stream call history (the TPS
// limit).
type mediaState struct {
	mu    sync.Mutex
	calls map[string][]time.Time // stream ARN + "|" + operation → last calls
}

// allow records a call and reports whether it is within tps per second.
func (m *mediaState) allow(key string, now time.Time, tps int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string][]time.Time{}
	}
	recent := m.calls[key][:0]
	for _, t := range m.calls[key] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) >= tps {
		m.calls[key] = recent
		return false
	}
	m.calls[key] = append(recent, now)
	return true
}

// GetDataEndpoint (control plane, POST /getDataEndpoint) is registered
// before controlplane.go's init lower-cases the paths.
var _ = registerMediaOps()

func registerMediaOps() bool {
	controlOps["GetDataEndpoint"] = operation{"GetDataEndpoint", (*call).getDataEndpoint}
	return true
}

// mediaOps are the operations of a stream's data endpoint: GetMedia
// (service kinesis-video-media) and the archived-media ones
// (kinesis-video-archived-media), both API 2017-09-30, restJson1, with the
// control plane's error shapes ({"Message": …}).
var mediaOps = map[string]operation{
	"/getMedia":                {"GetMedia", (*call).getMedia},
	"/getClip":                 {"GetClip", (*call).getClip},
	"/listFragments":           {"ListFragments", (*call).listFragments},
	"/getMediaForFragmentList": {"GetMediaForFragmentList", (*call).getMediaForFragmentList},
}

const docMedia = "https://kinesisvideo.amazonaws.com/doc/2017-09-30/"

// mediaRoute resolves a data-endpoint request: /s-<id>/<op> (the
// emulator's path-based endpoints, as its signaling resource endpoints), or
// /<op> on a host s-<id>.kinesisvideo.<region>.<suffix> (the service's
// host-based shape, for a client whose hosts file sends it here).
func mediaRoute(r *http.Request) (*route, bool) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/s-"); ok {
		id, op, _ := strings.Cut(rest, "/")
		if mop, ok := mediaOps["/"+op]; ok && isEndpointID(id) {
			return &route{name: mop.name, run: mop.run}, true
		}
		return nil, false
	}
	host, _, _ := strings.Cut(r.Host, ":")
	if label, rest, ok := strings.Cut(host, "."); ok && strings.HasPrefix(rest, "kinesisvideo.") {
		if id, ok := strings.CutPrefix(label, "s-"); ok && isEndpointID(id) {
			if mop, ok := mediaOps[p]; ok {
				return &route{name: mop.name, run: mop.run}, true
			}
		}
	}
	return nil, false
}

func isEndpointID(id string) bool {
	if len(id) != 8 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// dataEndpointID is a stream's 8-hex data endpoint id: deterministic, so
// endpoints stay valid across restarts.
func (e *Emulator) dataEndpointID(streamARN string) string {
	sum := sha256.Sum256([]byte(e.opts.Region + "|" + streamARN + "|s"))
	return hex.EncodeToString(sum[:4])
}

func (c *call) getDataEndpoint() (any, *apiError) {
	var in struct {
		StreamName *string `json:"StreamName"`
		StreamARN  *string `json:"StreamARN"`
		APIName    *string `json:"APIName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("aPIName", in.APIName != nil)
	v.enum("aPIName", in.APIName, "PUT_MEDIA", "GET_MEDIA", "LIST_FRAGMENTS", "GET_MEDIA_FOR_FRAGMENT_LIST",
		"GET_HLS_STREAMING_SESSION_URL", "GET_DASH_STREAMING_SESSION_URL", "GET_CLIP", "GET_IMAGES")
	if err := v.err(); err != nil {
		return nil, err
	}
	s, aerr := c.mediaStream(in.StreamName, in.StreamARN, "kinesisvideo:GetDataEndpoint")
	if aerr != nil {
		return nil, aerr
	}
	scheme := "https"
	if c.e.opts.InsecureHTTP {
		scheme = "http"
	}
	// One endpoint per stream for every APIName (the service's may differ
	// by API, UNCONFIRMED); PUT_MEDIA, HLS, DASH and GetImages are not
	// served there (UnknownOperationException).
	return struct {
		DataEndpoint string `json:"DataEndpoint"`
	}{c.e.endpointURL(scheme, "s-"+c.e.dataEndpointID(s.ARN))}, nil
}

// mediaStream validates StreamName / StreamARN (one of them), authorizes
// action on the stream and finds it. The media models give the stream
// operations NotAuthorizedException (401).
func (c *call) mediaStream(name, arn *string, action string) (streamRecord, *apiError) {
	var v validator
	v.str("streamName", name, 1, 256, reChannelName, patChannelName)
	v.str("streamARN", arn, 1, 1024, reARN, patARN)
	if err := v.err(); err != nil {
		return streamRecord{}, err
	}
	switch {
	case name == nil && arn == nil:
		return streamRecord{}, errInvalidArgument("Either StreamName or StreamARN must be specified.")
	case name != nil && arn != nil:
		return streamRecord{}, errInvalidArgument("Specify either StreamName or StreamARN, not both.")
	}
	resource := ""
	if arn != nil {
		resource = *arn
	} else {
		resource = c.streamResource(*name)
	}
	if err := c.authorize(action, resource, true); err != nil {
		return streamRecord{}, err
	}
	if arn != nil {
		return c.lookupStream(*arn)
	}
	s, ok := c.e.streams.getByName(c.cred.Account, *name)
	if !ok {
		return streamRecord{}, errStreamNotFound()
	}
	return s, nil
}

// limit applies the per-stream TPS limit of op.
func (c *call) limit(s streamRecord, op string) *apiError {
	if c.e.media.allow(s.ARN+"|"+op, c.now, c.e.opts.Media.withDefaults().TPS) {
		return nil
	}
	return &apiError{Status: 400, Code: "ClientLimitExceededException",
		Message: fmt.Sprintf("The %s request rate for the stream exceeds the limit of %d per second.", op, c.e.opts.Media.withDefaults().TPS)}
}

// storedFragment is a finished fragment with its service identity.
type storedFragment struct {
	mkv.Fragment
	Number string
}

// fragmentNumber is a fragment's number: decimal digits of fixed width that
// increase with the fragment's start (ingestion order), so they compare as
// strings; the last six tell sessions starting in the same millisecond
// apart. The service's are longer and opaque.
func fragmentNumber(f mkv.Fragment) string {
	return fmt.Sprintf("91343852333%013d%06d", f.Start.UnixMilli(), crc32.ChecksumIEEE([]byte(f.Session))%1_000_000)
}

// fragments lists a stream's finished fragments, oldest first.
func (e *Emulator) fragments(s streamRecord) ([]storedFragment, error) {
	list, err := mkv.ListFragments(e.streamMediaDir(s.ARN))
	if err != nil {
		return nil, err
	}
	out := make([]storedFragment, len(list))
	for i, f := range list {
		out[i] = storedFragment{Fragment: f, Number: fragmentNumber(f)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// streamed is an operation output written by the operation itself (a
// media payload) instead of as JSON.
type streamed func(w http.ResponseWriter)
