// Package web serves a browser viewer for one signaling channel while AWS
// credentials stay on the server: `kvsrtc web` runs it.
//
// Use [New] to make a [Server] (an http.Handler) from a resolve.Resolver,
// a credentials provider and a channel ARN. For each page load the browser
// asks GET /api/session and receives a [Session]: a fresh client id, the
// channel's ICE servers (including their short-lived TURN credentials) and
// a WSS URL presigned for ConnectAsViewer that expires after
// Options.URLExpires (60 s by default). The page hands that URL to the
// unmodified KVS WebRTC JS SDK (its shipped browser bundle, served from
// /kvs-webrtc.min.js) through the SignalingClient's requestSigner option,
// so the SDK never signs and never sees a key. The page shows the video,
// the connection timeline and live getStats figures.
//
// # What reaches the browser
//
// Never the secret access key. The presigned URL carries the access key id
// (in X-Amz-Credential) and, for temporary credentials, the session token
// (X-Amz-Security-Token, which KVS requires inside the signed query): both
// are useless without the secret key, and the URL itself opens only this
// channel as a viewer until it expires. Anyone who can load the page can
// view the channel: bind it to loopback (the default of `kvsrtc web`) or
// put it behind your own authentication.
//
// # Caveats
//
// /api/session refuses cross-site requests (Sec-Fetch-Site: cross-site),
// so another web page cannot mint URLs through a visitor's browser.
package web
