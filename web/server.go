package web

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

//go:embed static
var staticFS embed.FS

// DefaultURLExpires is how long a presigned signaling URL handed to the
// browser stays valid: long enough to open the WebSocket, short enough not
// to matter once it leaks. The open connection is not cut when it expires.
const DefaultURLExpires = 60 * time.Second

// DefaultClientIDPrefix starts the client id of every browser viewer.
const DefaultClientIDPrefix = "web-"

// Options configure a [Server].
type Options struct {
	// Resolver finds the channel's endpoints and ICE servers and corrects
	// the signing time for clock skew. Required.
	Resolver *resolve.Resolver
	// Credentials sign the URLs. They never leave the server. Required.
	Credentials aws.CredentialsProvider
	// ChannelARN is the channel the page views. Required.
	ChannelARN channel.ARN
	// URLExpires is the X-Amz-Expires of each presigned URL. Default
	// DefaultURLExpires; at most signaling.MaxExpires.
	URLExpires time.Duration
	// ClientIDPrefix starts each viewer's random client id. Default
	// DefaultClientIDPrefix.
	ClientIDPrefix string
	// Logger receives one line per session handed out (URLs redacted).
	// Nil discards.
	Logger *slog.Logger
}

// Server serves the viewer page, the KVS JS SDK bundle and /api/session.
// It is safe for concurrent use.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	log    *slog.Logger
	static fs.FS
}

// Session is what the page gets from GET /api/session: all it needs to
// connect as a viewer, and no AWS credentials.
type Session struct {
	// ChannelARN and Region are the channel's.
	ChannelARN string `json:"channelArn"`
	Region     string `json:"region"`
	// ClientID is this viewer's client id, fresh for each session.
	ClientID string `json:"clientId"`
	// Endpoint is the WSS endpoint (unsigned); SignedURL is the same
	// endpoint presigned for ConnectAsViewer with ClientID.
	Endpoint  string `json:"endpoint"`
	SignedURL string `json:"signedUrl"`
	// Expires is when SignedURL stops opening connections.
	Expires time.Time `json:"expires"`
	// ICEServers is an RTCConfiguration.iceServers array: the STUN server
	// and the TURN servers with their temporary credentials.
	ICEServers []ICEServer `json:"iceServers"`
	// ResolveMs is how long the server took to resolve and sign.
	ResolveMs float64 `json:"resolveMs"`
}

// ICEServer is an RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// New returns a Server; optFns change a copy of opts.
func New(opts Options, optFns ...func(*Options)) (*Server, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	switch {
	case opts.Resolver == nil:
		return nil, errors.New("web: no resolver")
	case opts.Credentials == nil:
		return nil, errors.New("web: no credentials")
	}
	if err := opts.ChannelARN.Validate(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if opts.URLExpires == 0 {
		opts.URLExpires = DefaultURLExpires
	}
	if opts.URLExpires < time.Second || opts.URLExpires > signaling.MaxExpires {
		return nil, fmt.Errorf("web: url expiry %v outside 1s..%v", opts.URLExpires, signaling.MaxExpires)
	}
	if opts.ClientIDPrefix == "" {
		opts.ClientIDPrefix = DefaultClientIDPrefix
	}
	if err := channel.ValidClientID(opts.ClientIDPrefix + "00000000"); err != nil {
		return nil, fmt.Errorf("web: client id prefix: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: opts.Logger.With("component", "web"), static: sub}
	s.mux.HandleFunc("GET /{$}", s.serveFile("index.html"))
	for _, f := range []string{"viewer.js", "waterfall.js", "viewer.css", "kvs-webrtc.min.js", "kvs-webrtc.LICENSE", "kvs-webrtc.NOTICE.txt"} {
		s.mux.HandleFunc("GET /"+f, s.serveFile(f))
	}
	s.mux.HandleFunc("GET /api/session", s.serveSession)
	return s, nil
}

// ServeHTTP serves the page and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) serveFile(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name == "index.html" {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' wss: https:; media-src 'self' blob: mediastream:; img-src 'self' data:")
		}
		http.ServeFileFS(w, r, s.static, name)
	}
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		writeError(w, http.StatusForbidden, "cross-site requests may not get a session")
		return
	}
	sess, err := s.NewSession(r.Context())
	if err != nil {
		s.log.Warn("session", "err", err)
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sess)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// NewSession resolves the viewer endpoints and ICE servers of the channel
// and presigns a WSS URL for a new client id, as GET /api/session does.
func (s *Server) NewSession(ctx context.Context) (*Session, error) {
	start := time.Now()
	arn := s.opts.ChannelARN
	clientID := s.opts.ClientIDPrefix + randomHex(4)
	res, err := s.opts.Resolver.Resolve(ctx, arn, channel.RoleViewer, clientID)
	if err != nil {
		return nil, err
	}
	creds, err := s.opts.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve credentials: %w", err)
	}
	now := s.opts.Resolver.Clock()()
	signed, err := signaling.Presign(ctx, creds, signaling.PresignInput{
		Endpoint: res.Endpoints.WSS, Region: arn.Region, ChannelARN: arn.String(),
		ClientID: clientID, Time: now, Expires: s.opts.URLExpires,
	})
	if err != nil {
		return nil, err
	}
	sess := &Session{
		ChannelARN: arn.String(), Region: arn.Region, ClientID: clientID,
		Endpoint: res.Endpoints.WSS, SignedURL: signed,
		// In the local clock, as the browser will compare it.
		Expires: now.Add(s.opts.URLExpires).Add(-s.opts.Resolver.ClockOffset()),
	}
	for _, is := range res.ICE.Servers {
		sess.ICEServers = append(sess.ICEServers, ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	sess.ResolveMs = float64(time.Since(start).Microseconds()) / 1000
	s.log.Info("session", "client_id", clientID, "url", wire.RedactURL(signed), "ice_servers", len(sess.ICEServers), "ms", sess.ResolveMs)
	return sess, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
