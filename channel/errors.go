package channel

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinel errors. Every error this package returns matches exactly one of them
// with errors.Is.
var (
	// ErrInvalidARN reports a string that is not a channel ARN.
	ErrInvalidARN = errors.New("invalid channel ARN")
	// ErrInvalidName reports a channel name outside the ChannelName rules.
	ErrInvalidName = errors.New("invalid channel name")
	// ErrInvalidClientID reports a viewer client ID outside the ClientId rules.
	ErrInvalidClientID = errors.New("invalid client ID")
	// ErrInvalidRole reports a role that is neither master nor viewer.
	ErrInvalidRole = errors.New("invalid role")
	// ErrRegionMismatch reports a region that disagrees with a channel ARN.
	ErrRegionMismatch = errors.New("region does not match channel ARN")
)

// ARNError reports what is wrong with a channel ARN: which field, the value found
// and what was wanted. It matches [ErrInvalidARN] with errors.Is.
type ARNError struct {
	// ARN is the input, as given.
	ARN string
	// Field names the part that is wrong: "partition", "service", "region",
	// "account", "resource type", "resource", "name" or "creation time"; empty
	// when the whole string has the wrong shape.
	Field string
	// Value is the offending part of ARN.
	Value string
	// Want says what was expected, as a phrase ("want 12 digits").
	Want string
}

// Error reports the ARN, the field, the value and what was wanted, e.g.
// `channel ARN "arn:aws:…" has account "1234": want 12 digits`.
func (e *ARNError) Error() string {
	if e.ARN == "" {
		return "channel ARN is empty: " + e.Want
	}
	if e.Field == "" {
		return fmt.Sprintf("channel ARN %s: %s", quote(e.ARN), e.Want)
	}
	return fmt.Sprintf("channel ARN %s has %s %s: %s", quote(e.ARN), e.Field, quote(e.Value), e.Want)
}

// Is reports whether target is [ErrInvalidARN].
func (e *ARNError) Is(target error) bool { return target == ErrInvalidARN }

// kindError is an error with its own message that matches a sentinel.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// maxQuoted bounds how much of an input an error message repeats.
const maxQuoted = 512

// quote quotes s for an error message, cutting very long inputs short.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
