package resolve_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

func TestResolveRegionsAndRoles(t *testing.T) {
	for _, tc := range []struct {
		name, region, partition, stunSuffix string
	}{
		{"us-west-2", "us-west-2", "aws", ".amazonaws.com:443"},
		{"cn-north-1", "cn-north-1", "aws-cn", ".amazonaws.com.cn:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, cfg := start(t, emulator.Options{Region: tc.region, ShuffleEndpoints: true})
			arn := createChannel(t, e, "demo-"+tc.region)
			if arn.Partition != tc.partition {
				t.Fatalf("partition %s, want %s", arn.Partition, tc.partition)
			}
			host := strings.TrimPrefix(e.URL(), "https://")
			for _, role := range []channel.Role{channel.RoleMaster, channel.RoleViewer} {
				t.Run(role.String(), func(t *testing.T) {
					r := resolve.New(cfg, resolve.Options{NoCache: true})
					// The emulator shuffles ResourceEndpointList; resolve
					// several times so both orders are seen.
					for range 6 {
						res, err := r.Resolve(context.Background(), arn, role, "client-1")
						if err != nil {
							t.Fatal(err)
						}
						ep := res.Endpoints
						wssPrefix := map[channel.Role]string{channel.RoleMaster: "/m-", channel.RoleViewer: "/v-"}[role]
						if !strings.HasPrefix(ep.HTTPS, "https://"+host+"/r-") {
							t.Errorf("HTTPS = %s", ep.HTTPS)
						}
						if !strings.HasPrefix(ep.WSS, "wss://"+host+wssPrefix) {
							t.Errorf("WSS = %s, want wss://%s%s…", ep.WSS, host, wssPrefix)
						}
						if ep.FromCache || ep.Role != role || ep.ChannelARN != arn.String() {
							t.Errorf("endpoints = %+v", ep)
						}
						ice := res.ICE
						if len(ice.Servers) != 3 {
							t.Fatalf("ICE servers = %v, want STUN + 2 TURN", ice.Servers)
						}
						stun := ice.Servers[0]
						want := "stun:stun.kinesisvideo." + tc.region + tc.stunSuffix
						if len(stun.URLs) != 1 || stun.URLs[0] != want || stun.Username != "" {
							t.Errorf("STUN = %v, want %s first", stun, want)
						}
						for _, s := range ice.Servers[1:] {
							if s.Username == "" || s.Credential == "" || len(s.URLs) == 0 || !strings.HasPrefix(s.URLs[0], "turn") {
								t.Errorf("TURN server = %v", s)
							}
							if d := time.Until(s.Expires); d < 4*time.Minute || d > 5*time.Minute {
								t.Errorf("TURN expires in %v, want about 300 s", d)
							}
						}
						if d := time.Until(ice.Expires); d < 4*time.Minute || d > 270*time.Second {
							t.Errorf("ICE config expires in %v, want Ttl − 30 s", d)
						}
					}
				})
			}
		})
	}
}

func TestControlPlaneAndSTUNURL(t *testing.T) {
	for _, tc := range []struct {
		region          string
		fips, dualStack bool
		control, stun   string
	}{
		{"us-west-2", false, false, "https://kinesisvideo.us-west-2.amazonaws.com", "stun:stun.kinesisvideo.us-west-2.amazonaws.com:443"},
		{"cn-north-1", false, false, "https://kinesisvideo.cn-north-1.amazonaws.com.cn", "stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443"},
		{"us-west-2", true, false, "https://kinesisvideo-fips.us-west-2.amazonaws.com", "stuns:stun.kinesisvideo-fips.us-west-2.amazonaws.com:443"},
		{"us-west-2", false, true, "https://kinesisvideo.us-west-2.api.aws", "stun:stun.kinesisvideo.us-west-2.api.aws:443"},
		{"us-east-1", true, true, "https://kinesisvideo-fips.us-east-1.api.aws", "stuns:stun.kinesisvideo-fips.us-east-1.api.aws:443"},
	} {
		t.Run(tc.region, func(t *testing.T) {
			got, err := resolve.ControlPlaneURL(tc.region, tc.fips, tc.dualStack)
			if err != nil || got != tc.control {
				t.Errorf("ControlPlaneURL = %q, %v; want %s", got, err, tc.control)
			}
			got, err = resolve.STUNURL(tc.region, tc.fips, tc.dualStack)
			if err != nil || got != tc.stun {
				t.Errorf("STUNURL = %q, %v; want %s", got, err, tc.stun)
			}
		})
	}
}

// With no endpoint override a Resolver resolves China's hosts from the
// SDK's rules, and follows the SDK's FIPS and dual-stack switches.
func TestResolverHostsNoOverride(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          resolve.Options
		control, stun string
	}{
		{"default", resolve.Options{}, "https://kinesisvideo.cn-north-1.amazonaws.com.cn", "stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443"},
		{"dualstack", resolve.Options{UseDualStack: 1}, "https://kinesisvideo.cn-north-1.api.amazonwebservices.com.cn", "stun:stun.kinesisvideo.cn-north-1.api.amazonwebservices.com.cn:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, cfg := start(t, emulator.Options{Region: "cn-north-1"})
			cfg.BaseEndpoint = nil
			r := resolve.New(cfg, tc.opts)
			if got, _ := r.ControlPlaneURL("cn-north-1"); got != tc.control {
				t.Errorf("ControlPlaneURL = %s, want %s", got, tc.control)
			}
			if got, _ := r.STUNURL("cn-north-1"); got != tc.stun {
				t.Errorf("STUNURL = %s, want %s", got, tc.stun)
			}
			u, _ := url.Parse(tc.control)
			if got := u.Host; !strings.HasSuffix(got, ".cn") {
				t.Errorf("host %s", got)
			}
			if n := e.TotalRequests(); n != 0 {
				t.Errorf("%d requests, want none", n)
			}
		})
	}
}

func TestARNByName(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	want := createChannel(t, e, "by-name")
	r := resolve.New(cfg, resolve.Options{})
	for range 2 {
		got, err := r.ARNByName(context.Background(), "", "by-name")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("ARN %s, want %s", got, want)
		}
	}
	if n := e.Requests("DescribeSignalingChannel"); n != 1 {
		t.Errorf("%d DescribeSignalingChannel calls, want 1 (then cached)", n)
	}
}
