package session_test

import (
	"reflect"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

func TestICEServers(t *testing.T) {
	cfg := resolve.ICEConfig{Servers: []resolve.ICEServer{
		{URLs: []string{"stun:stun.example:443"}},
		{URLs: []string{"turn:1.2.3.4:443?transport=udp", "turns:x.example:443?transport=udp", "turns:x.example:443?transport=tcp"}, Username: "u", Credential: "p"},
	}}
	tests := []struct {
		name string
		rt   session.RelayTransport
		want []webrtc.ICEServer
	}{
		// TURN over DTLS is never kept (keepURL): the C SDK skips it and pion
		// can verify it only against the system pool.
		{"any", session.RelayAny, []webrtc.ICEServer{{URLs: []string{"stun:stun.example:443"}},
			{URLs: []string{"turn:1.2.3.4:443?transport=udp", "turns:x.example:443?transport=tcp"}, Username: "u", Credential: "p"}}},
		{"udp", session.RelayUDP, []webrtc.ICEServer{{URLs: []string{"stun:stun.example:443"}},
			{URLs: []string{"turn:1.2.3.4:443?transport=udp"}, Username: "u", Credential: "p"}}},
		{"tls", session.RelayTLS, []webrtc.ICEServer{{URLs: []string{"stun:stun.example:443"}},
			{URLs: []string{"turns:x.example:443?transport=tcp"}, Username: "u", Credential: "p"}}},
		{"tcp: no plain TCP URI, the TURN server is left out", session.RelayTCP, []webrtc.ICEServer{{URLs: []string{"stun:stun.example:443"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := session.ICEServers(cfg, tt.rt); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ICEServers = %+v, want %+v", got, tt.want)
			}
		})
	}
}
