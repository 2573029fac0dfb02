package emulator_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// csdkClient is a client of the service built to behave as the KVS WebRTC C
// SDK v1.12.1 (producer-c v1.5.4) does, per ../shared/spec/csdk-client.md:
//
//   - it has no endpoint override: the control plane is
//     https://kinesisvideo.<region>.amazonaws.com[.cn] (createValidateChannelInfo,
//     src/source/Signaling/ChannelInfo.c), found through the hosts file;
//   - the host of a URL ends at the first '/', ':' or '?' (producer-c
//     getRequestHost, src/source/Common/AwsV4Signer.c) and every connection
//     goes to port 443 over TLS; a ':' right after the host fails the call
//     (lwsCompleteSync, src/source/Signaling/LwsApiCalls.c);
//   - it trusts only the CA in AWS_KVS_CACERT_PATH (readCACertificate,
//     src/source/Signaling/Signaling.c);
//   - REST calls are signed with SignedHeaders=host;user-agent;x-amz-date,
//     content-type sent unsigned; the WSS URL is presigned with host only.
type csdkClient struct {
	region, akid, secret string
	http                 *http.Client
}

// csdkUserAgent is the C SDK sample's user agent.
const csdkUserAgent = "AWS-WEBRTC-KVS-AGENT/1.12.1/1.5.4 kvsWebrtcClientMaster"

func newCSDKClient(env map[string]string) (*csdkClient, error) {
	pem, err := os.ReadFile(env["AWS_KVS_CACERT_PATH"])
	if err != nil {
		return nil, fmt.Errorf("AWS_KVS_CACERT_PATH: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_KVS_CACERT_PATH %s holds no certificate", env["AWS_KVS_CACERT_PATH"])
	}
	// http/1.1 only, as the C SDK pins its ALPN.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		ForceAttemptHTTP2: false}
	return &csdkClient{region: env["AWS_DEFAULT_REGION"], akid: env["AWS_ACCESS_KEY_ID"], secret: env["AWS_SECRET_ACCESS_KEY"],
		http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// controlPlane is the control-plane URL the C SDK builds for its region.
func (c *csdkClient) controlPlane() string {
	suffix := "amazonaws.com"
	if strings.Contains(c.region, "cn-") {
		suffix += ".cn"
	}
	return "https://kinesisvideo." + c.region + "." + suffix
}

// requestHost splits a URL as the C SDK does: scheme, host up to the first
// '/', ':' or '?', and the rest, which must start with '/' or '?'.
func requestHost(raw string) (host, rest string, err error) {
	_, after, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", fmt.Errorf("url %q has no scheme", raw)
	}
	i := strings.IndexAny(after, "/:?")
	if i < 0 {
		return after, "/", nil
	}
	if after[i] == ':' {
		// lwsCompleteSync: STATUS_INTERNAL_ERROR 0x0000000c.
		return "", "", fmt.Errorf("url %q: a port after the host (0x0000000c, getIceConfigLws(): Call Failed)", raw)
	}
	return after[:i], after[i:], nil
}

// post signs and sends a REST call to endpoint+path.
func (c *csdkClient) post(ctx context.Context, endpoint, path string, in, out any) (int, error) {
	host, rest, err := requestHost(endpoint + path)
	if err != nil {
		return 0, err
	}
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+host+rest, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	req.Header.Set("user-agent", csdkUserAgent)
	req.Header.Set("x-amz-date", amzDate)
	req.Header.Set("content-type", "application/json")
	canonHeaders := "host:" + host + "\nuser-agent:" + csdkUserAgent + "\nx-amz-date:" + amzDate + "\n"
	const signed = "host;user-agent;x-amz-date"
	sum := sha256.Sum256(body)
	creq := strings.Join([]string{http.MethodPost, req.URL.EscapedPath(), "", canonHeaders, signed, hex.EncodeToString(sum[:])}, "\n")
	scope := amzDate[:8] + "/" + c.region + "/kinesisvideo/aws4_request"
	req.Header.Set("authorization", "AWS4-HMAC-SHA256 Credential="+c.akid+"/"+scope+", SignedHeaders="+signed+", Signature="+c.signature(amzDate, scope, creq))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s: %d %s", path, resp.StatusCode, data)
	}
	return resp.StatusCode, json.Unmarshal(data, out)
}

// presign builds the WSS URL of endpoint with the query signature (host
// only: the C SDK removes user-agent before query signing).
func (c *csdkClient) presign(endpoint string, params url.Values) (string, error) {
	host, rest, err := requestHost(endpoint)
	if err != nil {
		return "", err
	}
	path, _, _ := strings.Cut(rest, "?")
	if path == "" {
		path = "/"
	}
	amzDate := time.Now().UTC().Format("20060102T150405Z")
	scope := amzDate[:8] + "/" + c.region + "/kinesisvideo/aws4_request"
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", c.akid+"/"+scope)
	q.Set("X-Amz-Date", amzDate)
	q.Set("X-Amz-Expires", "604800")
	q.Set("X-Amz-SignedHeaders", "host")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, awsEscape(k)+"="+awsEscape(q.Get(k)))
	}
	query := strings.Join(parts, "&")
	empty := sha256.Sum256(nil)
	creq := strings.Join([]string{http.MethodGet, path, query, "host:" + host + "\n", "host", hex.EncodeToString(empty[:])}, "\n")
	return "wss://" + host + path + "?" + query + "&X-Amz-Signature=" + c.signature(amzDate, scope, creq), nil
}

// dialWSS connects to a presigned URL over TLS on 443.
func (c *csdkClient) dialWSS(ctx context.Context, u string) (*websocket.Conn, error) {
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http,
		HTTPHeader: http.Header{"User-Agent": {csdkUserAgent}}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return conn, err
}

func (c *csdkClient) signature(amzDate, scope, creq string) string {
	mac := func(k []byte, s string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := mac([]byte("AWS4"+c.secret), amzDate[:8])
	k = mac(k, c.region)
	k = mac(k, "kinesisvideo")
	k = mac(k, "aws4_request")
	return hex.EncodeToString(mac(k, sts))
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~.
func awsEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
