package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningName is the SigV4 service name of the signaling WebSocket (§4.2).
const SigningName = "kinesisvideo"

// DefaultExpires is the X-Amz-Expires of a presigned URL when none is given:
// 299 seconds, as the JavaScript and Android SDKs send (§4.2).
const DefaultExpires = 299 * time.Second

// MaxExpires is the longest X-Amz-Expires SigV4 allows (7 days, what the C SDK
// sends with long-term keys).
const MaxExpires = 7 * 24 * time.Hour

// emptySHA256 is the hex SHA-256 of the empty payload (§4.2 step 5).
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// PresignInput names what a signaling URL is presigned for.
type PresignInput struct {
	// Endpoint is the WSS resource endpoint for the role, as
	// GetSignalingChannelEndpoint returned it (wss://m-1a2b3c4d.kinesisvideo.
	// us-west-2.amazonaws.com), or an emulator's (wss://127.0.0.1:8443/v-1a2b3c4d).
	// A path, if any, is kept and signed; no path becomes "/".
	Endpoint string
	// Region is the channel's region, part of the credential scope.
	Region string
	// ChannelARN is sent as X-Amz-ChannelARN.
	ChannelARN string
	// ClientID is sent as X-Amz-ClientId. Viewers must set it; the master must
	// leave it empty (§4.1).
	ClientID string
	// Time is the signing time (X-Amz-Date). Zero means time.Now. Pass a
	// clock-skew-corrected time when the local clock is off.
	Time time.Time
	// Expires is X-Amz-Expires, rounded down to whole seconds. Zero means
	// DefaultExpires; it must be between 1 s and MaxExpires.
	Expires time.Duration
}

// Presign returns the presigned wss:// URL that opens the signaling WebSocket
// (ConnectAsMaster without a ClientID, ConnectAsViewer with one), signed with
// aws-sdk-go-v2's SigV4 signer as spec §4.2 describes: method GET, service
// kinesisvideo, SignedHeaders=host, payload hash of the empty string, and
// X-Amz-Security-Token inside the signed query when creds carry a session
// token. X-Amz-Signature comes last, as the C and Android SDKs put it.
//
// The URL is a bearer secret until it expires: log it only through
// wire.RedactURL. Errors never contain it.
func Presign(ctx context.Context, creds aws.Credentials, in PresignInput) (string, error) {
	if in.ChannelARN == "" {
		return "", errors.New("presign signaling url: missing channel arn")
	}
	q := url.Values{"X-Amz-ChannelARN": {in.ChannelARN}}
	if in.ClientID != "" {
		q.Set("X-Amz-ClientId", in.ClientID)
	}
	return presign(ctx, creds, in.Endpoint, in.Region, q, in.Time, in.Expires)
}

// presign signs any query on endpoint; the test vectors of §4.2 use it with a
// query other than ChannelARN/ClientId.
func presign(ctx context.Context, creds aws.Credentials, endpoint, region string, q url.Values, at time.Time, expires time.Duration) (string, error) {
	switch {
	case creds.AccessKeyID == "" || creds.SecretAccessKey == "":
		return "", errors.New("presign signaling url: missing access key id or secret access key")
	case region == "":
		return "", errors.New("presign signaling url: missing region")
	}
	if expires == 0 {
		expires = DefaultExpires
	}
	if expires < time.Second || expires > MaxExpires {
		return "", fmt.Errorf("presign signaling url: expires %v outside 1s..%v", expires, MaxExpires)
	}
	if at.IsZero() {
		at = time.Now()
	}
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return "", fmt.Errorf("presign signaling url: %w", err)
	}
	q = cloneValues(q)
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10))
	u.RawQuery = q.Encode()
	req := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}
	// PresignHTTP sets X-Amz-Security-Token in the query before it builds the
	// canonical query, so the token is signed, as KVS requires (§4.2 step 2);
	// TestPresignVectors proves it against the JS and Android vectors.
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req.WithContext(ctx), emptySHA256, SigningName, region, at)
	if err != nil {
		return "", fmt.Errorf("presign signaling url: %w", err)
	}
	return signed, nil
}

// parseEndpoint checks a WSS resource endpoint and gives it the path "/" when
// it has none, so the URL reads wss://host/?X-Amz-… as the JS SDK sends it.
func parseEndpoint(endpoint string) (*url.URL, error) {
	if endpoint == "" {
		return nil, errors.New("missing endpoint")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		// url.Error quotes the input; an endpoint has no secret, but keep the
		// message short and predictable.
		return nil, fmt.Errorf("%w: endpoint is not a url", ErrInvalidEndpoint)
	}
	if u.Scheme != "wss" && u.Scheme != "ws" {
		return nil, fmt.Errorf("%w: scheme %q, want wss", ErrInvalidEndpoint, u.Scheme)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: want wss://host[:port][/path] without user, query or fragment", ErrInvalidEndpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func cloneValues(q url.Values) url.Values {
	c := make(url.Values, len(q)+8)
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}
