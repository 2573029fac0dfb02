package creds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/channel"
)

// ErrInvalidResponse reports a credentials URL body that is not usable
// credentials. Errors from [ParseResponse] match it with errors.Is.
var ErrInvalidResponse = errors.New("invalid credentials response")

// redacted stands in for a secret in String, GoString and LogValue output.
const redacted = "****"

// Response is a decoded credentials URL body. Its String, GoString and LogValue
// print **** for the secret key and session token.
type Response struct {
	// AccessKeyID is "ak" or "AccessKeyId".
	AccessKeyID string
	// SecretAccessKey is "sk" or "SecretAccessKey".
	SecretAccessKey string
	// SessionToken is "token" or "Token"; empty for long-term keys.
	SessionToken string
	// Expires is "expiration" or "Expiration"; zero when the body has none.
	Expires time.Time
	// Region is "region", if the backend sent one.
	Region string
	// ChannelARN is "arn", if the backend sent one; it is a valid channel ARN
	// in Region's partition.
	ChannelARN string
}

// wireResponse holds both shapes. encoding/json prefers exact key matches, so
// "token" and "Token" land in their own fields.
type wireResponse struct {
	AK         *string         `json:"ak"`
	SK         *string         `json:"sk"`
	Token      *string         `json:"token"`
	Expiration json.RawMessage `json:"expiration"`

	AccessKeyID     *string         `json:"AccessKeyId"`
	SecretAccessKey *string         `json:"SecretAccessKey"`
	ContainerToken  *string         `json:"Token"`
	ContainerExpiry json.RawMessage `json:"Expiration"`

	Region string `json:"region"`
	ARN    string `json:"arn"`
}

// ParseResponse decodes a credentials URL body in either accepted shape (see
// the package documentation) and checks it: the access key and secret key must
// be present and non-empty, an expiration must be an RFC 3339 time or epoch
// seconds or milliseconds in the future (now is the time to compare against),
// a region must look like one, and an ARN must be a channel ARN in that region.
// Errors name the field, match [ErrInvalidResponse] and never contain the
// secret key or token.
func ParseResponse(body []byte, now time.Time) (Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return Response{}, invalid(jsonProblem(body, err))
	}
	var r Response
	var expiry json.RawMessage
	expField := "expiration"
	short := w.AK != nil || w.SK != nil
	long := w.AccessKeyID != nil || w.SecretAccessKey != nil
	switch {
	case short && long:
		return Response{}, invalid(`response has both "ak"/"sk" and "AccessKeyId"/"SecretAccessKey": send one shape`)
	case short:
		if err := required(&r.AccessKeyID, w.AK, "ak"); err != nil {
			return Response{}, err
		}
		if err := required(&r.SecretAccessKey, w.SK, "sk"); err != nil {
			return Response{}, err
		}
		r.SessionToken = deref(firstString(w.Token, w.ContainerToken))
		expiry = firstRaw(w.Expiration, w.ContainerExpiry)
	case long:
		if err := required(&r.AccessKeyID, w.AccessKeyID, "AccessKeyId"); err != nil {
			return Response{}, err
		}
		if err := required(&r.SecretAccessKey, w.SecretAccessKey, "SecretAccessKey"); err != nil {
			return Response{}, err
		}
		r.SessionToken = deref(firstString(w.ContainerToken, w.Token))
		expiry, expField = firstRaw(w.ContainerExpiry, w.Expiration), "Expiration"
	default:
		return Response{}, invalid(`response has neither "ak" and "sk" nor "AccessKeyId" and "SecretAccessKey"`)
	}
	// From here on an error may show a value, so hide any value holding a
	// secret: the backend may have put one in the wrong field.
	secrets := secretValues(body, r.SecretAccessKey, r.SessionToken)
	show := func(v string) string {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				return redacted
			}
		}
		return cut(strconv.Quote(v))
	}
	// fail also scrubs whole messages: a field may quote another field
	// (CheckRegion quotes both the region and the ARN).
	fail := func(format string, args ...any) (Response, error) {
		msg := fmt.Sprintf(format, args...)
		for _, s := range secrets {
			q := strconv.Quote(s)
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], redacted)
			msg = strings.ReplaceAll(msg, s, redacted)
		}
		return Response{}, invalid(msg)
	}
	if len(expiry) > 0 && string(expiry) != "null" {
		t, err := parseExpiration(expiry)
		if err != nil {
			var v string
			if json.Unmarshal(expiry, &v) == nil {
				return fail("response field %q is %s: %s", expField, show(v), err)
			}
			return fail("response field %q is %s: %s", expField, strings.Trim(show(string(expiry)), `"`), err)
		}
		if !t.After(now) {
			return fail("response field %q is %s, which has passed (now is %s)",
				expField, t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		r.Expires = t
	}
	if w.Region != "" {
		if !validRegion(w.Region) {
			return fail(`response field "region" is %s: want a region such as us-west-2`, show(w.Region))
		}
		r.Region = w.Region
	}
	if w.ARN != "" {
		if show(w.ARN) == redacted {
			return fail(`response field "arn" is not a channel ARN (not shown: it holds the secret key or token)`)
		}
		a, err := channel.ParseARN(w.ARN)
		if err != nil {
			return fail(`response field "arn": %s`, err)
		}
		if err := channel.CheckRegion(a, r.Region); err != nil {
			return fail(`response fields "arn" and "region" disagree: %s`, err)
		}
		r.ChannelARN = w.ARN
	}
	return r, nil
}

// Credentials converts r for the SDK, with source naming where it came from.
func (r Response) Credentials(source string) aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     r.AccessKeyID,
		SecretAccessKey: r.SecretAccessKey,
		SessionToken:    r.SessionToken,
		Source:          source,
		CanExpire:       !r.Expires.IsZero(),
		Expires:         r.Expires,
	}
}

