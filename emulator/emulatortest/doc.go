// Package emulatortest starts a KVS emulator for a test and wires clients
// to it: your own tests of code built on kvsrtc can use it too.
//
//   - [Start] runs an emulator on 127.0.0.1:0 and stops it through
//     t.Cleanup.
//   - [Channel] creates a signaling channel and returns its ARN
//     ([CreateChannel] for programs that are not tests).
//   - [Config] is an aws.Config that reaches the emulator (region,
//     BaseEndpoint, its credential, an HTTP client that trusts its CA);
//     [HTTPClient] is that client alone.
//   - [Loopback] is the pion SettingEngine hook that keeps ICE on
//     127.0.0.1, where the emulator's STUN and TURN listen.
//
// For sessions, session/sessiontest.Options puts all of it (and the
// emulator's STUN URL, without which the ICE list would name the real AWS
// STUN host) in session.Options in one call. To wait for clients without
// sleeping, use the emulator's connection events: Emulator.WaitConnected,
// Emulator.WaitReconnected after a fault (GoAway, DropConnections) and
// emulator.Options.OnConnection.
//
// The emulator and this package import none of kvsrtc's client packages
// (internal/archtest), which is why the session wiring lives in sessiontest.
package emulatortest
