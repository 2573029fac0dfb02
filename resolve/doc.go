// Package resolve is the first step of every KVS WebRTC session: from a
// channel and a role to signaling endpoints and ICE servers.
//
// Use [New] with an aws.Config (package creds builds one) to get a
// [Resolver]. [Resolver.Resolve] gives both halves at once;
// [Resolver.Endpoints] calls GetSignalingChannelEndpoint and maps the answer
// by Protocol into an [Endpoints] (HTTPS, WSS, optionally WEBRTC);
// [Resolver.ICEServers] calls GetIceServerConfig on the HTTPS endpoint and
// returns an [ICEConfig]: the region's STUN URL first, then the TURN servers
// with their expiry times. [Resolver.ARNByName] finds a channel's ARN from
// its name (DescribeSignalingChannel). [Resolver.Client] is the underlying
// kinesisvideo client for the other channel operations. session.ICEServers
// turns an [ICEConfig] into pion's []webrtc.ICEServer; session.Master and
// session.Viewer take the Resolver itself.
//
// [ControlPlaneURL] and [STUNURL] build host names from aws-sdk-go-v2's own
// endpoint rules, so China (amazonaws.com.cn), FIPS and dual-stack follow the
// SDK; no host table lives here.
//
// # Caches
//
// Results are kept in memory and, with Options.Cache (a [FileCache] in
// [DefaultCacheDir]), on disk for other processes, keyed by partition,
// region, channel ARN and role. Endpoints live Options.EndpointTTL (10 h, the
// C SDK's default); ICE servers their smallest Ttl less Options.ICEMargin
// (30 s). Call [Resolver.Invalidate] when cached endpoints fail;
// [Resolver.Resolve] does so itself when GetIceServerConfig cannot use them.
// The cache file holds TURN passwords and is written 0600.
//
// # Clock skew
//
// The service refuses signatures more than 5 minutes off its clock. The
// SDK's control-plane client corrects itself from the response Date header;
// the Resolver measures the same offset for its own GetIceServerConfig call
// and exposes it, for presigned WSS URLs, as [Resolver.Clock] and
// [Resolver.ClockOffset]. See clock.go for the split.
//
// # Errors
//
// Errors match one sentinel with errors.Is — [ErrAuth], [ErrAccessDenied]
// (an [*AccessDeniedError] naming the IAM action), [ErrChannelNotFound],
// [ErrClockSkew] (a [*ClockSkewError] with both times), [ErrRegionMismatch],
// [ErrEndpointMissing], [ErrUnreachable], [ErrThrottled], [ErrNoRegion] —
// and still wrap the SDK's operation error. [Classify] applies the same
// mapping to errors of other kinesisvideo calls. No error or log line holds
// a secret key, session token or TURN password.
package resolve
