package creds

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// URLError reports a credentials URL that did not supply credentials. Its text
// holds no secret: the URL loses its query and user info, and a body excerpt is
// left out whenever it might carry credentials.
type URLError struct {
	// URL is the credentials URL without query, fragment or user info.
	URL string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Reason says what went wrong, as a phrase.
	Reason string
	// Err is the cause, if any: a network error, context.DeadlineExceeded, or
	// an error from [ParseResponse].
	Err error
}

// Error gives "credentials URL <url>: <reason>[: <cause>]".
func (e *URLError) Error() string {
	var b strings.Builder
	b.WriteString("credentials URL ")
	b.WriteString(e.URL)
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives the cause.
func (e *URLError) Unwrap() error { return e.Err }

// redactURL drops user info, query and fragment, which may carry secrets.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	s := c.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// maxExcerpt bounds the body excerpt in an HTTP error.
const maxExcerpt = 120

// suspectWords mark a body that may be echoing credentials or request headers.
var suspectWords = []string{"secret", "token", "sk", "ak", "password", "authorization", "credential", "bearer", "key"}

// excerpt gives a short printable start of an error body, or explains why it
// is withheld. Bodies that mention anything credential-like, or contain one of
// the given secrets, are withheld.
func excerpt(body []byte, secrets ...string) string {
	if len(body) == 0 {
		return "empty body"
	}
	lower := strings.ToLower(string(body))
	for _, s := range secrets {
		if s != "" && strings.Contains(string(body), s) {
			return "body withheld: it may contain credentials"
		}
	}
	for _, w := range suspectWords {
		if containsWord(lower, w) {
			return "body withheld: it may contain credentials"
		}
	}
	var b strings.Builder
	space := false
	for _, r := range string(body) {
		if r == utf8.RuneError || r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > maxExcerpt {
			return fmt.Sprintf("body %q…", strings.TrimSpace(b.String()))
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("body %q", strings.TrimSpace(b.String()))
}

// containsWord reports whether w occurs in s, for short words only as a whole
// word (so "ak" matches `"ak":` but not "make").
func containsWord(s, w string) bool {
	if len(w) > 3 {
		return strings.Contains(s, w)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		if (j == 0 || !isWordByte(s[j-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}

// scrubbedError carries a message with secrets removed and keeps the cause
// reachable for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
