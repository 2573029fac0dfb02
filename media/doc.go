// Package media is the media side of `kvsrtc master` and `kvsrtc viewer`:
// it reads encoded streams into frames, paces and fans them out to peers,
// and records what a viewer receives.
//
// # Reading
//
// Use NewAnnexBReader for H.264 Annex-B (a .h264 file or
// `ffmpeg ... -f h264 -` on stdin), NewIVFReader for VP8 in IVF and
// NewOggReader for Opus in Ogg. Each is a FrameReader that returns one Frame
// (an access unit, a VP8 frame, an Opus packet) per call. The H.264 reader
// uses pion's h264reader for NAL units and groups them into access units
// itself: SPS, PPS, SEI and AUD travel with the slice that follows them.
// Annex-B has no timestamps, so it stamps frames at a fixed frame rate.
//
// # Sending
//
// A Source reads a stream once and runs it in real time (Run), optionally
// looped, and fans frames out through a Broadcaster: call Subscribe once per
// peer track. The Broadcaster keeps the current GOP so that a peer joining
// mid-stream starts at a keyframe, and gives each subscriber a bounded queue:
// a slow peer loses frames until the next keyframe and never holds up the
// others. Pacing follows a Clock, which tests replace; SourceOptions.Unpaced
// turns pacing off. Source.Keyframe is the keyframe the GOP cache starts
// with; for H.264, ParameterSets finds its SPS and ProfileLevelID the
// profile-level-id to offer in SDP (what session.Master does).
//
// # Recording
//
// A WebMWriter records H.264 or VP8 video and Opus audio frames, as a viewer
// receives them, to WebM (VP8, Opus) or Matroska (H.264). FrameLog keeps a
// checksum per frame so that tests can check that what was received is what
// was sent.
//
// # Demo clips
//
// DemoH264, DemoOpus and DemoVP8 return small embedded 5 s clips, made with
// ffmpeg by clips/gen.sh (`go generate`), for `kvsrtc master` without input
// files and for tests.
//
// # Caveats
//
//   - Frame.Data is shared between subscribers: do not modify it.
//   - A Source blocked in a Read of its input (a quiet stdin) notices
//     cancellation only when the read returns; close the input to stop it.
//   - OggReader needs one Opus packet per Ogg page (ffmpeg -page_duration
//     20000); it reports ErrUnsupported otherwise.
//   - Looping needs a seekable input.
package media
