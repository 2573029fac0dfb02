package doctor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/kvsrtc/kvsrtc/wire"
)

// guessRegion is the region to call before the ARN step has judged the
// ARN: the user's, else the ARN's region field, else the config's.
func (s *state) guessRegion() string {
	if s.opts.Region != "" {
		return s.opts.Region
	}
	if parts := strings.Split(s.opts.ChannelARN, ":"); len(parts) >= 6 && parts[3] != "" {
		return parts[3]
	}
	return s.opts.Config.Region
}

// probe is the answer to one signed control-plane request.
type probe struct {
	status   int
	code     string
	message  string
	offset   time.Duration // service − local, from Date
	hasDate  bool
	received time.Time
	err      error // transport error
}

// sendProbe signs a DescribeSignalingChannel without a channel (a request
// that changes nothing and that the service refuses with
// InvalidArgumentException once the signature is accepted, or with
// AccessDeniedException for a credential without the permission: either
// way the credentials are good) and reads the verdict and the Date.
// Authentication comes before validation on AWS's front end.
func (s *state) sendProbe(ctx context.Context, creds aws.Credentials, offset time.Duration) probe {
	base, err := s.r.ControlPlaneURL(s.region)
	if err != nil {
		return probe{err: err}
	}
	u, err := url.Parse(base)
	if err != nil {
		return probe{err: err}
	}
	u = u.JoinPath("describeSignalingChannel")
	body := []byte("{}")
	sum := sha256.Sum256(body)
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return probe{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kinesisvideo", s.region, time.Now().Add(offset)); err != nil {
		return probe{err: fmt.Errorf("sign request: %w", err)}
	}
	client := s.opts.Config.HTTPClient
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return probe{err: err}
	}
	defer resp.Body.Close()
	received := time.Now()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p := probe{status: resp.StatusCode, received: received}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		// The Date has whole seconds; the midpoint of the round trip is the
		// best guess of when it was written.
		p.offset, p.hasDate = d.Sub(sent.Add(received.Sub(sent)/2)).Truncate(time.Second), true
	}
	if resp.StatusCode != http.StatusOK {
		ae := wire.DecodeRESTError(resp.StatusCode, resp.Header, data)
		p.code, p.message = ae.Code, ae.Message
	}
	return p
}

// credential codes the front end answers before any permission is looked
// at, with the fix for each (spec §5.1).
var credentialFixes = map[string]string{
	"ExpiredTokenException":               "the session token has expired: get new credentials (aws sso login, or assume the role again) and use a source that refreshes them (a profile, --credentials-url)",
	"ExpiredToken":                        "the session token has expired: get new credentials (aws sso login, or assume the role again) and use a source that refreshes them (a profile, --credentials-url)",
	"UnrecognizedClientException":         "the service does not know this access key id: check AWS_ACCESS_KEY_ID / --profile, and that the key belongs to this partition",
	"InvalidClientTokenId":                "the service does not know this access key id: check AWS_ACCESS_KEY_ID / --profile, and that the key belongs to this partition",
	"InvalidSignatureException":           "the signature does not match: check AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) belong to this access key id",
	"SignatureDoesNotMatch":               "the signature does not match: check AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) belong to this access key id",
	"IncompleteSignatureException":        "the request signature is incomplete: check AWS_SESSION_TOKEN is set along with temporary keys",
	"MissingAuthenticationTokenException": "no credentials were sent: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --profile",
}

// isSkewRefusal reports a refusal for the signing time, not the key.
func isSkewRefusal(p probe) bool {
	return strings.Contains(p.message, "Signature expired") || strings.Contains(p.message, "Signature not yet current") ||
		p.code == "RequestTimeTooSkewed" || (p.code == "InvalidSignatureException" && p.hasDate && p.offset.Abs() >= SkewLimit)
}

