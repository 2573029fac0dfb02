package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// StorageOptions configure the emulated WebRTC ingestion service
// (kinesis-video-webrtc-storage, spec §6). Zero fields take the service's
// values.
type StorageOptions struct {
	// MaxSessionDuration ends a storage session this long after its peer
	// connected: 1 h, the service's limit. A master that wants no gap joins
	// again before it (the newer session replaces the older once connected).
	MaxSessionDuration time.Duration
	// OfferTimeout closes a storage peer whose offer was not answered and
	// connected in time: 30 s.
	OfferTimeout time.Duration
	// FragmentDuration is how long a stored fragment grows before the next
	// keyframe starts another: 2 s.
	FragmentDuration time.Duration
	// EmptySenderID sends the storage peer's SDP_OFFER and ICE_CANDIDATEs
	// to the master without a senderClientId (as the C SDK allows in
	// storage mode, §6) instead of a per-session id. UNCONFIRMED which the
	// service does; either way a master frame with an empty recipient goes
	// to the newest storage session.
	EmptySenderID bool
	// DropOffers is how many JoinStorageSession calls, from the start,
	// answer 200 but send no offer: the offer that never comes (§6), which
	// clients must retry. See also Emulator.DropStorageOffers.
	DropOffers int
}

func (o StorageOptions) withDefaults() StorageOptions {
	if o.MaxSessionDuration <= 0 {
		o.MaxSessionDuration = time.Hour
	}
	if o.OfferTimeout <= 0 {
		o.OfferTimeout = 30 * time.Second
	}
	if o.FragmentDuration <= 0 {
		o.FragmentDuration = 2 * time.Second
	}
	return o
}

// storageOps are the storage service's operations (API 2018-05-10), served
// under a WEBRTC resource endpoint /w-<id> (§6).
var storageOps = map[string]operation{
	"/joinStorageSession":         {"JoinStorageSession", (*call).joinStorageSession},
	"/joinStorageSessionAsViewer": {"JoinStorageSessionAsViewer", (*call).joinStorageSessionAsViewer},
}

const docStorage = "https://kinesisvideo.amazonaws.com/doc/2018-05-10/"

// storageRoute resolves /w-<id>/<op>: the storage operation, wrapped so
// its errors take the storage model's shapes (lowercase message; access
// denied is 403 AccessDeniedException, BC-STO).
func storageRoute(path string) (*route, bool) {
	rest, ok := strings.CutPrefix(path, "/w-")
	if !ok {
		return nil, false
	}
	id, op, _ := strings.Cut(rest, "/")
	sop, ok := storageOps["/"+op]
	if !ok || len(id) != 8 {
		return nil, false
	}
	run := func(c *call) (any, *apiError) {
		out, aerr := sop.run(c)
		if aerr != nil {
			aerr.Lower = true
			switch aerr.Code {
			case "AccessDeniedException", "NotAuthorizedException":
				aerr.Status, aerr.Code = 403, "AccessDeniedException"
			}
		}
		return out, aerr
	}
	return &route{name: sop.name, run: run}, true
}

// noContent is an operation output sent as 200 with an empty body (an
// operation without an output shape).
type noContent struct{}

