package browsertest

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
)

// TestControlPlane is scenario 3: the unmodified AWS JS SDK v3 clients
// (@aws-sdk/client-kinesis-video, -signaling, bundled by esbuild) run in
// Chromium and call the emulator directly over HTTPS, CORS and all:
// create, describe, list, get endpoint for both roles, get ICE server
// config, and a typed not-found error. kvsrtc (Go) then sees the channel
// the browser created.
func TestControlPlane(t *testing.T) {
	ev := newEnv(t, "setup")
	c := ev.e.Credential()
	pages := pageServer(t, map[string]string{
		"endpoint":        ev.e.URL(),
		"region":          ev.e.Region(),
		"accessKeyId":     c.AccessKeyID,
		"secretAccessKey": c.SecretAccessKey,
		"channelName":     "from-the-browser",
	})
	res := browse(t, ev.home, pages.URL+"/static/controlplane.html", "controlplane.png", 20*time.Second)

	type endpoint struct{ Protocol, ResourceEndpoint string }
	var out struct {
		Create   struct{ ChannelARN string }
		Describe struct {
			ChannelInfo struct {
				ChannelARN, ChannelName, ChannelStatus, ChannelType string
			}
		}
		List struct {
			ChannelInfoList []struct{ ChannelARN, ChannelName string }
		}
		Endpoints map[string]struct{ ResourceEndpointList []endpoint }
		ICE       struct {
			IceServerList []struct {
				Uris               []string
				Username, Password string
				Ttl                int
			}
		}
		Missing struct {
			Name           string
			HTTPStatusCode int `json:"httpStatusCode"`
			Fault          string
		}
	}
	if err := json.Unmarshal(res.Result, &out); err != nil {
		t.Fatalf("page result %s: %v", res.Result, err)
	}

	arn, err := channel.ParseARN(out.Create.ChannelARN)
	if err != nil || arn.Name != "from-the-browser" || arn.Region != ev.e.Region() {
		t.Errorf("CreateSignalingChannel ARN %q (%v): want channel/from-the-browser in %s", out.Create.ChannelARN, err, ev.e.Region())
	}
	if d := out.Describe.ChannelInfo; d.ChannelARN != out.Create.ChannelARN || d.ChannelStatus != "ACTIVE" || d.ChannelType != "SINGLE_MASTER" {
		t.Errorf("DescribeSignalingChannel = %+v, want the created channel, ACTIVE, SINGLE_MASTER", d)
	}
	var names []string
	for _, c := range out.List.ChannelInfoList {
		names = append(names, c.ChannelName)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"from-the-browser", "setup"}) {
		t.Errorf("ListSignalingChannels names = %v, want [from-the-browser setup]", names)
	}
	host := strings.TrimPrefix(ev.e.URL(), "https://")
	for role, prefix := range map[string]string{"MASTER": "m-", "VIEWER": "v-"} {
		got := map[string]string{}
		for _, e := range out.Endpoints[role].ResourceEndpointList {
			got[e.Protocol] = e.ResourceEndpoint
		}
		wss, err := url.Parse(got["WSS"])
		if err != nil || wss.Scheme != "wss" || wss.Host != host || !strings.HasPrefix(wss.Path, "/"+prefix) {
			t.Errorf("%s WSS endpoint %q: want wss://%s/%s…", role, got["WSS"], host, prefix)
		}
		if !strings.HasPrefix(got["HTTPS"], "https://"+host+"/") {
			t.Errorf("%s HTTPS endpoint %q: want https://%s/…", role, got["HTTPS"], host)
		}
	}
	if n := len(out.ICE.IceServerList); n < 1 || n > 5 {
		t.Fatalf("GetIceServerConfig returned %d servers, want 1-5", n)
	}
	user := regexp.MustCompile(`^\d+:.+`)
	for i, s := range out.ICE.IceServerList {
		if s.Ttl != 300 || !user.MatchString(s.Username) || s.Password == "" || len(s.Uris) == 0 || len(s.Uris) > 4 {
			t.Errorf("ICE server %d: ttl %d, username %q, %d uris: want ttl 300, <expiry>:<id>, a password, 1-4 uris", i, s.Ttl, s.Username, len(s.Uris))
		}
		for _, u := range s.Uris {
			// Two distinct TURN servers, as the service returns (§13): the
			// emulator's are on 127.0.0.1 and 127.0.0.2.
			if !regexp.MustCompile(`^turns?:127\.0\.0\.[12]:\d+\?transport=(udp|tcp)$`).MatchString(u) {
				t.Errorf("ICE server %d uri %q: want turn(s):127.0.0.1|2:port?transport=udp|tcp", i, u)
			}
		}
	}
	if m := out.Missing; m.Name != "ResourceNotFoundException" || m.HTTPStatusCode != 404 || m.Fault != "client" {
		t.Errorf("describe of a missing channel threw %+v, want ResourceNotFoundException 404 client", m)
	}

	// The emulator counted the browser's calls, and kvsrtc sees its channel.
	for _, op := range []string{"CreateSignalingChannel", "ListSignalingChannels", "GetIceServerConfig"} {
		if ev.e.Requests(op) < 1 {
			t.Errorf("emulator saw no %s", op)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var desc struct {
		ChannelARN string `json:"channelArn"`
	}
	if err := json.Unmarshal(runKvsrtc(t, ctx, ev.e, "channel", "describe", "--channel-name", "from-the-browser", "--json"), &desc); err != nil {
		t.Fatal(err)
	}
	if desc.ChannelARN != out.Create.ChannelARN {
		t.Errorf("kvsrtc channel describe ARN %q, want the browser's %q", desc.ChannelARN, out.Create.ChannelARN)
	}
}

// TestCATrust shows how Chromium trusts the emulator: through the CA in the
// profile's NSS database, with certificate checks on. The same page with a
// HOME that lacks the CA cannot reach the emulator.
func TestCATrust(t *testing.T) {
	ev := newEnv(t, "trust")
	pages := pageServer(t, map[string]string{"endpoint": ev.e.URL()})
	type reach struct {
		Reached bool
		Status  int
		Error   string
	}
	for _, tc := range []struct {
		name string
		home string
		want bool
	}{
		{"CA in NSS db", ev.home, true},
		{"no CA", t.TempDir(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := browse(t, tc.home, pages.URL+"/static/fetch.html", "tls-"+strings.ReplaceAll(tc.name, " ", "-")+".png", 15*time.Second)
			var r reach
			if err := json.Unmarshal(res.Result, &r); err != nil {
				t.Fatal(err)
			}
			if r.Reached != tc.want {
				t.Fatalf("reached the emulator = %v (%+v), want %v; console: %v", r.Reached, r, tc.want, res.Console)
			}
			if tc.want && r.Status != 403 {
				t.Errorf("unsigned request got HTTP %d, want 403 from the emulator", r.Status)
			}
			if !tc.want && !slices.ContainsFunc(res.Console, func(s string) bool { return strings.Contains(s, "ERR_CERT_AUTHORITY_INVALID") }) {
				t.Errorf("want net::ERR_CERT_AUTHORITY_INVALID in the console, got %v", res.Console)
			}
		})
	}
}
