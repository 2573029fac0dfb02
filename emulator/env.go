package emulator

import (
	"net/url"
	"strings"
)

// Env returns the environment that points AWS SDKs, the AWS CLI and the
// KVS C SDK samples at the emulator with its default credential, as
// KEY=VALUE lines in a stable order. AWS_DEFAULT_REGION is there besides
// AWS_REGION: botocore (the AWS CLI v1) and the C SDK samples read only it
// (csdk-client.md); AWS_KVS_CACERT_PATH is the C SDK's AWS_CA_BUNDLE
// (readCACertificate, src/source/Signaling/Signaling.c).
func (e *Emulator) Env() []string {
	c := e.Credential()
	env := []string{
		"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + e.url,
		"AWS_REGION=" + e.opts.Region,
		"AWS_DEFAULT_REGION=" + e.opts.Region,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
	}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	if !e.opts.InsecureHTTP {
		env = append(env, "AWS_CA_BUNDLE="+e.pki.caPath, "AWS_KVS_CACERT_PATH="+e.pki.caPath)
	}
	// Not an AWS variable: kvsrtc's commands list this STUN server instead
	// of the service's, which is unreachable offline.
	env = append(env, "KVSRTC_STUN_URL="+e.STUNURL())
	return env
}

// HostsLine is the /etc/hosts line that sends the service's control-plane
// and STUN host names for the emulated region to the emulator, e.g.
// "127.0.0.1 kinesisvideo.us-west-2.amazonaws.com
// stun.kinesisvideo.us-west-2.amazonaws.com" (.amazonaws.com.cn in China;
// in aws-us-gov with the FIPS host too, serviceHosts).
// Clients without an endpoint override (the C SDK samples build both names
// themselves, spec §3.3) need it, and the service-shaped mode
// (Options.ServicePorts), which serves those names' ports. It is "" in the
// default mode.
func (e *Emulator) HostsLine() string {
	if !e.opts.ServicePorts {
		return ""
	}
	return e.listenIP.String() + " " + strings.Join(e.serviceHosts(), " ") + " stun." + e.ControlPlaneHost()
}

// serviceHosts are the control-plane host names clients derive for the
// region without an endpoint override: ControlPlaneHost, and in aws-us-gov
// also kinesisvideo-fips.<region>.amazonaws.com, the name botocore's (and
// the other AWS SDKs') endpoint rules resolve there (botocore
// data/kinesisvideo/2017-09-30/endpoint-rule-set-1.json; the C SDK keeps
// building the plain name, §2.1). The certificate covers both (pki.go).
func (e *Emulator) serviceHosts() []string {
	hosts := []string{e.ControlPlaneHost()}
	if e.partition == "aws-us-gov" {
		hosts = append(hosts, fipsHost(e.opts.Region, e.dnsSuffix))
	}
	return hosts
}

// fipsHost is the FIPS control-plane host of region (§2.1).
func fipsHost(region, dnsSuffix string) string {
	return "kinesisvideo-fips." + region + "." + dnsSuffix
}

// ControlPlaneHost is the service's control-plane host name for the
// emulated region, kinesisvideo.<region>.<suffix>, which the emulator's
// certificate covers (with every name under it).
func (e *Emulator) ControlPlaneHost() string {
	return "kinesisvideo." + e.opts.Region + "." + e.dnsSuffix
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
