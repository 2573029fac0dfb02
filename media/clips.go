package media

import (
	"bytes"
	_ "embed"
)

//go:generate sh clips/gen.sh

// The demo clips are made by clips/gen.sh (see clips/README.md for the exact
// ffmpeg commands). All three are 5 s long.
var (
	//go:embed clips/demo.h264
	demoH264 []byte
	//go:embed clips/demo.ogg
	demoOpus []byte
	//go:embed clips/demo.ivf
	demoVP8 []byte
)

// DemoH264 returns the embedded H.264 demo clip as a fresh reader: Annex-B,
// 640x480, 30 fps, 5 s (150 frames), constrained baseline, one IDR every 30
// frames with SPS and PPS before each, no B-frames (ffmpeg testsrc).
// Read it with SourceOptions{Codec: CodecH264, FPS: 30}.
func DemoH264() *bytes.Reader { return bytes.NewReader(demoH264) }

// DemoOpus returns the embedded Opus demo clip: Ogg, 48 kHz stereo, 48 kb/s,
// one 20 ms packet per page (251 packets, 5.02 s), a 440 Hz tone that beeps
// at 880 Hz once a second.
func DemoOpus() *bytes.Reader { return bytes.NewReader(demoOpus) }

// DemoVP8 returns the embedded VP8 demo clip: IVF, 320x240, 30 fps, 5 s (150
// frames), a key frame every 30 frames (ffmpeg testsrc).
func DemoVP8() *bytes.Reader { return bytes.NewReader(demoVP8) }