// checkCredentials retrieves the credentials, says where they come from
// and how long they last, and has the service judge them with one signed
// probe (its Date also gives the clock offset).
func (s *state) checkCredentials(ctx context.Context) {
	t0 := time.Now()
	c := Check{Step: StepCredentials, Name: "credentials", Metric: "getTokenCallTime"}
	done := func() {
		cc := s.check(c.Step, c.Name, c.Metric, t0, time.Now())
		cc.Status, cc.Detail, cc.Error, cc.Fix = c.Status, c.Detail, c.Error, c.Fix
		s.add(cc)
	}
	if s.opts.Config.Credentials == nil {
		c.Status, c.Error = StatusFail, "no credentials configured"
		c.Fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, --profile, or --credentials-url"
		s.credsBad = true
		done()
		return
	}
	rctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	creds, err := s.opts.Config.Credentials.Retrieve(rctx)
	cancel()
	if err != nil {
		c.Status, c.Error = StatusFail, "get credentials: "+wire.RedactURL(err.Error())
		c.Fix = "check the credential source (AWS_* variables, --profile, --credentials-url) answers with valid credentials"
		s.credsBad = true
		done()
		return
	}
	now := time.Now()
	var parts []string
	src := creds.Source
	if src == "" {
		src = "unnamed provider"
	}
	parts = append(parts, "source "+src, "key "+maskKey(creds.AccessKeyID))
	refreshable := creds.CanExpire && !strings.Contains(src, "Env") && !strings.Contains(src, "Static")
	switch {
	case creds.CanExpire && !creds.Expires.IsZero():
		left := creds.Expires.Sub(now).Round(time.Second)
		parts = append(parts, fmt.Sprintf("expires %s (in %s)", creds.Expires.UTC().Format(time.RFC3339), left))
	case creds.SessionToken != "":
		parts = append(parts, "session token with an expiry not known here")
	default:
		parts = append(parts, "long-term key, no expiry")
	}
	if refreshable {
		parts = append(parts, "refreshable")
	} else {
		parts = append(parts, "not refreshable")
	}
	c.Detail = strings.Join(parts, ", ")
	if creds.CanExpire && !creds.Expires.IsZero() && !creds.Expires.After(now) {
		c.Status, c.Error = StatusFail, "the credentials expired at "+creds.Expires.UTC().Format(time.RFC3339)
		c.Fix = credentialFixes["ExpiredTokenException"]
		s.credsBad = true
		done()
		return
	}

	p := s.sendProbe(ctx, creds, 0)
	if p.err == nil && p.hasDate {
		s.offset, s.offsetSeen = p.offset, true
	}
	if p.err == nil && isSkewRefusal(p) && p.hasDate {
		// Judge the key with the service's time; the clock step reports
		// the offset.
		p = s.sendProbe(ctx, creds, s.offset)
	}
	switch {
	case p.err != nil:
		c.Status = StatusPass
		c.Detail += "; not verified: the control plane did not answer"
		s.credsOK = true
	case credentialFixes[p.code] != "" && !isSkewRefusal(p):
		c.Status, c.Error, c.Fix = StatusFail, "the service refused them: "+p.code+": "+p.message, credentialFixes[p.code]
		s.credsBad = true
	default:
		c.Status = StatusPass
		c.Detail += "; accepted by the service"
		s.credsOK = true
	}
	done()
}

// maskKey shows the last four characters of an access key id.
func maskKey(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****" + id[len(id)-4:]
}

// checkClock reports the offset the probe's Date showed.
func (s *state) checkClock(ctx context.Context) {
	t0 := time.Now()
	if !s.offsetSeen {
		// No signed answer: ask without credentials; any answer has a Date.
		if base, err := s.r.ControlPlaneURL(s.region); err == nil {
			s.dateOnly(ctx, base)
		}
	}
	c := s.check(StepClock, "clock", "", t0, time.Now())
	if !s.offsetSeen {
		c.Status, c.Error = StatusSkip, "no answer from the service to read its Date from"
		s.add(c)
		return
	}
	off := s.offset
	dir := "ahead of"
	if off > 0 {
		dir = "behind"
	}
	c.Detail = fmt.Sprintf("offset %+ds (service − local, good to about 1 s)", int(off/time.Second))
	switch {
	case off.Abs() >= SkewLimit:
		c.Status = StatusFail
		c.Error = fmt.Sprintf("the local clock is %s %s the service's; SigV4 refuses requests signed more than 5 min off", off.Abs(), dir)
		c.Fix = "set the system clock (e.g. `timedatectl set-ntp true`): kvsrtc signs with the service's time, but other clients get \"Signature expired\" loops"
	case off.Abs() >= time.Minute:
		c.Status = StatusPass
		c.Detail += fmt.Sprintf("; the local clock is %s %s: enable NTP before it drifts past 5 min", off.Abs(), dir)
	default:
		c.Status = StatusPass
	}
	s.add(c)
}

// dateOnly reads the offset from an unsigned request's answer.
func (s *state) dateOnly(ctx context.Context, base string) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/describeSignalingChannel", strings.NewReader("{}"))
	if err != nil {
		return
	}
	client := s.opts.Config.HTTPClient
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	resp.Body.Close()
	received := time.Now()
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		s.offset, s.offsetSeen = d.Sub(sent.Add(received.Sub(sent)/2)).Truncate(time.Second), true
	}
}
