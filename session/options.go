package session

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// ErrClosed is returned by Run after Close, and by sends on a closed session.
var ErrClosed = errors.New("session closed")

// ErrPeerFailed reports a peer connection that failed (ICE or DTLS).
var ErrPeerFailed = errors.New("peer connection failed")

// DataChannelLabel is the label of the data channel a viewer opens, as the
// KVS sample applications name it.
const DataChannelLabel = "kvsDataChannel"

// RelayTransport selects which TURN URIs are kept.
type RelayTransport int

// Relay transports. The zero value keeps every URI.
const (
	RelayAny RelayTransport = iota
	RelayUDP                // turn:…?transport=udp
	RelayTCP                // turn:…?transport=tcp
	RelayTLS                // turns:…?transport=tcp (TLS)
)

// ParseRelayTransport reads "udp", "tcp", "tls" or "" (any).
func ParseRelayTransport(s string) (RelayTransport, error) {
	switch strings.ToLower(s) {
	case "", "any":
		return RelayAny, nil
	case "udp":
		return RelayUDP, nil
	case "tcp":
		return RelayTCP, nil
	case "tls":
		return RelayTLS, nil
	}
	return RelayAny, fmt.Errorf("relay transport %q: want udp, tcp or tls", s)
}

// String returns "any", "udp", "tcp" or "tls".
func (r RelayTransport) String() string {
	switch r {
	case RelayUDP:
		return "udp"
	case RelayTCP:
		return "tcp"
	case RelayTLS:
		return "tls"
	}
	return "any"
}

// Options are what a Master and a Viewer share.
type Options struct {
	// ChannelARN is the signaling channel. Required.
	ChannelARN channel.ARN
	// Resolver finds the channel's endpoints and ICE servers (with its
	// caches and clock-skew correction). Required.
	Resolver *resolve.Resolver
	// Credentials sign the WSS URL. Required.
	Credentials aws.CredentialsProvider
	// HTTPClient opens the WebSocket (set its TLS trust for an emulator's
	// CA). Nil: http.DefaultClient. TURN over TLS trusts the RootCAs of its
	// *http.Transport too, besides the system pool.
	HTTPClient *http.Client
	// Signaling changes the signaling options before Dial.
	Signaling func(*signaling.Options)
	// ConfigureAPI edits the MediaEngine and interceptor registry before
	// the pion API is built (webrtc.NewAPI's WithMediaEngine and
	// WithInterceptorRegistry). They arrive with pion's default codecs and
	// interceptors (NACK, RTCP reports, stats) registered: add codecs,
	// header extensions or interceptors (TWCC, bandwidth estimation, your
	// own RTCP), or start over with *m = webrtc.MediaEngine{} and
	// *ir = interceptor.Registry{}. An error fails NewMaster or NewViewer.
	ConfigureAPI func(m *webrtc.MediaEngine, ir *interceptor.Registry) error
	// SettingEngine changes pion's SettingEngine before the API is built
	// (webrtc.WithSettingEngine); tests use it to keep ICE on loopback.
	SettingEngine func(*webrtc.SettingEngine)
	// OnPeerConnection, if set, is called with each PeerConnection once the
	// session has added its tracks and data-channel handling, before any
	// description is applied: add transceivers, tracks or data channels,
	// read stats. clientID is the viewer's client id on a master, the
	// Viewer's own ClientID on a viewer. The session owns the handlers it
	// set (OnICECandidate, OnICEConnectionStateChange,
	// OnConnectionStateChange, OnTrack, OnDataChannel on a master): use the
	// session's events instead of replacing them.
	OnPeerConnection func(clientID string, pc *webrtc.PeerConnection)
	// ForceTURN uses relay candidates only (ICETransportPolicyRelay).
	ForceTURN bool
	// RelayTransport keeps only the TURN URIs of one transport.
	RelayTransport RelayTransport
	// NoTrickle sends complete SDP (after gathering) instead of trickling
	// candidates.
	NoTrickle bool
	// Timeline receives the steps; nil: a new one that starts when the
	// Master or Viewer is made. Pass
	// one started earlier to include credential loading and the like.
	Timeline *Timeline
	// OnMessage receives data-channel messages; from is the viewer's
	// client id on a master, "" on a viewer. It runs on pion's goroutine;
	// msg.Reply and msg.ReplyText answer the sender.
	OnMessage func(from string, msg DataMessage)
	// Events are the state and data-channel callbacks.
	Events
	// Logger receives the session's logs. Nil discards them.
	Logger *slog.Logger
	// CredentialsRetry is how long signaling may keep being refused for its
	// credentials (401/403 at the WSS upgrade, or credentials that cannot
	// be retrieved) before Run ends with ErrCredentials. Zero:
	// DefaultCredentialsRetry. Negative: retry for ever.
	CredentialsRetry time.Duration

	// DTLSHelloVerify makes the DTLS server (the master) send a
	// HelloVerifyRequest before its certificate: one more round trip to
	// the first frame. Off by default: in WebRTC, DTLS runs only over the
	// pair ICE checked, so the cookie guards against no spoofed source
	// (README, Performance).
	DTLSHelloVerify bool

	// WaitTURNPermissions makes each relay candidate wait for the TURN
	// server's answer to a CreatePermission before its first packet to a
	// new peer address, as pion does. By default the permission is taken
	// as granted at once and the server's answer checked after it
	// (retransmitted over UDP, re-sent on a stale nonce): pion sends its
	// connectivity checks from one loop, and each wait held every other
	// check, the host pair's too, for a round trip to the TURN server
	// (README, Performance). A caller's SettingEngine.SetNet keeps pion's
	// waiting for UDP TURN.
	WaitTURNPermissions bool

	turn *turnTLS  // set by NewMaster and NewViewer: TURN over TLS with HTTPClient's CA
	cert *dtlsCert // set by NewMaster and NewViewer: one DTLS certificate for every peer connection
}

