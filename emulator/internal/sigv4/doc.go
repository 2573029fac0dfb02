// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in
// header form (REST calls) and query form (presigned WSS URLs).
//
// It is hand-written rather than built on aws-sdk-go-v2's signer because the
// signer decides by itself which headers to sign (it never signs User-Agent,
// always adds X-Amz-Security-Token), while a verifier must use exactly the
// SignedHeaders the client chose: the C SDK signs host;user-agent;x-amz-date
// and leaves the token unsigned (spec §1.1, §8 item 2). Tests check it
// against the SDK's signer and the spec's test vectors (§4.2).
package sigv4