// The storage model's patterns (BC-STO).
var reStorageChannelARN = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$`)

const patStorageChannelARN = `^arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$`

// storageChannel checks what both joins need: the channel, its WEBRTC
// endpoint, media storage ENABLED and its stream.
func (c *call) storageChannel(arn *string, action string) (channelRecord, streamRecord, *apiError) {
	if err := c.authorize(action, *arn, false); err != nil {
		return channelRecord{}, streamRecord{}, err
	}
	ch, aerr := c.lookup(*arn)
	if aerr != nil {
		return channelRecord{}, streamRecord{}, aerr
	}
	if id, _, _ := strings.Cut(strings.TrimPrefix(c.r.URL.Path, "/w-"), "/"); id != c.e.endpointID(ch, "w") {
		return channelRecord{}, streamRecord{}, errNotFound("This WEBRTC endpoint does not serve channel %s; call GetSignalingChannelEndpoint for its WEBRTC endpoint.", ch.Name)
	}
	if ch.StorageStatus != "ENABLED" {
		// UNCONFIRMED (§6): the service's code and text.
		return channelRecord{}, streamRecord{}, errInvalidArgument("The signaling channel %s is not configured for media storage: call UpdateMediaStorageConfiguration with Status ENABLED and a StreamARN.", ch.Name)
	}
	s, ok := c.e.streams.get(ch.StorageStreamARN)
	if !ok {
		return channelRecord{}, streamRecord{}, errNotFound("The stream %s that signaling channel %s stores into is not found.", ch.StorageStreamARN, ch.Name)
	}
	return ch, s, nil
}

// strictMembers refuses members that are not the model's exactly: Go's
// decoder matches names case-insensitively, the service does not, and this
// model's are lower camel case unlike every other KVS API (§6).
func (c *call) strictMembers(names ...string) *apiError {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.body, &m) != nil {
		return nil // decode reports it
	}
	for k := range m {
		if !slices.Contains(names, k) {
			return errInvalidArgument("Unrecognized field %q in the request body (members are lower camel case: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

func (c *call) joinStorageSession() (any, *apiError) {
	var in struct {
		ChannelARN *string `json:"channelArn"`
	}
	if err := c.strictMembers("channelArn"); err != nil {
		return nil, err
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelArn", in.ChannelARN != nil)
	v.str("channelArn", in.ChannelARN, 0, 1<<20, reStorageChannelARN, patStorageChannelARN)
	if err := v.err(); err != nil {
		return nil, err
	}
	ch, s, aerr := c.storageChannel(in.ChannelARN, "kinesisvideo:JoinStorageSession")
	if aerr != nil {
		return nil, aerr
	}
	// The call is asynchronous: 200 now, the offer over the master's WSS
	// (one per call; the most recent master wins, DOC-API).
	c.e.storage.join(c.e, ch, s)
	return noContent{}, nil
}

func (c *call) joinStorageSessionAsViewer() (any, *apiError) {
	var in struct {
		ChannelARN *string `json:"channelArn"`
		ClientID   *string `json:"clientId"`
	}
	if err := c.strictMembers("channelArn", "clientId"); err != nil {
		return nil, err
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelArn", in.ChannelARN != nil)
	v.required("clientId", in.ClientID != nil)
	v.str("channelArn", in.ChannelARN, 0, 1<<20, reStorageChannelARN, patStorageChannelARN)
	v.str("clientId", in.ClientID, 1, 256, reClientID, patClientID)
	if err := v.err(); err != nil {
		return nil, err
	}
	ch, _, aerr := c.storageChannel(in.ChannelARN, "kinesisvideo:JoinStorageSessionAsViewer")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.e.storage.joinViewer(c.e, ch, *in.ClientID); aerr != nil {
		return nil, aerr
	}
	return noContent{}, nil
}

// storageService is the emulator's media server: storage sessions by
// channel ARN.
type storageService struct {
	mu       sync.Mutex
	channels map[string]*storageChannel
	dropped  int // offers left to drop
	dropInit sync.Once
	closed   bool
	wg       sync.WaitGroup

	apiOnce sync.Once
	api     *webrtc.API
	apiErr  error
}

// storageChannel is the ingestion state of one channel.
type storageChannel struct {
	current *storagePeer            // the session recording now
	newest  *storagePeer            // the latest join's peer
	peers   map[string]*storagePeer // live peers by sender id
	viewers map[string]*storageViewer
	fwd     *fanout // the recording session's media, to storage viewers
}

func (s *storageService) channel(arn string) *storageChannel {
	if s.channels == nil {
		s.channels = map[string]*storageChannel{}
	}
	sc := s.channels[arn]
	if sc == nil {
		sc = &storageChannel{peers: map[string]*storagePeer{}, viewers: map[string]*storageViewer{}, fwd: newFanout()}
		s.channels[arn] = sc
	}
	return sc
}

func newSessionID() string {
	var b [4]byte
	rand.Read(b[:])
	return "storage-session-" + hex.EncodeToString(b[:])
}

// DropStorageOffers makes the next n JoinStorageSession calls answer 200
// but send no offer (a fault: clients must call again, as the JS sample
// master does every 6 s, §6).
func (e *Emulator) DropStorageOffers(n int) {
	e.storage.mu.Lock()
	defer e.storage.mu.Unlock()
	e.storage.initDrop(e)
	e.storage.dropped = n
}

func (s *storageService) initDrop(e *Emulator) {
	s.dropInit.Do(func() { s.dropped = e.opts.Storage.DropOffers })
}

// EndStorageSession ends the channel's recording storage session at once,
// as the service does at its 1 h limit (a fault when early). It reports
// whether there was one.
func (e *Emulator) EndStorageSession(channelARN string) bool {
	e.storage.mu.Lock()
	sc := e.storage.channels[channelARN]
	var p *storagePeer
	if sc != nil {
		p = sc.current
	}
	e.storage.mu.Unlock()
	if p == nil {
		return false
	}
	p.end("ended by EndStorageSession")
	return true
}

// StorageSession describes a storage session, for tests and logs.
type StorageSession struct {
	// ID is the sender id of its SDP_OFFER.
	ID string
	// Recording reports whether it is the channel's current session.
	Recording bool
	// Joined is when JoinStorageSession was called; Connected when its
	// peer connection came up (zero before).
	Joined, Connected time.Time
	// VideoFrames and AudioFrames were received and stored.
	VideoFrames, AudioFrames int
}

// StorageSessions lists the channel's live storage sessions.
func (e *Emulator) StorageSessions(channelARN string) []StorageSession {
	e.storage.mu.Lock()
	defer e.storage.mu.Unlock()
	sc := e.storage.channels[channelARN]
	if sc == nil {
		return nil
	}
	var out []StorageSession
	for _, p := range sc.peers {
		out = append(out, p.info(p == sc.current))
	}
	return out
}

// shutdown ends every storage session and waits for their goroutines.
func (s *storageService) shutdown() {
	s.mu.Lock()
	s.closed = true
	var ps []*storagePeer
	var vs []*storageViewer
	for _, sc := range s.channels {
		for _, p := range sc.peers {
			ps = append(ps, p)
		}
		for _, v := range sc.viewers {
			vs = append(vs, v)
		}
	}
	s.mu.Unlock()
	for _, p := range ps {
		p.end("emulator shutting down")
	}
	for _, v := range vs {
		v.end()
	}
	s.wg.Wait()
}
