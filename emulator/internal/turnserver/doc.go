// Package turnserver is the STUN/TURN server of the KVS emulator, built on
// pion/turn v5.
//
// Use Start to listen on a loopback IP over UDP, TCP (unless
// Options.DisableTCP) and TLS (when Options.TLSConfig is set), on the ports
// of Options.UDPPort/TCPPort/TLSPort or ports the OS picks, which UDPAddr,
// TCPAddr and TLSAddr report so the emulator can build the URIs that
// GetIceServerConfig returns (turn:…?transport=udp, turns:…?transport=udp,
// turns:…?transport=tcp). Options.ExtraUDP adds UDP listeners on other
// addresses (the STUN host name's). Every listener answers STUN binding
// requests. Relays are UDP sockets on the IP. OpenConns counts the TCP/TLS
// client connections held open.
//
// Use Server.Credentials to mint the username and password that
// GetIceServerConfig hands out. They follow the TURN REST API form the real
// service uses (spec §3.1, §13): username "<unix expiry>:<base64 user id>",
// password base64(HMAC-SHA256(secret, username)). The server keeps no
// per-user state: it recomputes the password from the username. Server.Verify
// runs the same check outside TURN.
//
// Options.Now is the clock for minting and checking expiry, so tests can
// move time instead of sleeping. Allocations and AuthFailures count events
// for tests. Close stops everything and waits for it.
//
// # Files
//
//   - options.go: Options and defaults
//   - server.go: Start, Server, accessors, counters, Close, authentication
//   - credentials.go: Credentials, Verify, username parsing
//   - relay.go: the relay address generator (UDP relays on the server IP)
//   - track.go: socket wrappers that let Close wait for pion's goroutines
//     (and run the TLS handshake, so a failed one closes its connection)
//   - dtls.go: the UDP listeners answer DTLS handshakes with a fatal alert
//   - log.go: pion logging onto log/slog
//
// # Caveats
//
// Expiry is enforced on Allocate only; Refresh, CreatePermission and
// ChannelBind of an existing allocation accept the allocation's credentials
// after they expire, so sessions outlive the 300 s credential lifetime as
// they do with the real service. A wrong password is refused on every
// request.
//
// TURN over DTLS ("turns:…?transport=udp") is not served: the UDP listeners
// answer a DTLS ClientHello with a fatal alert, so clients that try it
// (pion/ice) fail fast and use their other URIs (dtls.go).
//
// TCP relay allocations (RFC 6062) are refused: WebRTC clients ask for UDP
// relays over every client transport.
//
// pion's own Server.Close neither closes accepted TCP connections nor waits
// for its goroutines. This package wraps every socket it gives pion, closes
// them all and waits until no pion goroutine is blocked in one; the few
// instructions of cleanup pion runs after its last read may finish just after
// Close returns.
//
// Passwords and the secret never appear in logs or errors. Usernames do
// (they carry only an expiry and the base64 user id).
package turnserver
