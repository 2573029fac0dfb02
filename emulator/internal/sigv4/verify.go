package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// EmptySHA256 is the hex SHA-256 of the empty string, the payload hash of a
// presigned WSS URL (spec §4.2 step 5).
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// MaxSkew is how far a request's date may be from the server's clock
// (spec §5.1: "Signature expired ... - 5 min.").
const MaxSkew = 5 * time.Minute

// MaxPresignExpires is the largest X-Amz-Expires accepted (7 days, §4.2).
const MaxPresignExpires = 604800

// Code is the error type AWS's front end answers for a refused signature.
type Code string

// Codes returned by the SigV4 front end (spec §5.1, §13).
const (
	CodeMissingToken        Code = "MissingAuthenticationTokenException"
	CodeIncompleteSignature Code = "IncompleteSignatureException"
	CodeInvalidSignature    Code = "InvalidSignatureException"
	CodeUnrecognizedClient  Code = "UnrecognizedClientException"
	CodeExpiredToken        Code = "ExpiredTokenException"
	CodeAccessDenied        Code = "AccessDeniedException"
)

// Error is a refused signature: Code is the AWS error type, Message the
// text AWS sends. Neither ever contains a secret or a signature.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func fail(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Secret is what the verifier needs to know about an access key.
type Secret struct {
	SecretAccessKey string
	SessionToken    string    // required when non-empty
	Expiration      time.Time // zero: never
}

// Request is a parsed signature, before verification.
type Request struct {
	AccessKeyID   string
	Date          time.Time // X-Amz-Date
	Scope         Scope
	SignedHeaders []string
	Signature     string
	SecurityToken string
	Presigned     bool
	Expires       time.Duration // presigned only
}

// Scope is the credential scope <date>/<region>/<service>/aws4_request.
type Scope struct{ Day, Region, Service string }

func (s Scope) String() string { return s.Day + "/" + s.Region + "/" + s.Service + "/aws4_request" }

// Verifier checks signatures for one service and region.
type Verifier struct {
	Service string
	Region  string
	// Lookup returns the secret of an access key, or false if unknown.
	Lookup func(accessKeyID string) (Secret, bool)
	// Now is the server's clock.
	Now func() time.Time
}

