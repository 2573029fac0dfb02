package emulator_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

var reTURNURI = regexp.MustCompile(`^(turns?):([0-9.]+):(\d+)\?transport=(udp|tcp)$`)

// TestIceServerShape: GetIceServerConfig answers as the service (§13): two
// servers on distinct addresses, each with turn:…?transport=udp,
// turns:…?transport=udp and turns:…?transport=tcp on its own host; plain
// TCP only with TURNPlainTCP; and every advertised TURN transport
// allocates, TLS with the emulator's CA.
func TestIceServerShape(t *testing.T) {
	tests := []struct {
		name     string
		opts     emulator.Options
		want     []string // scheme/transport of each URI, in order
		wantTLS  bool
		plainTCP bool
	}{
		{"default", emulator.Options{}, []string{"turn/udp", "turns/udp", "turns/tcp"}, true, false},
		{"plain-tcp", emulator.Options{TURNPlainTCP: true}, []string{"turn/udp", "turns/udp", "turns/tcp", "turn/tcp"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := emulatortest.Start(t, tt.opts)
			arn := createChannel(t, newClient(e), "shape")
			servers := getIceServers(t, e, arn)
			if len(servers) != 2 {
				t.Fatalf("%d ICE servers, want 2 (§13)", len(servers))
			}
			hosts := map[string]bool{}
			for i, s := range servers {
				var got []string
				host := ""
				for _, u := range s.Uris {
					m := reTURNURI.FindStringSubmatch(u)
					if m == nil {
						t.Fatalf("server %d: URI %q is not turn[s]:ip:port?transport=udp|tcp", i, u)
					}
					got = append(got, m[1]+"/"+m[4])
					if host != "" && m[2] != host {
						t.Errorf("server %d mixes hosts %s and %s", i, host, m[2])
					}
					host = m[2]
				}
				if strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Fatalf("server %d URIs %v, want the forms %v", i, s.Uris, tt.want)
				}
				if udp, dtls := portOfURI(s.Uris[0]), portOfURI(s.Uris[1]); udp != dtls {
					t.Errorf("server %d: turns:…udp on port %s, turn:…udp on %s: want the same port, as the service", i, dtls, udp)
				}
				hosts[host] = true
				if err := allocate(t, s.Uris[0], s.Username, s.Password); err != nil {
					t.Errorf("server %d: UDP allocation at %s: %v", i, s.Uris[0], err)
				}
				if err := allocateStream(t, e, s.Uris[2], s.Username, s.Password); err != nil {
					t.Errorf("server %d: TLS allocation at %s: %v", i, s.Uris[2], err)
				}
				if tt.plainTCP {
					if err := allocateStream(t, e, s.Uris[3], s.Username, s.Password); err != nil {
						t.Errorf("server %d: TCP allocation at %s: %v", i, s.Uris[3], err)
					}
				}
			}
			if len(hosts) != 2 {
				t.Errorf("ICE servers share a host (%v): want two distinct servers, or every relay is allocated twice", hosts)
			}
		})
	}
}

func portOfURI(u string) string { return reTURNURI.FindStringSubmatch(u)[3] }

// allocateStream makes a TURN allocation over a turns:…?transport=tcp
// (trusting only the emulator's CA, with the URI's IP as server name, as
// pion/ice does) or turn:…?transport=tcp URI.
func allocateStream(t *testing.T, e *emulator.Emulator, uri, user, pass string) error {
	t.Helper()
	m := reTURNURI.FindStringSubmatch(uri)
	addr := net.JoinHostPort(m[2], m[3])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if m[1] == "turns" {
		tc := tls.Client(c, &tls.Config{RootCAs: e.CertPool(), ServerName: m[2], MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return err
		}
		c = tc
	}
	conn := turn.NewSTUNConn(c)
	defer conn.Close()
	client, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, LoggerFactory: quietLogger()})
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		return err
	}
	relay, err := client.AllocateWithContext(ctx)
	if err != nil {
		return err
	}
	return relay.Close()
}

// TestPionGathersServiceShapedICE: a pion peer given every URI the
// emulator returns, turns:…?transport=udp (DTLS) included, completes
// gathering with a UDP relay on each of the two servers: the DTLS URI fails
// fast (turnserver dtls.go) instead of holding gathering open.
func TestPionGathersServiceShapedICE(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := createChannel(t, newClient(e), "gather")
	seen := gatherRelays(t, getIceServers(t, e, arn))
	if !seen["127.0.0.1"] || !seen["127.0.0.2"] {
		t.Errorf("relay candidates on %v, want one on each server (127.0.0.1, 127.0.0.2)", seen)
	}
}

// TestTURNTLSNoFDLeak is issue 11's scenario: peers that gather over every
// URI (pion's TURN TLS client refuses the emulator's private CA, as it did
// on every turns: allocation) and close leave the emulator's fd count where
// it was; the TURN TLS listener used to keep each refused connection in
// CLOSE-WAIT (fds 26 → 824 over 200 viewers).
func TestTURNTLSNoFDLeak(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := createChannel(t, newClient(e), "leak")
	servers := getIceServers(t, e, arn)
	gatherRelays(t, servers) // warm up: pion's and the runtime's own fds
	before := countFDs(t)
	const peers = 10
	for range peers {
		gatherRelays(t, servers)
	}
	deadline := time.Now().Add(10 * time.Second)
	for countFDs(t) > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fds open after %d peers gathered and closed, %d before", countFDs(t), peers, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count fds: %v", err)
	}
	return len(ents)
}

// gatherRelays runs one pion peer's complete gathering with servers and
// returns the IPs of its relay candidates. It fails the test when
// gathering does not complete in 20 s.
func gatherRelays(t *testing.T, servers []iceServer) map[string]bool {
	t.Helper()
	var cfg webrtc.Configuration
	for _, s := range servers {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: s.Uris, Username: s.Username, Credential: s.Password})
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = quietLogger()
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	relays := make(chan string, 16)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && c.Typ == webrtc.ICECandidateTypeRelay {
			relays <- c.Address
		}
	})
	done := webrtc.GatheringCompletePromise(pc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("gathering did not complete in 20 s: a TURN URI holds it open")
	}
	seen := map[string]bool{}
	for len(relays) > 0 {
		a := <-relays
		if ip, err := netip.ParseAddr(a); err == nil {
			seen[ip.String()] = true
		}
	}
	return seen
}

// quietLogger keeps pion's logs out of the test output.
func quietLogger() *logging.DefaultLoggerFactory {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	return lf
}
