// Package redact removes AWS credentials from text the test harnesses
// print (internal/jsrun, internal/pyrun): known secrets by value, and
// anything that looks like one by pattern.
package redact

import (
	"regexp"
	"strings"
)

// Mark replaces what is removed.
const Mark = "[REDACTED]"

// patterns match credentials whose value the harness does not know:
// presigned URL parameters, Authorization signatures and credential fields
// in printed objects, JSON or botocore's debug output.
var patterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&\s"'<>]+`),
	regexp.MustCompile(`(?i)(\bSignature=)[0-9a-f]+`),
	regexp.MustCompile(`(?i)(["']?\b(?:secretAccessKey|secret_access_key|aws_secret_access_key|sessionToken|session_token|aws_session_token|securityToken|x-amz-security-token|password|credential)\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;}&]+)`),
}

// Redactor removes known secrets and credential-shaped text.
type Redactor struct {
	literal *strings.Replacer
}

// New returns a Redactor for secrets (empty ones are ignored).
func New(secrets ...string) Redactor {
	// Longest first, so a secret that is part of another (a key inside a
	// token) cannot leave the rest of it behind.
	s := make([]string, 0, len(secrets))
	for _, x := range secrets {
		if x != "" {
			s = append(s, x)
		}
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j]) > len(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var pairs []string
	for _, x := range s {
		pairs = append(pairs, x, Mark)
	}
	return Redactor{literal: strings.NewReplacer(pairs...)}
}

// String removes r's secrets and anything that looks like a credential from s.
func (r Redactor) String(s string) string {
	if r.literal != nil {
		s = r.literal.Replace(s)
	}
	return Patterns(s)
}

// Patterns removes anything that looks like a credential from s.
func Patterns(s string) string {
	for _, re := range patterns {
		s = re.ReplaceAllString(s, "${1}"+Mark)
	}
	return s
}
