package session

import (
	"encoding/hex"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// h264Profile is an H.264 profile as libwebrtc classifies a
// profile-level-id's first two bytes (api/video_codecs/h264_profile_level_id.cc).
type h264Profile int

const (
	profileUnknown h264Profile = iota
	profileConstrainedBaseline
	profileBaseline
	profileMain
	profileConstrainedHigh
	profileHigh
)

func (p h264Profile) String() string {
	return [...]string{"unknown", "constrained baseline", "baseline", "main", "constrained high", "high"}[p]
}

// parseProfile classifies a profile-level-id (six hex digits). A missing
// one is baseline (RFC 6184 §8.1: the default is 420010).
func parseProfile(plid string) h264Profile {
	if plid == "" {
		return profileBaseline
	}
	b, err := hex.DecodeString(plid)
	if err != nil || len(b) != 3 {
		return profileUnknown
	}
	idc, iop := b[0], b[1]
	match := func(pattern string) bool { // MSB first; 'x' is any bit
		for i, c := range pattern {
			bit := iop >> (7 - i) & 1
			if (c == '1' && bit != 1) || (c == '0' && bit != 0) {
				return false
			}
		}
		return true
	}
	switch {
	case idc == 0x42 && match("x1xx0000"), idc == 0x4d && match("1xxx0000"), idc == 0x58 && match("11xx0000"):
		return profileConstrainedBaseline
	case idc == 0x42 && match("x0xx0000"), idc == 0x58 && match("10xx0000"):
		return profileBaseline
	case idc == 0x4d && match("0x0x0000"):
		return profileMain
	case idc == 0x64 && iop == 0x0c:
		return profileConstrainedHigh
	case idc == 0x64 && iop == 0:
		return profileHigh
	}
	return profileUnknown
}

// decodes reports whether a decoder of profile offered decodes a stream of
// profile sent: each profile's tools are a subset of the next (H.264
// Annex A): constrained baseline ⊂ baseline, main, constrained high, high;
// main ⊂ high; constrained high ⊂ high.
func (offered h264Profile) decodes(sent h264Profile) bool {
	if sent == offered {
		return sent != profileUnknown
	}
	switch sent {
	case profileConstrainedBaseline:
		return offered != profileUnknown
	case profileMain, profileConstrainedHigh:
		return offered == profileHigh
	}
	return false
}

// fmtpParam is the value of key in an fmtp line ("a=1;b=2"), or "".
func fmtpParam(fmtp, key string) string {
	for _, p := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sourceCodec is what a master's source sends, as offered codecs are
// matched against it.
type sourceCodec struct {
	codec media.Codec
	plid  string // H.264: the stream's profile-level-id (its SPS)
}

func (s sourceCodec) String() string {
	if s.codec == media.CodecH264 {
		return "H264 profile-level-id=" + s.plid + " (" + parseProfile(s.plid).String() + ")"
	}
	return strings.ToUpper(s.codec.String())
}

// fits reports whether c, an offered format, can carry the source. H.264
// needs packetization-mode=1 (the packetizer sends FU-A and STAP-A) and an
// offered profile whose decoders decode the source's; the level may differ
// (level-asymmetry: RFC 6184 §8.2.2 exempts the level from symmetric use).
func (s sourceCodec) fits(c sdpCodec) bool {
	if c.codec() != s.codec {
		return false
	}
	switch s.codec {
	case media.CodecH264:
		plid := fmtpParam(c.Fmtp, "profile-level-id")
		return fmtpParam(c.Fmtp, "packetization-mode") == "1" &&
			(parseProfile(plid).decodes(parseProfile(s.plid)) || len(plid) == 6 && strings.EqualFold(plid[:4], s.plid[:min(4, len(s.plid))]))
	case media.CodecOpus:
		return c.Clock == 48000
	}
	return true
}

// choose returns the offered format to send the source in: the first (in
// the offerer's order) whose profile is the source's own, else the first
// that carries it at all (a constrained-baseline stream goes as baseline,
// main or high too). An H.264 answer keeps the offer's profile and takes
// the source's level, as libwebrtc answers (H264GenerateProfileLevelIdForAnswer:
// the local level when both sides allow level asymmetry, else the lower).
func (s sourceCodec) choose(offered []sdpCodec) (sdpCodec, bool) {
	var fit *sdpCodec
	for i, c := range offered {
		if !s.fits(c) {
			continue
		}
		if s.codec != media.CodecH264 || parseProfile(fmtpParam(c.Fmtp, "profile-level-id")) == parseProfile(s.plid) {
			fit = &offered[i]
			break
		}
		if fit == nil {
			fit = &offered[i]
		}
	}
	if fit == nil {
		return sdpCodec{}, false
	}
	c := *fit
	if s.codec == media.CodecH264 {
		c.Fmtp = answerLevel(c.Fmtp, s.plid)
	}
	return c, true
}

// answerLevel returns the offered H.264 fmtp with its profile-level-id's
// level set for an answer sending a stream whose profile-level-id is plid.
func answerLevel(fmtp, plid string) string {
	offered := fmtpParam(fmtp, "profile-level-id")
	if len(offered) != 6 || len(plid) != 6 {
		return fmtp
	}
	level := plid[4:]
	if fmtpParam(fmtp, "level-asymmetry-allowed") != "1" && strings.ToLower(offered[4:]) < strings.ToLower(level) {
		level = offered[4:] // hex of equal length compares as numbers
	}
	parts := strings.Split(fmtp, ";")
	for i, p := range parts {
		if k, _, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(k, "profile-level-id") {
			parts[i] = "profile-level-id=" + offered[:4] + level
		}
	}
	return strings.Join(parts, ";")
}

// parameters are c as pion codec parameters: the answer keeps the offer's
// payload type and fmtp (RFC 6184 §8.2.2: the answerer maintains the
// configuration parameters or removes the format).
func (c sdpCodec) parameters(kind string) webrtc.RTPCodecParameters {
	cap := webrtc.RTPCodecCapability{MimeType: kind + "/" + c.Name, ClockRate: c.Clock, SDPFmtpLine: c.Fmtp}
	if strings.EqualFold(c.Name, "opus") {
		cap.Channels = 2
	}
	return webrtc.RTPCodecParameters{RTPCodecCapability: cap, PayloadType: webrtc.PayloadType(c.PT)}
}

// CodecMismatch reports media a viewer asked for that a Master does not
// send, because no format the viewer offered carries the source.
type CodecMismatch struct {
	// Kind is "video" or "audio".
	Kind string
	// Source is the source's codec, e.g. "H264 profile-level-id=640028 (high)".
	Source string
	// Offered are the viewer's formats of that kind, in its order, e.g.
	// "VP8/96" or "H264/102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".
	Offered []string
}
