package signaling

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

var (
	// ErrClosed is returned by calls on a Client after Close.
	ErrClosed = errors.New("signaling client closed")
	// ErrNotConnected wraps the error of a send whose connection broke under it.
	// The frame may or may not have reached the service.
	ErrNotConnected = errors.New("signaling not connected")
	// ErrRetrieveCredentials wraps the error of a credentials provider that
	// failed before a connection attempt.
	ErrRetrieveCredentials = errors.New("retrieve credentials")
	// ErrInvalidEndpoint means a WSS endpoint is not a wss:// URL.
	ErrInvalidEndpoint = errors.New("invalid signaling endpoint")
	// ErrInvalidRecipient means a viewer named a recipient (viewers always
	// talk to the master), or the master sent an offer or candidate to nobody.
	ErrInvalidRecipient = errors.New("invalid recipient")
)

// HandshakeError is the refusal of a WebSocket upgrade by the service (§4.3):
// 403 for a bad or expired signature, a missing ConnectAsMaster/ConnectAsViewer
// permission or a skewed clock; 404 for a channel that does not exist; 400 for
// bad parameters or throttling.
type HandshakeError struct {
	// StatusCode is the HTTP status of the refusal.
	StatusCode int
	// ErrorType is the X-Amzn-ErrorType header up to its first colon, if any
	// (for example "AccessDeniedException").
	ErrorType string
}

func (e *HandshakeError) Error() string {
	s := fmt.Sprintf("signaling handshake refused: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorType != "" {
		s += " (" + e.ErrorType + ")"
	}
	return s
}

// StatusCode returns the HTTP status of a refused handshake in err's chain, or
// 0 when err is not a HandshakeError.
func StatusCode(err error) int {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// scrubDialError returns err without the presigned URL that net/http puts in
// a *url.Error ("Get \"https://…?X-Amz-Signature=…\": dial tcp: …"). The
// messages of the wrappers around it were formatted when they were created,
// so they are dropped: the result is a fresh *url.Error with a redacted URL
// around the original cause, which keeps errors.Is/As working for net and
// context errors.
func scrubDialError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: wire.RedactURL(ue.URL), Err: ue.Err}
	}
	return &redactedError{msg: wire.RedactURL(err.Error()), err: err}
}

// redactedError shows a redacted message and unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// DialError is Dial's error: which channel and role could not connect, the
// cause (a *HandshakeError when the service refused, else the network or
// TLS error, with the presigned URL redacted) and, where the fix is known,
// a hint.
type DialError struct {
	// ChannelARN and Role are what Dial was asked for; ClientID is the
	// viewer's client id.
	ChannelARN string
	Role       channel.Role
	ClientID   string
	// Hint says what to change, or is empty.
	Hint string
	// Err is the cause.
	Err error
}

func (e *DialError) Error() string {
	name := e.ChannelARN
	if a, err := channel.ParseARN(e.ChannelARN); err == nil {
		name = a.Name
	}
	who := strings.ToLower(e.Role.String())
	if e.ClientID != "" {
		who += " " + e.ClientID
	}
	s := fmt.Sprintf("signaling: connect to channel %s as %s: %v", name, who, e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// dialHint says what fixes err, where that is known.
func dialHint(err error, role channel.Role) string {
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	var he *HandshakeError
	switch {
	case errors.As(err, &ua) || errors.As(err, &cv):
		return "the endpoint's TLS certificate is not trusted: give Options.HTTPClient a TLS config with its CA (the CLI: --ca-bundle or AWS_CA_BUNDLE)"
	case errors.As(err, &he) && he.StatusCode == http.StatusForbidden:
		action := "kinesisvideo:ConnectAsViewer"
		if role == channel.RoleMaster {
			action = "kinesisvideo:ConnectAsMaster"
		}
		return "check the credentials and the clock, and that the IAM policy allows " + action + " on the channel"
	case errors.As(err, &he) && he.StatusCode == http.StatusNotFound:
		return "check the channel ARN and region; the endpoint may be stale"
	case errors.As(err, &he) && he.ErrorType == "ClientLimitExceededException":
		return "the channel takes a few connections a second and 10 viewers; try again later"
	}
	return ""
}
