// Package wire holds the shapes that travel between a KVS WebRTC client and the
// service: the JSON frames of the signaling WebSocket, the base64 payloads inside
// them, the REST error format, and helpers that keep secrets out of logs.
//
// It is a leaf package (standard library only) shared by the client packages and
// the emulator, so both sides agree byte for byte. Section numbers (§) refer to
// the protocol notes in the project's kvs-protocol.md.
//
// # Signaling frames
//
// Use [EncodeClientMessage] to build a frame a client sends (lowercase camelCase
// keys, compact, as the JavaScript SDK does) and [DecodeClientMessage] to read one
// on the service side. The decoder accepts every real client: keys are matched
// case-insensitively (the C SDK sends RecipientClientId, MessagePayload and
// CorrelationId, sometimes pretty-printed) and unknown members such as the C SDK's
// IceServerList are ignored. [ClientMessage] carries an [Action].
//
// Use [EncodeServerMessage] to build a frame the service sends and
// [DecodeServerMessage] to read one on the client side. [ServerMessage] carries a
// [MessageType] and, for STATUS_RESPONSE, a [StatusResponse].
//
// Payloads are kept as the base64 text that was sent and are relayed untouched.
// [EncodePayload] builds one from a [SessionDescription] or an
// [ICECandidateInit]; [DecodeSDP] and [DecodeICECandidate] read them back.
//
// # REST errors
//
// [DecodeRESTError] turns an error response of the restJson1 protocol into an
// [*APIError], choosing the code exactly as aws-sdk-go-v2 does. [ErrorCode]
// extracts the code from any error chain, including the errors of aws-sdk-go-v2
// itself.
//
// # Secrets
//
// [RedactURL] masks the signature, session token and password-like values of a
// presigned URL; [RedactSecret] masks any secret. No error returned by this
// package contains a payload (SDPs carry ICE passwords), a signature or a token.
//
// # Caveats
//
// The encoders refuse what the service would refuse (unknown types, payloads over
// [MaxPayloadBytes], identifiers outside [a-zA-Z0-9_.-]{1,256}) instead of sending
// it. The decoders never panic on any input; on a validation error
// [DecodeClientMessage] still returns the members it could read, so a server can
// answer with a STATUS_RESPONSE for a valid correlation id.
package wire
