// Package doctor checks every step of a KVS WebRTC session and says which
// would fail, how long each takes, and how to fix it: the failures users
// of the official SDKs report most (spec §12) made obvious in one run.
//
// Use [Run] with an aws.Config and a channel; it returns a [Report] of
// [Check]s, one per line: credentials (source, expiry, whether they
// refresh, and whether the service accepts them), the clock offset
// against the service's Date, the channel ARN's partition and region,
// DescribeSignalingChannel, GetSignalingChannelEndpoint,
// GetIceServerConfig, the WSS upgrade, a STUN binding, a TURN allocation
// on each TURN URI, and media probes (a viewer receives a first frame
// from the channel's master over the host path and over each relay
// transport; a master waits for a viewer with Options.WaitViewer).
//
// A failure does not stop the run where later steps can still be tried:
// a China ARN written arn:aws: fails its check and the rest run with the
// corrected ARN; refused credentials skip the signed calls but not the
// STUN binding. Each failing check has a one-sentence Fix; the 403 at the
// WSS upgrade, after control-plane calls with the same credentials
// passed, is named as the missing kinesisvideo:ConnectAsViewer or
// ConnectAsMaster permission.
//
// [Report.Chart] draws the checks as a waterfall (package waterfall);
// checks that ran side by side (GetIceServerConfig and the WSS connect,
// the TURN allocations) overlap on its time axis.
//
// # Caveats
//
// The credentials check signs one DescribeSignalingChannel without a
// channel: the service refuses it with InvalidArgumentException (or
// AccessDeniedException) once the signature is accepted, which proves the
// key without needing any permission. TURN over DTLS
// (turns:…?transport=udp) is listed by the service but not checked: the C
// SDK and browsers do not use it.
package doctor
