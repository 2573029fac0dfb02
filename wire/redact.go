package wire

import (
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what RedactURL and RedactSecret put in place of a secret.
const Redacted = "****"

// RedactSecret returns Redacted for a non-empty s and "" for an empty one, so a
// log line can still tell whether a secret was set.
func RedactSecret(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

var (
	// userPassword finds the password of scheme://user:password@host; like
	// net/url it takes the last '@' before the path as the end.
	userPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*):([^/?#\s]*)@`)
	// tokenHeader finds an X-Amz-Security-Token header line, as AWS quotes it in
	// a canonical request inside a SignatureDoesNotMatch message.
	tokenHeader = regexp.MustCompile(`(?i)(x-amz-security-token[ \t]*:[ \t]*)[^\s"',]+`)
)

// RedactURL masks the secrets of a URL for logs and error messages:
//
//   - X-Amz-Signature and X-Amz-Security-Token of a presigned URL (§4.2);
//     X-Amz-Credential stays, since it holds only the access key id and the
//     credential scope, which are not secret;
//   - any query value whose key, percent-decoded and in any case, contains
//     password, passwd, secret, token, signature or credential (as in a TURN
//     credential), or is pwd, pass or sig;
//   - the password of scheme://user:password@host;
//   - the value of an "x-amz-security-token:" header line, as AWS quotes it
//     inside a SignatureDoesNotMatch message.
//
// Each value becomes "****". RedactURL edits the text in place and never
// re-encodes it, so it works the same on ws, wss, http and https URLs, on
// strings net/url cannot parse, and on text that merely contains a URL.
func RedactURL(u string) string {
	return redactText(u)
}

// redactText applies RedactURL's rules to any text; DecodeRESTError uses it on
// messages.
func redactText(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = userPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	if strings.IndexByte(s, '=') >= 0 {
		s = redactPairs(s)
	}
	if len(s) >= len("x-amz-security-token:") {
		s = tokenHeader.ReplaceAllString(s, "${1}"+Redacted)
	}
	return s
}

// redactPairs masks the value of every key=value pair whose key names a
// secret. It looks at every '=' (also those inside other values), takes the
// key as the run of key characters before it, and the value as everything up to
// a separator, a quote or white space.
func redactPairs(s string) string {
	var b strings.Builder
	last := 0 // s[:last] has been written to b
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		k := i
		for k > 0 && isKeyChar(s[k-1]) {
			k--
		}
		if k == i || !isSecretKey(s[k:i]) {
			continue
		}
		end := i + 1
		for end < len(s) && !isValueEnd(s[end]) {
			end++
		}
		if v := s[i+1 : end]; v != "" && v != Redacted {
			if last == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last : i+1])
			b.WriteString(Redacted)
			last = end
		}
		i = end - 1 // skip the value, '=' padding included
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isKeyChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '~' || c == '%' || c == '+' || c == '-'
}

func isValueEnd(c byte) bool {
	switch c {
	case '&', '#', ';', ',', '"', '\'', '<', '>', ')', ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// isSecretKey reports whether a query key names a secret value.
func isSecretKey(key string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	key = strings.ToLower(key)
	switch key {
	case "x-amz-credential":
		return false
	case "pwd", "pass", "sig":
		return true
	}
	for _, w := range []string{"password", "passwd", "secret", "token", "signature", "credential"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}