// VerifyHeader checks the Authorization header of r against body, the
// request's payload. It returns the parsed request on success.
func (v *Verifier) VerifyHeader(r *http.Request, body []byte) (*Request, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Has("X-Amz-Signature") || strings.Contains(r.URL.RawQuery, "X-Amz-Signature") {
			return v.VerifyQuery(r)
		}
		return nil, fail(CodeMissingToken, "Missing Authentication Token")
	}
	req, err := parseAuthorization(auth)
	if err != nil {
		return nil, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, fail(CodeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if req.Date, err = time.Parse(timeFormat, amzDate); err != nil {
		return nil, fail(CodeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '%s'.", clip(amzDate, 32))
	}
	req.SecurityToken = r.Header.Get("X-Amz-Security-Token")
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" {
		if h != payloadHash {
			return nil, fail(CodeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	query, err := parseRawQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fail(CodeIncompleteSignature, "malformed query string")
	}
	return req, v.check(r, req, query, payloadHash)
}

// VerifyQuery checks a presigned request (query-string authentication), as
// used on the WSS upgrade (spec §4.2).
func (v *Verifier) VerifyQuery(r *http.Request) (*Request, error) {
	query, err := parseRawQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fail(CodeIncompleteSignature, "malformed query string")
	}
	get := func(k string) string {
		if vs := query[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	if get("X-Amz-Algorithm") == "" && get("X-Amz-Signature") == "" {
		return nil, fail(CodeMissingToken, "Missing Authentication Token")
	}
	if a := get("X-Amz-Algorithm"); a != Algorithm {
		return nil, fail(CodeIncompleteSignature, "Unsupported AWS 'algorithm': '%s'", clip(a, 32))
	}
	req := &Request{Presigned: true, Signature: get("X-Amz-Signature"), SecurityToken: get("X-Amz-Security-Token")}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"} {
		if get(k) == "" {
			return nil, fail(CodeIncompleteSignature, "AWS query-string parameters must include '%s'. Re-examine the query-string parameters.", k)
		}
	}
	if err := req.parseCredential(get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	req.SignedHeaders = strings.Split(get("X-Amz-SignedHeaders"), ";")
	if req.Date, err = time.Parse(timeFormat, get("X-Amz-Date")); err != nil {
		return nil, fail(CodeIncompleteSignature, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	exp, err := strconv.Atoi(get("X-Amz-Expires"))
	if err != nil || exp < 1 || exp > MaxPresignExpires {
		return nil, fail(CodeIncompleteSignature, "X-Amz-Expires must be an integer between 1 and %d", MaxPresignExpires)
	}
	req.Expires = time.Duration(exp) * time.Second
	delete(query, "X-Amz-Signature")
	return req, v.check(r, req, query, EmptySHA256)
}

const timeFormat = "20060102T150405Z"

func (v *Verifier) check(r *http.Request, req *Request, query url.Values, payloadHash string) error {
	now := v.Now().UTC()
	// Order follows AWS's front end: key first, then scope, then time, then
	// the signature itself.
	sec, ok := v.Lookup(req.AccessKeyID)
	if !ok {
		return fail(CodeUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if sec.SessionToken != "" || req.SecurityToken != "" {
		if subtle.ConstantTimeCompare([]byte(sec.SessionToken), []byte(req.SecurityToken)) != 1 {
			return fail(CodeUnrecognizedClient, "The security token included in the request is invalid.")
		}
	}
	if !sec.Expiration.IsZero() && !now.Before(sec.Expiration) {
		return fail(CodeExpiredToken, "The security token included in the request is expired")
	}
	if req.Scope.Service != v.Service {
		return fail(CodeInvalidSignature, "Credential should be scoped to correct service: '%s'. ", v.Service)
	}
	if req.Scope.Region != v.Region {
		return fail(CodeInvalidSignature, "Credential should be scoped to a valid region, not '%s'. ", clip(req.Scope.Region, 32))
	}
	if req.Scope.Day != req.Date.Format("20060102") {
		return fail(CodeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			clip(req.Scope.Day, 8), req.Date.Format("20060102"), req.Date.Format(timeFormat))
	}
	if req.Presigned {
		if now.After(req.Date.Add(req.Expires)) {
			return fail(CodeAccessDenied, "Request has expired: %s + %d s is earlier than %s",
				req.Date.Format(timeFormat), int(req.Expires/time.Second), now.Format(timeFormat))
		}
	}
	// §5.1: verbatim texts; the C SDK matches "Signature expired" and
	// "Signature not yet current".
	if !req.Presigned && req.Date.Before(now.Add(-MaxSkew)) {
		return fail(CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			req.Date.Format(timeFormat), now.Add(-MaxSkew).Format(timeFormat), now.Format(timeFormat))
	}
	if req.Date.After(now.Add(MaxSkew)) {
		return fail(CodeInvalidSignature, "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			req.Date.Format(timeFormat), now.Add(MaxSkew).Format(timeFormat), now.Format(timeFormat))
	}
	if !contains(req.SignedHeaders, "host") {
		return fail(CodeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	canonical, err := canonicalRequest(r, req.SignedHeaders, query, payloadHash)
	if err != nil {
		return err
	}
	want := Sign(sec.SecretAccessKey, req.Date, req.Scope, canonical)
	got, err := hex.DecodeString(req.Signature)
	if err != nil || subtle.ConstantTimeCompare(got, want) != 1 {
		return fail(CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// Sign returns the signature of canonical, a canonical request.
func Sign(secret string, date time.Time, scope Scope, canonical string) []byte {
	h := sha256.Sum256([]byte(canonical))
	sts := Algorithm + "\n" + date.UTC().Format(timeFormat) + "\n" + scope.String() + "\n" + hex.EncodeToString(h[:])
	k := hmacSHA256([]byte("AWS4"+secret), scope.Day)
	k = hmacSHA256(k, scope.Region)
	k = hmacSHA256(k, scope.Service)
	k = hmacSHA256(k, "aws4_request")
	return hmacSHA256(k, sts)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func parseAuthorization(auth string) (*Request, error) {
	rest, ok := strings.CutPrefix(auth, Algorithm+" ")
	if !ok {
		alg, _, _ := strings.Cut(auth, " ")
		return nil, fail(CodeIncompleteSignature, "Unsupported AWS 'algorithm': '%s'", clip(alg, 32))
	}
	req := &Request{}
	var cred, signed string
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			req.Signature = val
		}
	}
	for _, m := range []struct{ name, val string }{{"Credential", cred}, {"Signature", req.Signature}, {"SignedHeaders", signed}} {
		if m.val == "" {
			return nil, fail(CodeIncompleteSignature, "Authorization header requires '%s' parameter. Authorization=%s", m.name, Algorithm)
		}
	}
	if err := req.parseCredential(cred); err != nil {
		return nil, err
	}
	req.SignedHeaders = strings.Split(signed, ";")
	return req, nil
}

func (req *Request) parseCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return fail(CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%d' elements", len(parts))
	}
	req.AccessKeyID = parts[0]
	req.Scope = Scope{Day: parts[1], Region: parts[2], Service: parts[3]}
	return nil
}

// canonicalRequest builds the canonical request of r for the given signed
// headers, query (X-Amz-Signature removed) and payload hash.
func canonicalRequest(r *http.Request, signed []string, query url.Values, payloadHash string) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(escape(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query))
	b.WriteByte('\n')
	if !sort.StringsAreSorted(signed) {
		return "", fail(CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	for _, h := range signed {
		var vals []string
		switch h {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			if r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(h)
		}
		if len(vals) == 0 {
			return "", fail(CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
		}
		b.WriteString(h)
		b.WriteByte(':')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.Fields(v), " "))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

func canonicalQuery(q url.Values) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, kv{escape(k, true), escape(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// ParseQuery decodes a raw query string as a SigV4 verifier must: with
// RFC 3986 rules, keeping '+' as '+' (session tokens contain it, §4.2).
func ParseQuery(raw string) (url.Values, error) { return parseRawQuery(raw) }

// parseRawQuery decodes a raw query with RFC 3986 rules: unlike
// url.ParseQuery it keeps '+' as '+' (session tokens contain it, §4.2).
func parseRawQuery(raw string) (url.Values, error) {
	q := url.Values{}
	if raw == "" {
		return q, nil
	}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.PathUnescape(k)
		if err != nil {
			return nil, err
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, err
		}
		q[dk] = append(q[dk], dv)
	}
	return q, nil
}

// escape percent-encodes s per RFC 3986 (unreserved kept); slashes are kept
// unless encodeSlash.
func escape(s string, encodeSlash bool) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
