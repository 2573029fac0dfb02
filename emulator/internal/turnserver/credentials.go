package turnserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Server.Verify. They never contain the password.
var (
	// ErrMalformedUsername reports a username that is not
	// "<unix expiry seconds>:<base64 user id>".
	ErrMalformedUsername = errors.New("malformed turn username")
	// ErrCredentialsExpired reports a username whose expiry is before the
	// server's clock.
	ErrCredentialsExpired = errors.New("turn credentials expired")
	// ErrWrongPassword reports a password that is not the HMAC of the
	// username under the server's secret.
	ErrWrongPassword = errors.New("wrong turn password")
)

// maxUsernameLen bounds the usernames the server parses (STUN allows up to
// 513 bytes; KVS models cap Username at 256 characters).
const maxUsernameLen = 513

// Credentials returns TURN REST API style credentials valid until now+ttl,
// in the form the real Kinesis Video Streams service issues (spec §3.1,
// §13): username "<unix expiry seconds>:<base64(userID)>" and password the
// standard base64 of HMAC-SHA256(secret, username). The emulator passes
// "v1:"+channelARN as userID. expires is the expiry the username encodes
// (whole seconds, rounded down); the credentials are accepted until the
// server's clock passes it. Credentials is safe for concurrent use and
// keeps working after Close.
func (s *Server) Credentials(ttl time.Duration, userID string) (username, password string, expires time.Time) {
	exp := s.opts.Now().Add(ttl).Unix()
	username = strconv.FormatInt(exp, 10) + ":" + base64.StdEncoding.EncodeToString([]byte(userID))
	return username, s.password(username), time.Unix(exp, 0)
}

// Verify checks a username and password pair as the TURN server does:
// well-formed username, expiry not before the server's clock, password equal
// (in constant time) to the one Credentials would issue. The error wraps
// ErrMalformedUsername, ErrCredentialsExpired or ErrWrongPassword.
func (s *Server) Verify(username, password string) error {
	if err := s.checkUsername(username); err != nil {
		return err
	}
	if !hmac.Equal([]byte(password), []byte(s.password(username))) {
		return ErrWrongPassword
	}
	return nil
}

// password is base64(HMAC-SHA256(secret, username)).
func (s *Server) password(username string) string {
	mac := hmac.New(sha256.New, s.opts.Secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// checkUsername validates the username's shape and expiry against the
// server's clock. The error names the cause, never a secret.
func (s *Server) checkUsername(username string) error {
	exp, err := parseUsername(username)
	if err != nil {
		return err
	}
	if s.opts.Now().After(time.Unix(exp, 0)) {
		return ErrCredentialsExpired
	}
	return nil
}

// parseUsername splits "<unix seconds>:<base64>" and returns the expiry.
// The seconds are decimal digits only (no sign); the user id must be
// non-empty, valid standard base64.
func parseUsername(username string) (expiry int64, err error) {
	if len(username) > maxUsernameLen {
		return 0, ErrMalformedUsername
	}
	secs, user, ok := strings.Cut(username, ":")
	if !ok || secs == "" || user == "" {
		return 0, ErrMalformedUsername
	}
	for _, c := range []byte(secs) {
		if c < '0' || c > '9' {
			return 0, ErrMalformedUsername
		}
	}
	expiry, err = strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return 0, ErrMalformedUsername
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(user); err != nil {
		return 0, ErrMalformedUsername
	}
	return expiry, nil
}
