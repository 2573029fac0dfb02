package session

import (
	"testing"

	"github.com/kvsrtc/kvsrtc/media"
)

func h264(pt uint8, fmtp string) sdpCodec {
	return sdpCodec{PT: pt, Name: "H264", Clock: 90000, Fmtp: fmtp}
}

// TestChooseCodec pins which offered format a source is sent in: the
// offerer's first with the source's own profile, else the first whose
// decoders decode it (constrained baseline goes anywhere, main and
// constrained high only as high), packetization-mode=1 only, the answer at
// the offered profile with the source's level.
func TestChooseCodec(t *testing.T) {
	const laa = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
	vp8 := sdpCodec{PT: 96, Name: "VP8", Clock: 90000}
	tests := []struct {
		name    string
		src     sourceCodec
		offered []sdpCodec
		wantPT  uint8
		want    string // the answer's fmtp; "" with wantPT 0: nothing fits
	}{
		{"aiortc 42001f only", sourceCodec{media.CodecH264, "42e01f"}, []sdpCodec{vp8, h264(99, "packetization-mode=1;profile-level-id=42001f")},
			99, "packetization-mode=1;profile-level-id=42001f"},
		{"own profile first", sourceCodec{media.CodecH264, "42e01f"}, []sdpCodec{h264(102, laa+"42001f"), h264(106, laa+"42e01f")},
			106, laa + "42e01f"},
		{"level follows the source", sourceCodec{media.CodecH264, "42e028"}, []sdpCodec{h264(106, laa+"42e01f")},
			106, laa + "42e028"},
		{"lower level without asymmetry", sourceCodec{media.CodecH264, "42e028"}, []sdpCodec{h264(106, "packetization-mode=1;profile-level-id=42e01f")},
			106, "packetization-mode=1;profile-level-id=42e01f"},
		{"constrained baseline as high", sourceCodec{media.CodecH264, "42e01f"}, []sdpCodec{h264(112, laa+"64001f")},
			112, laa + "64001f"},
		{"main as high", sourceCodec{media.CodecH264, "4d001f"}, []sdpCodec{h264(106, laa+"42e01f"), h264(112, laa+"64001f")},
			112, laa + "64001f"},
		{"main as main", sourceCodec{media.CodecH264, "4d0028"}, []sdpCodec{h264(127, laa+"4d001f")},
			127, laa + "4d0028"},
		{"high into baseline", sourceCodec{media.CodecH264, "640028"}, []sdpCodec{h264(102, laa+"42001f"), h264(106, laa+"42e01f"), h264(127, laa+"4d001f")},
			0, ""},
		{"packetization-mode 0 only", sourceCodec{media.CodecH264, "42e01f"}, []sdpCodec{h264(104, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f")},
			0, ""},
		{"h264 into vp8", sourceCodec{media.CodecH264, "42e01f"}, []sdpCodec{vp8}, 0, ""},
		{"vp8", sourceCodec{media.CodecVP8, ""}, []sdpCodec{h264(102, laa+"42e01f"), vp8}, 96, ""},
		{"vp8 into h264", sourceCodec{media.CodecVP8, ""}, []sdpCodec{h264(102, laa+"42e01f")}, 0, ""},
		{"opus", sourceCodec{media.CodecOpus, ""}, []sdpCodec{{PT: 0, Name: "PCMU", Clock: 8000}, {PT: 111, Name: "opus", Clock: 48000, Fmtp: "minptime=10"}},
			111, "minptime=10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := tt.src.choose(tt.offered)
			if tt.wantPT == 0 {
				if ok {
					t.Fatalf("chose %v, want none", c)
				}
				return
			}
			if !ok || c.PT != tt.wantPT || c.Fmtp != tt.want {
				t.Fatalf("chose %v (%v), want PT %d %q", c, ok, tt.wantPT, tt.want)
			}
		})
	}
}

// TestParseProfile pins the libwebrtc profile classes.
func TestParseProfile(t *testing.T) {
	for plid, want := range map[string]h264Profile{
		"42e01f": profileConstrainedBaseline, "42c01f": profileConstrainedBaseline, "4d801f": profileConstrainedBaseline,
		"42001f": profileBaseline, "": profileBaseline, "4d001f": profileMain, "640c1f": profileConstrainedHigh,
		"64001f": profileHigh, "f4001f": profileUnknown, "zz": profileUnknown,
	} {
		if got := parseProfile(plid); got != want {
			t.Errorf("%q: %v, want %v", plid, got, want)
		}
	}
}