func (o *Options) check() error {
	if err := o.ChannelARN.Validate(); err != nil {
		return fmt.Errorf("session: channel: %w", err)
	}
	if o.Resolver == nil {
		return errors.New("session: resolver required")
	}
	if o.Credentials == nil {
		return errors.New("session: credentials required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// DefaultAnswerTimeout is how long a Viewer waits for the master's answer.
const DefaultAnswerTimeout = 15 * time.Second

// MasterOptions configure a Master.
type MasterOptions struct {
	Options
	// Video and Audio are the media sent to every viewer; either may be
	// nil. The caller runs them (Source.Run), before or after Run.
	Video, Audio *media.Source
	// Tracks are pion tracks added to every viewer's PeerConnection, next
	// to Video and Audio: one TrackLocalStaticSample or TrackLocalStaticRTP
	// is shared by all viewers (pion binds it to each and writes to all).
	// The caller writes to them; frames written before a viewer's
	// connection is up are not sent to it.
	Tracks []webrtc.TrackLocal
	// NewTracks, if set, makes tracks for one viewer (per-viewer pacing,
	// encoding or simulcast); they are added after Tracks. An error
	// refuses the viewer.
	NewTracks func(clientID string) ([]webrtc.TrackLocal, error)
	// H264ProfileLevelID is the profile-level-id offered for an H.264
	// Video (six hex digits, e.g. "42e01f"). Empty: read from the SPS the
	// source's GOP cache starts with (media.ProfileLevelID), or "42e01f"
	// before the source has one.
	H264ProfileLevelID string
	// OnFrameSent, if set, is called with every frame written to a
	// viewer's track, on that viewer's sending goroutine.
	OnFrameSent func(viewer string, codec media.Codec, f media.Frame)
	// OnPeer, if set, is called when a viewer's peer connection is
	// created and when it ends, with its timeline.
	OnPeer func(ev PeerEvent)
	// Storage, if set, ingests into the channel's stream through the
	// storage service (JoinStorageSession) instead of waiting for viewers.
	Storage *StorageOptions
	// MaxViewers bounds concurrent viewers; zero: 10, the service's limit.
	MaxViewers int
	// ProfilingReplies answers the data-channel profiling probe of the KVS
	// sample viewers (the JS SDK sample page's "Profile timeline") as the
	// C SDK sample master does, with the master's timings, so the page
	// draws the master's spans (profiling.go). The probe still reaches
	// OnMessage.
	ProfilingReplies bool
}

// PeerEvent reports a viewer joining or leaving a Master.
type PeerEvent struct {
	ClientID string
	Joined   bool // false: left
	Timeline *Timeline
	Err      error // why it left, if it failed
	// Mismatches, when joining, is the media the viewer asked for that is
	// not sent to it: no format it offered carries the source (the answer
	// names that media inactive).
	Mismatches []CodecMismatch
}

// ViewerOptions configure a Viewer.
type ViewerOptions struct {
	Options
	// ClientID identifies the viewer. Required.
	ClientID string
	// Storage, if set, watches through the storage service
	// (JoinStorageSessionAsViewer) instead of offering to the master.
	Storage *StorageViewerOptions
	// Record, if set, receives a WebM (VP8) or Matroska (H.264) recording
	// of the media. The Viewer does not close it.
	Record io.Writer
	// OnFrame, if set, is called with every frame received whole, on the
	// track's reading goroutine.
	OnFrame func(codec media.Codec, f media.Frame)
	// Duration ends Run once this much media was received on a track (by
	// RTP timestamps from its first frame). Zero: no limit.
	Duration time.Duration
	// AnswerTimeout ends Run with ErrNoAnswer when the offer is not
	// answered in time. Zero: DefaultAnswerTimeout.
	AnswerTimeout time.Duration
	// VideoFrames ends Run once this many video frames were received
	// whole; OnFrame, the stats and the recording get exactly that many.
	// Zero: no limit.
	VideoFrames int
	// Rejoin makes Run offer again when a connection ends (the master left
	// or restarted, ICE failed, no answer), spaced by RejoinBackoff, for as
	// long as Run runs. False: Run returns the connection's error.
	Rejoin bool
	// RejoinBackoff spaces the offers of Rejoin.
	RejoinBackoff Backoff
	// OnRejoin, if set, is called before each new offer of Rejoin with why
	// the connection ended and the wait before the offer.
	OnRejoin func(cause error, wait time.Duration)
	// MediaTimeout ends a connection with ErrNoMedia when no frame arrived
	// for this long once it is up (with Rejoin, a new offer follows). Zero:
	// no limit.
	MediaTimeout time.Duration
}
