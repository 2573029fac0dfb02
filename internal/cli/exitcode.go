package cli

import (
	"context"
	"errors"
	"fmt"
)

// The one exit-code table of kvsrtc. Documented in the README ("Exit codes");
// keep both in step.
const (
	ExitOK       = 0 // success
	ExitFailure  = 1 // any failure not listed below
	ExitUsage    = 2 // bad flags or arguments
	ExitAuth     = 3 // credentials missing, invalid or expired; signature refused; clock skew too large
	ExitDenied   = 4 // access denied: the credential lacks a kinesisvideo:* permission
	ExitNotFound = 5 // the channel (or another resource) does not exist
	ExitNetwork  = 6 // endpoint unreachable, TLS failure, timeout
	ExitThrottle = 7 // throttled by the service after retries (ClientLimitExceededException)
	ExitCanceled = 130
)

// Exit codes of `kvsrtc doctor`: the step of the first failing check
// (README "kvsrtc doctor"). Usage errors still exit 2.
const (
	ExitDoctorCredentials = 10 // credentials missing, expired or refused
	ExitDoctorClock       = 11 // the local clock is 5 min or more off the service's
	ExitDoctorARN         = 12 // bad channel ARN (e.g. wrong partition), name or region
	ExitDoctorDescribe    = 13 // DescribeSignalingChannel failed
	ExitDoctorEndpoint    = 14 // GetSignalingChannelEndpoint failed
	ExitDoctorICEConfig   = 15 // GetIceServerConfig failed
	ExitDoctorConnect     = 16 // the WSS upgrade was refused (e.g. no ConnectAsViewer)
	ExitDoctorSTUN        = 17 // no STUN binding
	ExitDoctorTURN        = 18 // a TURN allocation failed
	ExitDoctorPeer        = 19 // no master answered (viewer) / no viewer joined (master)
	ExitDoctorMedia       = 20 // no first frame
)

// UsageError is a mistake in how the command was called; it exits 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a *UsageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCoder is implemented by errors that know their exit code. Library
// errors are classified in exitCode; this lets commands override it.
type ExitCoder interface{ ExitCode() int }

// exitCode maps an error to the table above.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return ExitCanceled
	}
	for _, c := range classifiers {
		if code := c(err); code != 0 {
			return code
		}
	}
	return ExitFailure
}

// classifiers let command files register how their library's errors map to
// exit codes without this file importing every library package.
var classifiers []func(error) int
