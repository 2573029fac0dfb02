package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

// Sentinel errors. Errors from a [Resolver] match at most one of them with
// errors.Is, and keep the SDK's or wire's error reachable with errors.As.
var (
	// ErrAuth reports credentials that are missing, invalid or expired, or a
	// signature the service refused.
	ErrAuth = errors.New("credentials missing, invalid or expired")
	// ErrAccessDenied reports a credential that lacks a kinesisvideo:*
	// permission; the error is also an [*AccessDeniedError] naming it.
	ErrAccessDenied = errors.New("access denied")
	// ErrChannelNotFound reports a channel that does not exist (or is being
	// deleted) in the region.
	ErrChannelNotFound = errors.New("channel not found")
	// ErrClockSkew reports a clock too far from the service's to correct; the
	// error is also a [*ClockSkewError] with both times.
	ErrClockSkew = errors.New("clock skew too large to correct")
	// ErrRegionMismatch reports a region override that disagrees with the
	// channel ARN. It is channel.ErrRegionMismatch.
	ErrRegionMismatch = channel.ErrRegionMismatch
	// ErrEndpointMissing reports a GetSignalingChannelEndpoint answer without
	// an endpoint for a protocol that was asked for; the error is also an
	// [*EndpointMissingError].
	ErrEndpointMissing = errors.New("endpoint missing")
	// ErrUnreachable reports an endpoint that could not be reached: DNS,
	// connection, TLS or timeout.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrThrottled reports ClientLimitExceededException after every retry.
	ErrThrottled = errors.New("throttled by the service")
	// ErrNoRegion reports that no region was configured and none could be
	// taken from a channel ARN.
	ErrNoRegion = errors.New("no region")
	// ErrUnknownRegion reports a region the service does not know: it
	// refused the signature's credential scope ("Credential should be scoped
	// to a valid region").
	ErrUnknownRegion = errors.New("unknown region")
)

// AccessDeniedError names the permission a credential lacks. It matches
// [ErrAccessDenied].
type AccessDeniedError struct {
	// Action is the IAM action, e.g. kinesisvideo:GetSignalingChannelEndpoint.
	Action string
	// Resource is the resource the action was refused on, when known.
	Resource string
}

// Error gives "access denied: the credential may not perform <action> on <resource>".
func (e *AccessDeniedError) Error() string {
	s := "access denied: the credential may not perform " + e.Action
	if e.Resource != "" {
		s += " on " + e.Resource
	}
	return s
}

// Is reports whether target is [ErrAccessDenied].
func (e *AccessDeniedError) Is(target error) bool { return target == ErrAccessDenied }

// ClockSkewError reports a local clock the service refused even after
// correction: Local is the time the request was signed with, Server the
// service's time.
type ClockSkewError struct {
	Local, Server time.Time
}

// Error gives both times and the difference.
func (e *ClockSkewError) Error() string {
	const f = "2006-01-02T15:04:05Z"
	return fmt.Sprintf("clock skew too large to correct: request signed at %s, service time %s (off by %s)",
		e.Local.UTC().Format(f), e.Server.UTC().Format(f), e.Server.Sub(e.Local).Round(time.Second))
}

// Is reports whether target is [ErrClockSkew].
func (e *ClockSkewError) Is(target error) bool { return target == ErrClockSkew }

// EndpointMissingError names the protocol GetSignalingChannelEndpoint gave no
// endpoint for. It matches [ErrEndpointMissing].
type EndpointMissingError struct {
	Protocol string // WSS, HTTPS or WEBRTC
	// Got lists the protocols the service did return.
	Got []string
}

// Error gives "endpoint missing: no <protocol> endpoint in the … answer (got …)".
func (e *EndpointMissingError) Error() string {
	got := strings.Join(e.Got, ", ")
	if got == "" {
		got = "none"
	}
	return fmt.Sprintf("endpoint missing: no %s endpoint in the GetSignalingChannelEndpoint answer (got %s)", e.Protocol, got)
}

// Is reports whether target is [ErrEndpointMissing].
func (e *EndpointMissingError) Is(target error) bool { return target == ErrEndpointMissing }

// Codes the SigV4 front end answers for refused credentials (spec §5.1).
var authCodes = map[string]bool{
	"UnrecognizedClientException":         true,
	"ExpiredTokenException":               true,
	"ExpiredToken":                        true,
	"InvalidSignatureException":           true,
	"SignatureDoesNotMatch":               true,
	"IncompleteSignatureException":        true,
	"MissingAuthenticationTokenException": true,
	"InvalidClientTokenId":                true,
	"AuthFailure":                         true,
}