// String prints r with **** for the secret key and session token.
func (r Response) String() string {
	exp := "never"
	if !r.Expires.IsZero() {
		exp = r.Expires.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("{AccessKeyID:%s SecretAccessKey:%s SessionToken:%s Expires:%s Region:%s ChannelARN:%s}",
		r.AccessKeyID, mask(r.SecretAccessKey), mask(r.SessionToken), exp, r.Region, r.ChannelARN)
}

// GoString is String, so %#v cannot print the secrets either.
func (r Response) GoString() string { return "creds.Response" + r.String() }

// LogValue gives r as a slog group with **** for the secret key and token.
func (r Response) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("access_key_id", r.AccessKeyID),
		slog.String("secret_access_key", mask(r.SecretAccessKey)),
		slog.String("session_token", mask(r.SessionToken)),
	}
	if !r.Expires.IsZero() {
		attrs = append(attrs, slog.Time("expires", r.Expires))
	}
	if r.Region != "" {
		attrs = append(attrs, slog.String("region", r.Region))
	}
	if r.ChannelARN != "" {
		attrs = append(attrs, slog.String("channel_arn", r.ChannelARN))
	}
	return slog.GroupValue(attrs...)
}

// mask gives **** for a set secret and "" for an empty one.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// secretValues gives the secret key, the token and every string the body holds
// under a secret-like key in any case (encoding/json matches keys without
// regard to case, so "SK" may be the one that was used), for values of four
// bytes or more.
func secretValues(body []byte, known ...string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	for _, s := range known {
		add(s)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return out
	}
	for k, raw := range m {
		switch strings.ToLower(k) {
		case "sk", "secretaccesskey", "token", "sessiontoken":
			var s string
			if json.Unmarshal(raw, &s) == nil {
				add(s)
			}
		}
	}
	return out
}

func invalid(msg string) error {
	return &scrubbedError{msg: msg, err: ErrInvalidResponse}
}

func required(dst *string, v *string, field string) error {
	if v == nil {
		return invalid(fmt.Sprintf("response is missing %q", field))
	}
	if *v == "" {
		return invalid(fmt.Sprintf("response field %q is empty", field))
	}
	*dst = *v
	return nil
}

// firstString gives the first of a shape's own field and the other shape's.
func firstString(own, other *string) *string {
	if own != nil {
		return own
	}
	return other
}

// firstRaw gives the first of a shape's own field and the other shape's.
func firstRaw(own, other json.RawMessage) json.RawMessage {
	if len(own) > 0 {
		return own
	}
	return other
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(body []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("response is a JSON %s: want an object", te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("response field %q is a JSON %s: want a string", te.Field, te.Value)
	case errors.As(err, &se):
		trimmed := bytes.TrimSpace(body)
		switch {
		case len(trimmed) == 0:
			return "response is empty: want a JSON object"
		case trimmed[0] == '<':
			return "response is not JSON: it looks like HTML (is the URL right?)"
		}
		return fmt.Sprintf("response is not JSON: syntax error at byte %d", se.Offset)
	}
	return "response is not a JSON object"
}

// parseExpiration reads an RFC 3339 string, or a number of epoch seconds or,
// when too large to be seconds, milliseconds.
func parseExpiration(raw json.RawMessage) (time.Time, error) {
	const want = "want an RFC 3339 time or epoch seconds or milliseconds"
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New(want)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, errors.New(want)
		}
		return t, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, errors.New(want)
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e15 {
		return time.Time{}, errors.New(want)
	}
	if f >= 1e11 { // 1e11 seconds is the year 5138; 1e11 ms is 1973
		return time.UnixMilli(int64(f)), nil
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// validRegion matches the API's region pattern [a-z0-9-]+.
func validRegion(r string) bool {
	return r != "" && strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// cut shortens a value for an error message.
func cut(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	for i := max; i > 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return s[:i] + "…"
		}
	}
	return "…"
}
