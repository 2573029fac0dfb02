// Package emulator is a local stand-in for the Amazon Kinesis Video Streams
// signaling service: the control plane (kinesisvideo, 2017-09-30), the data
// plane (GetIceServerConfig and SendAlexaOfferToMaster, 2019-12-04), the
// WSS relay (ConnectAsMaster / ConnectAsViewer) and a STUN/TURN server, all
// over TLS with SigV4 checked for real. Unmodified AWS SDKs work against it.
//
// Use [Start] to run one in-process; it returns once it serves, and stops
// with its context or [Emulator.Close]. In a test, emulatortest.Start does
// the same and stops it with the test; emulatortest.Config gives an
// aws.Config that reaches it. `kvsrtc emulator` runs one as a process.
//
// [Emulator.URL] is the control-plane endpoint (AWS_ENDPOINT_URL_KINESIS_VIDEO),
// [Emulator.CABundlePath] the PEM of its CA (AWS_CA_BUNDLE),
// [Emulator.Credential] the key pair it accepts by default ([DevCredential]),
// and [Emulator.Env] all of them as environment lines. GetSignalingChannelEndpoint
// hands out resource endpoints on the same listener, told apart by path:
// https://HOST/r-<id> (data plane), wss://HOST/m-<id> (master) and
// wss://HOST/v-<id> (viewer); HOST carries no port when it is 443.
//
// GetIceServerConfig returns two TURN servers on distinct addresses, as the
// service does: turn:…?transport=udp, turns:…?transport=udp (listed, not
// served: a DTLS ClientHello gets a fatal alert) and turns:…?transport=tcp
// each; plain TCP only with [Options.TURNPlainTCP]. [Emulator.STUNURL] is
// the STUN server.
//
// [Options.ServicePorts] is the service-shaped mode for clients that build
// the service's host names themselves (the C SDK samples): HTTPS on
// 127.0.0.1:443, STUN on UDP 443 there, the TURN servers on 127.0.0.2 and
// 127.0.0.3 port 443, and [Emulator.HostsLine] the /etc/hosts line that
// sends kinesisvideo.<region>.<suffix> and its STUN name to it.
//
// [Options] choose the region (cn-* regions are in the aws-cn partition),
// the data dir that keeps channels, the CA and the TURN secret across
// restarts, extra credentials with the actions each may perform, a shifted
// clock for clock-skew tests ([Options.ClockOffset], [Options.Clock]), the
// TURN credentials' lifetime and the signaling quotas ([Limits]).
//
// Tests can drive what the service does on its own: [Emulator.GoAway],
// [Emulator.ReconnectICEServer], [Emulator.DropConnections]; and observe it:
// [Emulator.Requests] counts calls per operation, [Emulator.Connections]
// says who is connected to a channel, [Emulator.TURN] counts relay
// allocations. Wait for clients instead of sleeping: [Emulator.WaitConnected]
// returns once a master (or a viewer, by client id) is connected,
// [Emulator.WaitReconnected] once a newer connection replaced one after a
// fault, and [Options.OnConnection] is told of every [ConnectionEvent].
//
// # Faults, latency and limits
//
// [Emulator.Inject] injects a [Fault]: rules that drop, delay, duplicate or
// reorder relayed frames (per channel, [Direction], action, probability,
// count) or refuse the next connects or REST calls with a chosen error, and
// one-off faults (GO_AWAY, close 1001, RECONNECT_ICE_SERVER, expire TURN
// credentials, move the clock, kill a client). [ParseFault] reads the same
// faults in text ([FaultSyntax]), as `kvsrtc emulator --fault` and the
// admin HTTP API ([AdminPath], [Emulator.AdminToken]) take them. Every
// injection and every action of a rule is a [FaultEvent], told to
// [Options.OnFault] and kept by [Emulator.Faults].
//
// [Options.Latency], [Options.Jitter] and [Options.Loss] put every client
// that far from the emulator (HTTPS and WSS bytes including TLS handshakes,
// but not TCP's; STUN/TURN packets, relayed media included);
// [Emulator.LatencyStats] counts what was delayed.
//
// [Limits] also bound the emulator's own resources: idle keep-alive and
// TURN TCP/TLS connections, TLS handshakes, connections in total and per
// source IP, and the frames the relay reads per connection and per channel
// (so one flooding channel cannot slow the others).
//
// WebRTC ingestion: streams (CreateStream, DescribeStream, ListStreams,
// DeleteStream), media storage, the WEBRTC endpoint and the storage
// service (JoinStorageSession, JoinStorageSessionAsViewer) with a pion media
// peer that records what a master sends as Matroska fragments under the
// data dir ([StorageOptions]). Faults: [Emulator.DropStorageOffers],
// [Emulator.EndStorageSession]; state: [Emulator.StorageSessions];
// stored media: [Emulator.StoredMedia], [ListStoredMedia], [StoredStream.Export].
// Stored media is read back as from the service: GetDataEndpoint gives a
// stream's data endpoint (/s-<id>), which serves GetMedia (the service's MKV
// chunks with the AWS_KINESISVIDEO_* tags, live from NOW), GetClip (an MP4
// the emulator writes itself), ListFragments and GetMediaForFragmentList
// ([MediaOptions]).
//
// [Emulator.Close] stops within a one-second deadline; [Emulator.Shutdown]
// drains within its context (REST requests finish, WSS clients get GO_AWAY
// and a 1001 close).
//
// # Fidelity
//
// Shapes, status codes, error types and headers follow the service as the
// project's protocol study describes it (spec §8 is the checklist). Where
// the service's behaviour is unconfirmed the emulator picks one and the
// README lists the choices. The emulator imports none of kvsrtc's client
// packages, so it cannot agree with them by accident.
package emulator
