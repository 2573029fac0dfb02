package pyrun

import (
	"regexp"
	"strings"
)

const redacted = "[REDACTED]"

// secretPatterns match credentials whose value the harness does not know:
// presigned URL parameters, Authorization signatures and credential fields
// in printed objects, JSON or botocore's debug output.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&\s"'<>]+`),
	regexp.MustCompile(`(?i)(\bSignature=)[0-9a-f]+`),
	regexp.MustCompile(`(?i)(["']?\b(?:secretAccessKey|secret_access_key|aws_secret_access_key|sessionToken|session_token|aws_session_token|securityToken|x-amz-security-token|password|credential)\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;}&]+)`),
}

type redactor struct {
	literal *strings.Replacer
}

func newRedactor(e Env) redactor {
	// Longest first, so a key that is part of the token cannot leave the
	// rest of the token behind.
	secrets := []string{e.SecretAccessKey, e.SessionToken}
	if len(secrets[0]) < len(secrets[1]) {
		secrets[0], secrets[1] = secrets[1], secrets[0]
	}
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, redacted)
		}
	}
	return redactor{literal: strings.NewReplacer(pairs...)}
}

// redact removes e's secrets and anything that looks like a credential from s.
func (r redactor) redact(s string) string {
	return redactAll(r.literal.Replace(s))
}

// redactAll removes anything that looks like a credential from s.
func redactAll(s string) string {
	for _, re := range secretPatterns {
		s = re.ReplaceAllString(s, "${1}"+redacted)
	}
	return s
}
