package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/stun/v4"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// netnsEnv marks a test binary re-executed inside its own network and
// mount namespaces.
const netnsEnv = "KVSRTC_EMULATOR_NETNS"

// inNamespace re-executes the test binary for test name under `unshare
// --net --mount` (loopback only, a private /etc/hosts, port 443 free) and
// reports whether the caller is that child. The parent fails the test with
// the child's output when the child fails.
func inNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v: %s", err, out)
		}
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare not found: install util-linux (this test runs in its own network namespace)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--net", "--mount", "--", os.Args[0],
		"-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its namespace (unshare --net --mount, needs root or CAP_SYS_ADMIN): %v\n%s", t.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s did not pass in the namespace:\n%s", t.Name(), out)
	}
	return false
}

// mountHosts bind-mounts a hosts file with line over /etc/hosts (the mount
// namespace is the child's own: it ends with the process).
func mountHosts(t *testing.T, line string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(p, []byte("127.0.0.1 localhost\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", p, "/etc/hosts").CombinedOutput(); err != nil {
		t.Fatalf("mount --bind %s /etc/hosts: %v: %s", p, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "/etc/hosts").Run() })
}

// TestServiceShapedCSDK runs a client that behaves as the C SDK samples
// (csdkclient_test.go: no endpoint override, port 443 always, the host
// ends at ':', its own signed-header set, only AWS_KVS_CACERT_PATH
// trusted, the STUN URL built from the region) against the service-shaped
// mode, with the hosts-file line the emulator prints: Describe (404) →
// Create → Describe → GetSignalingChannelEndpoint → GetIceServerConfig →
// WSS connect as master and as viewer (the offer relayed), then STUN at
// stun.kinesisvideo.<region>.<suffix>:443 and
// TURN allocations on both servers over UDP and TLS, all on port 443.
func TestServiceShapedCSDK(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	regions := []string{"us-west-2", "cn-north-1"}
	// One hosts file for both: Go's resolver caches /etc/hosts for 5 s.
	var lines []string
	for _, r := range regions {
		lines = append(lines, hostsLine(r))
	}
	mountHosts(t, strings.Join(lines, "\n"))
	for _, region := range regions {
		t.Run(region, func(t *testing.T) { serviceShapedCSDK(t, region) })
	}
	t.Run("listen-any", serviceShapedListenAny)
}