// notAuthorized finds the action in IAM's "is not authorized to perform:
// <action> on resource: <resource>".
var notAuthorized = regexp.MustCompile(`not authorized to perform:? ([A-Za-z0-9-]+:[A-Za-z0-9*]+)(?: on resource:? (\S+))?`)

// skewMessage finds the two times of "Signature expired: <req> is now earlier
// than <x> (<now> - 5 min.)" and "Signature not yet current: <req> is still
// later than <x> (<now> + 5 min.)".
var skewMessage = regexp.MustCompile(`Signature (?:expired|not yet current): (\d{8}T\d{6}Z) .*\((\d{8}T\d{6}Z) [-+] 5 min\.\)`)

const amzDate = "20060102T150405Z"

// Classify maps an error from a kinesisvideo call or GetIceServerConfig to
// this package's errors: the result matches one sentinel with errors.Is and
// still wraps err. action is the IAM action of the call (used when the
// service's message names none); arn the channel, if any. Errors it does not
// recognise, and context cancellation, come back unchanged.
func Classify(err error, action, arn string) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{ErrAuth, ErrAccessDenied, ErrChannelNotFound, ErrClockSkew, ErrRegionMismatch,
		ErrEndpointMissing, ErrUnreachable, ErrThrottled, ErrNoRegion, ErrUnknownRegion, channel.ErrInvalidARN} {
		if errors.Is(err, s) {
			return err
		}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	code := wire.ErrorCode(err)
	msg := ""
	var me interface{ ErrorMessage() string }
	if errors.As(err, &me) {
		msg = me.ErrorMessage()
	}
	switch code {
	case "AccessDeniedException", "NotAuthorizedException", "AccessDenied":
		ad := &AccessDeniedError{Action: action, Resource: arn}
		if m := notAuthorized.FindStringSubmatch(msg); m != nil {
			ad.Action = m[1]
			if m[2] != "" {
				ad.Resource = m[2]
			}
		}
		return fmt.Errorf("%w: %w", ad, err)
	case "ResourceNotFoundException":
		what := ErrChannelNotFound.Error()
		if arn != "" {
			what += ": " + arn
		}
		return fmt.Errorf("%s: %w", what, joinErr{ErrChannelNotFound, err})
	case "ClientLimitExceededException":
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	if m := skewMessage.FindStringSubmatch(msg); m != nil {
		local, e1 := time.Parse(amzDate, m[1])
		server, e2 := time.Parse(amzDate, m[2])
		if e1 == nil && e2 == nil {
			return fmt.Errorf("%w: %w", &ClockSkewError{Local: local, Server: server}, err)
		}
	}
	if strings.Contains(msg, "scoped to a valid region") {
		return fmt.Errorf("%w: %w", ErrUnknownRegion, err)
	}
	if authCodes[code] {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if code == "" && isCredentialsError(err) {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if code == "" && isNetworkError(err) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// joinErr matches both a sentinel and a cause, printing only the cause (the
// sentinel's text is already in the message).
type joinErr struct{ sentinel, err error }

func (e joinErr) Error() string   { return e.err.Error() }
func (e joinErr) Unwrap() []error { return []error{e.sentinel, e.err} }

// isCredentialsError reports a failure to get credentials at all (no
// provider found, credentials URL down), as opposed to a refusal.
func isCredentialsError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "failed to refresh cached credentials") ||
		strings.Contains(s, "get identity") ||
		strings.Contains(s, "failed to retrieve credentials") ||
		strings.Contains(s, "no valid credential")
}

// isNetworkError reports DNS, connection, TLS and timeout failures.
func isNetworkError(err error) bool {
	var (
		se  *smithyhttp.RequestSendError
		ne  net.Error
		ue  x509.UnknownAuthorityError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
		rce *aws.RequestCanceledError
	)
	switch {
	case errors.As(err, &se), errors.As(err, &ne), errors.As(err, &ue), errors.As(err, &he), errors.As(err, &cve):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &rce) && errors.Is(rce.Err, context.DeadlineExceeded):
		return true
	}
	var me *retry.MaxAttemptsError
	return errors.As(err, &me) && isNetworkError(me.Err)
}

// responseOf returns the HTTP response inside an SDK error, if any.
func responseOf(err error) *awshttp.ResponseError {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}
