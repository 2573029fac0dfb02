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
	// queryPair finds key=value pairs that start the string or follow a query
	// or list separator; values end at a separator, a quote or white space.
	queryPair = regexp.MustCompile(`(^|[?&;,\s"'(])([A-Za-z0-9_.~%+-]+)=([^&#;,\s"'<>)]*)`)
	// userPassword finds the password of scheme://user:password@host.
	userPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*):([^/?#@\s]*)@`)
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
//   - the password of scheme://user:password@host.
//
// Each value becomes "****". RedactURL edits the text in place and never
// re-encodes it, so it works the same on ws, wss, http and https URLs, on
// strings net/url cannot parse, and on text that merely contains a URL.
func RedactURL(u string) string {
	return redactText(u)
}

// redactText applies RedactURL's rules, plus X-Amz-Security-Token header lines,
// to any text.
func redactText(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "@") {
		s = userPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	if strings.IndexByte(s, '=') >= 0 {
		s = queryPair.ReplaceAllStringFunc(s, func(m string) string {
			sub := queryPair.FindStringSubmatch(m)
			if sub == nil || sub[3] == "" || sub[3] == Redacted || !isSecretKey(sub[2]) {
				return m
			}
			return sub[1] + sub[2] + "=" + Redacted
		})
	}
	if len(s) >= len("x-amz-security-token:") {
		s = tokenHeader.ReplaceAllString(s, "${1}"+Redacted)
	}
	return s
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
