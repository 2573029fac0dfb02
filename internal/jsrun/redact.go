package jsrun

import "github.com/kvsrtc/kvsrtc/internal/redact"

// redactor removes an Env's secrets and credential-shaped text from what
// the harness prints (internal/redact).
type redactor struct{ r redact.Redactor }

func newRedactor(e Env) redactor { return redactor{redact.New(e.SecretAccessKey, e.SessionToken)} }

// redact removes e's secrets and anything that looks like a credential from s.
func (r redactor) redact(s string) string { return r.r.String(s) }
