package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

type iceServer struct {
	Password string
	Ttl      int
	Uris     []string
	Username string
}

func getIceServers(t *testing.T, e *emulator.Emulator, arn string) []iceServer {
	t.Helper()
	c := newClient(e)
	g, err := c.GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn})
	if err != nil {
		t.Fatal(err)
	}
	var https string
	for _, ep := range g.ResourceEndpointList {
		if ep.Protocol == "HTTPS" {
			https = aws.ToString(ep.ResourceEndpoint)
		}
	}
	path := strings.TrimPrefix(https, e.URL())
	status, _, body := signedPost(t, e, path+"/v1/get-ice-server-config", []byte(`{"ChannelARN":"`+arn+`","ClientId":"viewer-1"}`), nil)
	if status != 200 {
		t.Fatalf("GetIceServerConfig: %d %s", status, body)
	}
	if !bytes.HasPrefix(body, []byte(`{"IceServerList":[{"Password":`)) {
		t.Fatalf("IceServerList must come first and keys in the service's order (§3.1, §13): %s", body)
	}
	var out struct{ IceServerList []iceServer }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.IceServerList
}

// allocate makes a TURN allocation over UDP at the turn: URI's address.
func allocate(t *testing.T, uri, user, pass string) error {
	t.Helper()
	addr := strings.TrimPrefix(strings.SplitN(uri, "?", 2)[0], "turn:")
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	client, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, LoggerFactory: lf, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := client.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

func TestIceServersAndTURN(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := createChannel(t, newClient(e), "ice")
	servers := getIceServers(t, e, arn)
	if len(servers) != 2 {
		t.Fatalf("want 2 ICE servers (§13), got %d", len(servers))
	}
	for _, s := range servers {
		if s.Ttl != 300 || len(s.Uris) < 2 || len(s.Uris) > 4 || !strings.HasPrefix(s.Uris[0], "turn:127.0.0.") ||
			!strings.HasSuffix(s.Uris[0], "?transport=udp") || !strings.HasSuffix(s.Uris[2], "?transport=tcp") {
			t.Fatalf("ICE server shape: %+v", s)
		}
		exp, _, ok := strings.Cut(s.Username, ":")
		if !ok || len(exp) != 10 {
			t.Fatalf("username %q is not <expiry>:<base64>", s.Username)
		}
	}
	if err := allocate(t, servers[0].Uris[0], servers[0].Username, servers[0].Password); err != nil {
		t.Fatalf("allocation with the returned credentials: %v", err)
	}
	if err := allocate(t, servers[0].Uris[0], servers[0].Username, servers[0].Password+"x"); err == nil {
		t.Fatal("allocation with a wrong password succeeded")
	}
}

// Restart with the same data dir keeps channels, the CA, the listen port
// and the TURN secret; a clock past the Ttl makes the TURN credentials fail.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := emulator.Start(ctx, emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	arn := createChannel(t, newClient(a), "persistent")
	ice := getIceServers(t, a, arn)[0]
	ca, _ := os.ReadFile(a.CABundlePath())
	url := a.URL()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := emulatortest.Start(t, emulator.Options{DataDir: dir})
	d, err := newClient(b).DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("persistent")})
	if err != nil || aws.ToString(d.ChannelInfo.ChannelARN) != arn {
		t.Fatalf("channel after restart: %v %+v", err, d)
	}
	ca2, _ := os.ReadFile(b.CABundlePath())
	if !bytes.Equal(ca, ca2) || len(ca) == 0 {
		t.Fatal("the CA changed across a restart")
	}
	if b.URL() != url {
		t.Logf("listen port not reused (%s → %s): it was taken meanwhile", url, b.URL())
	}
	if err := allocate(t, b.TURN().UDPAddr().String(), ice.Username, ice.Password); err != nil {
		t.Fatalf("TURN credentials from before the restart: %v", err)
	}
	b.Close()

	c := emulatortest.Start(t, emulator.Options{DataDir: dir, ClockOffset: 301 * time.Second})
	if err := allocate(t, c.TURN().UDPAddr().String(), ice.Username, ice.Password); err == nil {
		t.Fatal("TURN credentials accepted after their Ttl")
	}
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	emulatortest.Start(t, emulator.Options{DataDir: dir})
	_, err := emulator.Start(context.Background(), emulator.Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second emulator on one data dir: %v", err)
	}
}