// serviceShapedListenAny: with the HTTPS listener on 0.0.0.0:443 the TURN
// servers cannot have TCP 443 too; they start with TLS on other ports, and
// the STUN host answers.
func serviceShapedListenAny(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{Listen: "0.0.0.0:443"})
	if e.URL() != "https://127.0.0.1" || e.HostsLine() != hostsLine("us-west-2") {
		t.Errorf("URL %s, hosts line %q", e.URL(), e.HostsLine())
	}
	arn := createChannel(t, newClient(e), "any")
	for _, s := range getIceServers(t, e, arn) {
		if err := allocateStream(t, e, s.Uris[2], s.Username, s.Password); err != nil {
			t.Errorf("TLS allocation at %s: %v", s.Uris[2], err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stunBinding(ctx, "stun.kinesisvideo.us-west-2.amazonaws.com:443"); err != nil {
		t.Errorf("STUN: %v", err)
	}
}

// hostsLine is the line the service-shaped mode must print for region.
func hostsLine(region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix += ".cn"
	}
	return fmt.Sprintf("127.0.0.1 kinesisvideo.%s.%s stun.kinesisvideo.%[1]s.%[2]s", region, suffix)
}

func serviceShapedCSDK(t *testing.T, region string) {
	e := emulatortest.Start(t, emulator.Options{ServicePorts: true, Region: region})
	if e.URL() != "https://127.0.0.1" {
		t.Errorf("URL %s, want https://127.0.0.1 (no default port)", e.URL())
	}
	if want := hostsLine(region); e.HostsLine() != want {
		t.Fatalf("HostsLine %q, want %q", e.HostsLine(), want)
	}
	env := emulator.ParseEnvFile([]byte(strings.Join(e.Env(), "\n")))
	if env["AWS_DEFAULT_REGION"] != region || env["AWS_KVS_CACERT_PATH"] == "" {
		t.Fatalf("env for the C SDK: AWS_DEFAULT_REGION %q, AWS_KVS_CACERT_PATH %q", env["AWS_DEFAULT_REGION"], env["AWS_KVS_CACERT_PATH"])
	}
	c, err := newCSDKClient(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Describe → 404 → Create → Describe, as the sample master does.
	type describeOut struct{ ChannelInfo struct{ ChannelARN string } }
	var d describeOut
	if status, err := c.post(ctx, c.controlPlane(), "/describeSignalingChannel", map[string]string{"ChannelName": "csdk"}, &d); status != 404 {
		t.Fatalf("Describe of a new channel: %d %v, want 404", status, err)
	}
	var created struct{ ChannelARN string }
	if _, err := c.post(ctx, c.controlPlane(), "/createSignalingChannel", map[string]any{"ChannelName": "csdk", "ChannelType": "SINGLE_MASTER"}, &created); err != nil {
		t.Fatal(err)
	}
	if _, err := c.post(ctx, c.controlPlane(), "/describeSignalingChannel", map[string]string{"ChannelName": "csdk"}, &d); err != nil || d.ChannelInfo.ChannelARN != created.ChannelARN {
		t.Fatalf("Describe: %v, ARN %q want %q", err, d.ChannelInfo.ChannelARN, created.ChannelARN)
	}
	arn := d.ChannelInfo.ChannelARN

	var eps struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	in := map[string]any{"ChannelARN": arn, "SingleMasterChannelEndpointConfiguration": map[string]any{"Protocols": []string{"WSS", "HTTPS"}, "Role": "MASTER"}}
	if _, err := c.post(ctx, c.controlPlane(), "/getSignalingChannelEndpoint", in, &eps); err != nil {
		t.Fatal(err)
	}
	byProto := map[string]string{}
	for _, ep := range eps.ResourceEndpointList {
		if u, err := url.Parse(ep.ResourceEndpoint); err != nil || u.Port() != "" {
			t.Errorf("endpoint %s carries a port: the C SDK fails on it", ep.ResourceEndpoint)
		}
		byProto[ep.Protocol] = ep.ResourceEndpoint
	}

	var ice struct{ IceServerList []iceServer }
	if _, err := c.post(ctx, byProto["HTTPS"], "/v1/get-ice-server-config", map[string]string{"ChannelARN": arn, "ClientId": "ProducerMaster", "Service": "TURN"}, &ice); err != nil {
		t.Fatalf("GetIceServerConfig: %v", err)
	}
	hosts := map[string]bool{}
	for _, s := range ice.IceServerList {
		for _, u := range s.Uris {
			m := reTURNURI.FindStringSubmatch(u)
			if m == nil || m[3] != "443" {
				t.Errorf("TURN URI %s: want turn[s]:ip:443?transport=…, as the service's", u)
				continue
			}
			hosts[m[2]] = true
		}
		if len(s.Uris) != 3 {
			t.Errorf("server URIs %v: want 3", s.Uris)
			continue
		}
		if err := allocate(t, s.Uris[0], s.Username, s.Password); err != nil {
			t.Errorf("UDP allocation at %s: %v", s.Uris[0], err)
		}
		if err := allocateStream(t, e, s.Uris[2], s.Username, s.Password); err != nil {
			t.Errorf("TLS allocation at %s: %v", s.Uris[2], err)
		}
	}
	if len(ice.IceServerList) != 2 || len(hosts) != 2 {
		t.Errorf("%d ICE servers on hosts %v: want 2 distinct", len(ice.IceServerList), hosts)
	}

	u, err := c.presign(byProto["WSS"], url.Values{"X-Amz-ChannelARN": {arn}})
	if err != nil {
		t.Fatal(err)
	}
	master, err := c.dialWSS(ctx, u)
	if err != nil {
		t.Fatalf("WSS connect as master: %v", err)
	}
	defer master.CloseNow()

	// A viewer, as the sample viewer: its own endpoint, X-Amz-ClientId;
	// its offer reaches the master.
	in["SingleMasterChannelEndpointConfiguration"] = map[string]any{"Protocols": []string{"WSS", "HTTPS"}, "Role": "VIEWER"}
	if _, err := c.post(ctx, c.controlPlane(), "/getSignalingChannelEndpoint", in, &eps); err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps.ResourceEndpointList {
		byProto[ep.Protocol] = ep.ResourceEndpoint
	}
	vu, err := c.presign(byProto["WSS"], url.Values{"X-Amz-ChannelARN": {arn}, "X-Amz-ClientId": {"ConsumerViewer"}})
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := c.dialWSS(ctx, vu)
	if err != nil {
		t.Fatalf("WSS connect as viewer: %v", err)
	}
	defer viewer.CloseNow()
	offer := `{"action":"SDP_OFFER","recipientClientId":"","messagePayload":"` + base64Of(`{"type":"offer","sdp":"v=0"}`) + `"}`
	if err := viewer.Write(ctx, websocket.MessageText, []byte(offer)); err != nil {
		t.Fatal(err)
	}
	if f := read(t, master); f.MessageType != "SDP_OFFER" || f.SenderClientID == nil || *f.SenderClientID != "ConsumerViewer" {
		t.Errorf("master got %+v, want the viewer's SDP_OFFER", f)
	}

	// The samples' own STUN URL (samples/Common.c KINESIS_VIDEO_STUN_URL).
	stunHost := "stun." + strings.TrimPrefix(c.controlPlane(), "https://")
	if err := stunBinding(ctx, net.JoinHostPort(stunHost, "443")); err != nil {
		t.Errorf("STUN at %s:443: %v", stunHost, err)
	}
}

// stunBinding sends one STUN binding request to addr and checks the
// XOR-MAPPED-ADDRESS of the answer.
func stunBinding(ctx context.Context, addr string) error {
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return err
	}
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	if _, err := conn.Write(req.Raw); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		return err
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(res); err != nil {
		return err
	}
	local := conn.LocalAddr().(*net.UDPAddr)
	if !xor.IP.Equal(local.IP) || xor.Port != local.Port {
		return errors.New("mapped address " + xor.String() + " is not the client's " + local.String())
	}
	return nil
}
