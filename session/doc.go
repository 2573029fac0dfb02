// Package session is a KVS WebRTC master and viewer on pion/webrtc v4: from
// a channel ARN to media flowing, with a timeline of every step.
//
// # What to call first
//
// Make a resolve.Resolver on your aws.Config (creds.Load builds one from the
// AWS chain, a credentials URL or an IoT certificate), then fill Options:
// the channel ARN, the Resolver and the credentials that sign the WSS URL.
//
//   - NewMaster answers every viewer that sends an offer, each on its own
//     PeerConnection. Its media is media.Sources (MasterOptions.Video and
//     Audio: H.264 or VP8 and Opus, each frame packetized once for all
//     viewers, a late viewer starting at the latest keyframe) and/or your
//     own pion tracks (MasterOptions.Tracks, one set shared by all viewers,
//     or MasterOptions.NewTracks per viewer): any webrtc.TrackLocal, such
//     as a TrackLocalStaticSample your encoder writes to.
//   - NewViewer connects to the master, receives its media (OnFrame with
//     whole frames, a WebM/Matroska recording with ViewerOptions.Record)
//     and exchanges data-channel messages.
//
// Run does the work until its context ends; Ready is closed once a master
// answers viewers or a viewer's connection is up. Close stops at once and
// waits for every goroutine; Shutdown(ctx) stops gracefully (recording
// finished, signaling closed with a handshake) within ctx.
//
// To test code built on this package, session/sessiontest wires Options to
// an emulator (emulator/emulatortest) in one call.
//
// # pion's hooks
//
// pion's own three (webrtc.NewAPI's WithMediaEngine, WithInterceptorRegistry
// and WithSettingEngine) are open:
//
//   - Options.ConfigureAPI edits the MediaEngine and interceptor.Registry,
//     which come with pion's default codecs and interceptors: add TWCC,
//     bandwidth estimation, header extensions, your own RTCP.
//   - Options.SettingEngine edits the SettingEngine (network types, IP
//     filters, ICE timeouts, ports).
//   - Options.OnPeerConnection gets each *webrtc.PeerConnection once the
//     session has set it up, before any description is applied. The session
//     owns the handlers it set; use its events instead of replacing them.
//
// An H.264 Source is offered with the profile-level-id of its SPS
// (media.ProfileLevelID), or MasterOptions.H264ProfileLevelID. ICEServers
// converts resolved ICE servers to []webrtc.ICEServer for a PeerConnection
// of your own.
//
// # Events
//
// Options.Events are callbacks with pion's names: OnSignalingStateChange
// (the WSS connection: Connecting, Connected, Reconnecting, Closed),
// OnConnectionStateChange and OnICEConnectionStateChange per viewer's
// client id, OnDataChannelOpen. Options.OnMessage receives data-channel
// messages; DataMessage.Reply and ReplyText answer the peer that sent one.
// A master sends to one viewer with SendTo (binary) and SendTextTo, to all
// with Send and SendText; a viewer with Send and SendText. MasterOptions.OnPeer
// reports viewers joining and leaving with their timelines.
//
// # Errors
//
// Connection failures are typed: a *signaling.DialError names the channel
// and role and says what fixes it where that is known (an untrusted CA, a
// missing IAM action); a *PeerError carries the Phase that failed (answer,
// ICE, DTLS) and the candidate pairs ICE tried (CandidatePairs reads them
// for a live PeerConnection). errors.Is(err, ErrPeerFailed) holds for ICE
// and DTLS failures, errors.Is(err, ErrNoAnswer) for an unanswered offer.
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
// A relay candidate's first packet to a new peer address does not wait for
// the TURN server's CreatePermission answer (pion's relays send their
// checks on ICE's one loop, so each wait held every check): the permission
// is answered at once and the server's answer checked after it
// (turnperm.go; Options.WaitTURNPermissions keeps pion's waiting). TLS
// sessions with TURN servers are resumed across the process.
//
// # Recovery
//
// The signaling client reconnects by itself; Options.Logger gets a line when
// it drops, after each failed attempt and when it is back, and Run ends with
// ErrCredentials once the handshake was refused for the credentials for
// Options.CredentialsRetry (1 min). With ViewerOptions.Rejoin a Viewer
// offers again, with backoff (RejoinBackoff, OnRejoin), whenever its
// connection ends: the master left or restarted, ICE failed, no answer. A
// peer silent for ICEDisconnectedTimeout + ICEDeadTimeout (10 s) is ended,
// so a master frees a dead viewer's slot and a viewer notices a dead
// master. internal/soak exercises all of it against injected faults.
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
// # WebRTC ingestion
//
// MasterOptions.Storage makes a Master record into the channel's stream
// through the storage service instead of waiting for viewers: Run checks
// the media storage configuration first (resolve.ErrStorageNotReady says
// what to change), calls JoinStorageSession until the service's offer
// comes (StorageOptions.RetryInterval, 6 s), answers it, joins again before
// the session limit and at once when a session ends early. The steps come
// as StorageEvent values (StorageOptions.OnEvent, Master.StorageEvents).
// ViewerOptions.Storage makes a Viewer watch through the storage service
// (JoinStorageSessionAsViewer; the service offers).
//
// # Caveats
//
//   - A viewer rebuilds frames from RTP behind a small reorder buffer
//     (100 ms or 128 packets): late and NACK-resent packets complete their
//     frame; a packet still missing after that drops its frame and, for
//     video, the frames up to the next keyframe, so what OnFrame gets
//     always decodes.
//   - The service allows 5 SDP and 20 ICE messages a second per
//     connection: a master answering a burst of viewers may have answers
//     (ErrNoAnswer on the viewer) or candidates (ICE then takes about a
//     second longer) dropped.
//   - Tests must keep ICE on loopback through Options.SettingEngine
//     (emulatortest.Loopback, which sessiontest.Options sets).
package session
