package emulator

import (
	"net/url"
	"strings"
)

// Env returns the environment that points AWS SDKs and the AWS CLI at the
// emulator with its default credential, as KEY=VALUE lines in a stable order.
func (e *Emulator) Env() []string {
	c := e.Credential()
	env := []string{
		"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + e.url,
		"AWS_REGION=" + e.opts.Region,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
	}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	if !e.opts.InsecureHTTP {
		env = append(env, "AWS_CA_BUNDLE="+e.pki.caPath)
	}
	// Not an AWS variable: kvsrtc's commands list this STUN server instead
	// of the service's, which is unreachable offline.
	env = append(env, "KVSRTC_STUN_URL="+e.STUNURL())
	return env
}

// ParseEnvFile reads KEY=VALUE lines (as written by `kvsrtc emulator
// --env-file`) into a map.
func ParseEnvFile(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && k != "" && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

// endpointURL builds a resource endpoint URL on the emulator's listener.
func (e *Emulator) endpointURL(scheme, prefix string) string {
	u := url.URL{Scheme: scheme, Host: e.host, Path: "/" + prefix}
	return u.String()
}
