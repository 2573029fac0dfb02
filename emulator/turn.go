package emulator

import (
	"net/netip"

	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
)

// TURNServer is a read-only view of the emulator's STUN/TURN server: its
// listeners and counters, for tests that check a relay was used.
type TURNServer struct{ s *turnserver.Server }

// TURN returns the first of the emulator's two TURN servers, the one that
// also answers STUN (STUNURL); GetIceServerConfig lists both (turnservers.go).
func (e *Emulator) TURN() TURNServer { return TURNServer{e.turn} }

// UDPAddr is the STUN/TURN UDP listener ("turn:host:port?transport=udp").
func (t TURNServer) UDPAddr() netip.AddrPort { return t.s.UDPAddr() }

// TCPAddr is the TURN TCP listener ("turn:host:port?transport=tcp").
func (t TURNServer) TCPAddr() netip.AddrPort { return t.s.TCPAddr() }

// TLSAddr is the TURN-over-TLS listener ("turns:host:port?transport=tcp");
// invalid (IsValid false) in plain-HTTP mode.
func (t TURNServer) TLSAddr() netip.AddrPort { return t.s.TLSAddr() }

// Realm is the TURN realm the server announces.
func (t TURNServer) Realm() string { return t.s.Realm() }

// Allocations counts successful TURN allocations since Start, over every
// transport.
func (t TURNServer) Allocations() int64 { return t.s.Allocations() }

// AuthFailures counts rejected authenticated TURN requests since Start
// (malformed or expired usernames, wrong realm or password).
func (t TURNServer) AuthFailures() int64 { return t.s.AuthFailures() }
