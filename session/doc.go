// Package session is a KVS WebRTC master and viewer on pion/webrtc v4: from
// a channel ARN to media flowing, with a timeline of every step.
//
// Use NewMaster to send video (H.264 or VP8) and audio (Opus) from
// media.Sources to every viewer that sends an offer, each on its own
// PeerConnection. Each frame is packetized once however many viewers there
// are, and a viewer that joins mid-stream starts at the latest keyframe
// (the Source's GOP cache). Use NewViewer to connect to a master, receive
// its media (OnFrame, and a WebM/Matroska recording with
// ViewerOptions.Record) and exchange data-channel messages (SendText,
// Options.OnMessage).
//
// Both take Options: the channel ARN, a resolve.Resolver (endpoints and ICE
// servers, cached, signed with the service's clock) and credentials for the
// WSS URL. Run does the work until its context ends; Close stops it and
// waits for every goroutine.
//
// # Connection setup
//
// Run resolves the endpoints, then fetches the ICE servers and opens the
// signaling WebSocket side by side; a viewer builds its PeerConnection and
// offer while the socket opens. ICE candidates are trickled by default
// (Options.NoTrickle sends complete SDP); remote candidates that arrive
// before the offer or answer are buffered and applied after it, and a master
// keeps candidates that precede a viewer's offer. ForceTURN uses relay
// candidates only; RelayTransport keeps the TURN URIs of one transport. ICE
// servers are fetched again when their Ttl ends and on RECONNECT_ICE_SERVER
// (for connections made after that), and a master whose servers expired
// (by the resolver's clock, resolve.Options.Now) fetches them before it
// answers a viewer. Throttled WSS connects are retried.
//
// # Timeline and stats
//
// A Timeline records each step (credentials, describe, getEndpoint,
// getIceConfig, connect, peerConnection, offer, answer, iceConnected,
// dtlsConnected, first video and audio frame) as an interval in
// milliseconds since its start, named after the C SDK's metric where there
// is one. A master has its own timeline and one per viewer
// (Master.Peers). Viewer.Stats and Master.Stats give counters: frames,
// bytes, packets lost, jitter and RTT from pion's statistics, and the
// signaling client's counters.
//
// # Caveats
//
//   - Frames are rebuilt from RTP by the marker bit, without a jitter
//     buffer: a lost or reordered packet drops its frame and, for video,
//     the frames up to the next keyframe (a retransmission that arrives
//     late is not used).
//   - The service allows 5 SDP and 20 ICE messages a second per
//     connection: a master answering a burst of viewers may have answers
//     (ErrNoAnswer on the viewer) or candidates (ICE then takes about a
//     second longer) dropped.
//   - turns: (TLS) relays use the system's roots; pion cannot be given an
//     emulator's private CA, so --relay-transport tls works against AWS
//     only.
//   - Tests must keep ICE on loopback through Options.SettingEngine
//     (SetIncludeLoopbackCandidate, SetIPFilter, mDNS off).
package session
