package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// Exit codes and hints for the errors of a master or viewer session: the
// signaling handshake (reached with endpoints and ICE servers from the
// cache, it may be the first call that sees the credentials or the TLS
// trust), credentials that expired mid-session, an unknown region.
func init() {
	classifiers = append(classifiers, classifySessionError)
	hints = append(hints, hintSessionError)
}

func classifySessionError(err error) int {
	switch {
	case errors.Is(err, session.ErrCredentials):
		return ExitAuth
	case errors.Is(err, resolve.ErrUnknownRegion):
		return ExitUsage
	}
	switch signaling.StatusCode(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitAuth
	case http.StatusNotFound:
		return ExitNotFound
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &hn) || errors.As(err, &op) || errors.As(err, &dns) {
		return ExitNetwork
	}
	return 0
}

func hintSessionError(err error) string {
	switch {
	case errors.Is(err, session.ErrCredentials):
		return "the credentials expired and their source cannot refresh them: use one that does (a --profile with SSO or a role, --credentials-url), or pass --credentials-retry 0 to keep waiting for new ones"
	case errors.Is(err, resolve.ErrUnknownRegion):
		return "the service does not know this region: check --region and AWS_REGION (e.g. us-west-2)"
	}
	switch signaling.StatusCode(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "signaling refused the credentials: check them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, --profile), the clock, and the ConnectAsMaster/ConnectAsViewer permission"
	}
	return ""
}
