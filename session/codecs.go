package session

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// offerOptions announce trickle ICE when the session trickles: a C SDK
// master answers at once only when the offer carries a=ice-options:trickle
// (pion writes it at session level); without it the master waits for
// complete gathering, which runs to its 10 s timeout (setRemoteDescription
// in src/source/PeerConnection/PeerConnection.c reads ice-options at session
// or media level; samples/Common.c handleOffer branches on
// canTrickleIceCandidates).
func offerOptions(trickle bool) *webrtc.OfferOptions {
	return &webrtc.OfferOptions{OfferAnswerOptions: webrtc.OfferAnswerOptions{ICETricklingSupported: trickle}}
}

// answerOptions announce trickle ICE in an answer when the session trickles.
func answerOptions(trickle bool) *webrtc.AnswerOptions {
	return &webrtc.AnswerOptions{OfferAnswerOptions: webrtc.OfferAnswerOptions{ICETricklingSupported: trickle}}
}

// viewerCodecRank orders the codecs a viewer offers: H.264 first (the KVS
// JS sample page filters to H.264 by default, most C SDK masters send it),
// then VP8, then Opus; -1 for what the viewer cannot decode.
func viewerCodecRank(mime string) int {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeH264):
		return 0
	case strings.ToLower(webrtc.MimeTypeVP8):
		return 1
	case strings.ToLower(webrtc.MimeTypeOpus):
		return 2
	}
	return -1
}

// preferDecodable sets a viewer's transceiver to offer only the codecs the
// viewer decodes and records (H.264, then VP8; Opus), each with its RTX, in
// that order: a master that answers with its first acceptable codec then
// picks H.264. Offering VP9 or AV1 would let a master pick a codec the
// viewer can only drop.
func preferDecodable(tr *webrtc.RTPTransceiver) error {
	all := tr.Receiver().GetParameters().Codecs
	apt := map[webrtc.PayloadType]int{} // primary payload type → rank
	var keep []webrtc.RTPCodecParameters
	for _, c := range all {
		if r := viewerCodecRank(c.MimeType); r >= 0 {
			apt[c.PayloadType] = r
			keep = append(keep, c)
		}
	}
	rank := func(c webrtc.RTPCodecParameters) int {
		if r := viewerCodecRank(c.MimeType); r >= 0 {
			return 2 * r
		}
		return 2*apt[rtxOf(c)] + 1 // just after its codec's group
	}
	for _, c := range all {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) {
			if _, ok := apt[rtxOf(c)]; ok {
				keep = append(keep, c)
			}
		}
	}
	if len(keep) == 0 {
		return nil // a MediaEngine without any: leave pion's choice
	}
	slices.SortStableFunc(keep, func(a, b webrtc.RTPCodecParameters) int { return rank(a) - rank(b) })
	return tr.SetCodecPreferences(keep)
}

// rtxOf is the payload type an RTX codec repairs (its apt), or 255.
func rtxOf(c webrtc.RTPCodecParameters) webrtc.PayloadType {
	for _, p := range strings.Split(c.SDPFmtpLine, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "apt="); ok {
			if n, err := strconv.ParseUint(v, 10, 8); err == nil {
				return webrtc.PayloadType(n)
			}
		}
	}
	return 255
}

// sdpCodec is one format of an m-line: payload type, encoding name, fmtp.
type sdpCodec struct {
	PT    uint8
	Name  string // as in rtpmap, e.g. "H264"
	Clock uint32
	Fmtp  string
}

// String is "H264/102 profile-level-id=…" for logs.
func (c sdpCodec) String() string {
	s := c.Name + "/" + strconv.Itoa(int(c.PT))
	if c.Fmtp != "" {
		s += " " + c.Fmtp
	}
	return s
}

// codec is the media codec c carries (CodecUnknown for RTX, FEC and the
// codecs kvsrtc does not handle).
func (c sdpCodec) codec() media.Codec {
	return media.ParseCodec(strings.ToLower(c.Name))
}

// mediaCodecs lists the formats of every m-line of kind ("video",
// "audio") in s, in the order they are listed.
func mediaCodecs(s, kind string) []sdpCodec {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return nil
	}
	var out []sdpCodec
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media != kind {
			continue
		}
		byPT := map[uint8]*sdpCodec{}
		var order []uint8
		for _, f := range md.MediaName.Formats {
			n, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				continue
			}
			byPT[uint8(n)] = &sdpCodec{PT: uint8(n)}
			order = append(order, uint8(n))
		}
		for _, a := range md.Attributes {
			pts, rest, _ := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pts, 10, 8)
			if err != nil || byPT[uint8(n)] == nil {
				continue
			}
			c := byPT[uint8(n)]
			switch a.Key {
			case "rtpmap":
				name, clock, _ := strings.Cut(rest, "/")
				clock, _, _ = strings.Cut(clock, "/")
				c.Name = name
				if r, err := strconv.ParseUint(clock, 10, 32); err == nil {
					c.Clock = uint32(r)
				}
			case "fmtp":
				c.Fmtp = strings.TrimSpace(rest)
			}
		}
		for _, pt := range order {
			out = append(out, *byPT[pt])
		}
	}
	return out
}

// payloadCodecs maps payload types to codecs by the rtpmap lines of the
// descriptions: later ones win, so pass the offer, then the answer. A
// viewer decodes by this map rather than by what pion negotiated, because
// a sender may use any payload type the offer listed even if its answer did
// not name it (Chromium with an H.264-only codec preference answered H.264
// and sent VP8 on PT 96).
func payloadCodecs(descs ...string) map[uint8]media.Codec {
	m := map[uint8]media.Codec{}
	for _, s := range descs {
		for _, kind := range []string{"video", "audio"} {
			for _, c := range mediaCodecs(s, kind) {
				if mc := c.codec(); mc != media.CodecUnknown {
					m[c.PT] = mc
				}
			}
		}
	}
	return m
}

// viewerAPIOptions are o with the SettingEngine a viewer needs on top of
// the caller's: OnTrack fires when the answer is applied, not after the
// first packet. pion otherwise peeks the first packet and, when its payload
// type is not in the answer, logs "Could not determine PayloadType" and
// never fires OnTrack (PeerConnection.startReceiver), so the viewer could
// not decode by the offer's payload types.
func viewerAPIOptions(o Options) *Options {
	user := o.SettingEngine
	o.SettingEngine = func(se *webrtc.SettingEngine) {
		se.SetFireOnTrackBeforeFirstRTP(true)
		if user != nil {
			user(se)
		}
	}
	return &o
}

// ErrNoCommonCodec reports a master that sends no video (or audio) for any
// codec the viewer offered, when the viewer waits for video frames.
var ErrNoCommonCodec = errors.New("no codec in common with the master")

// checkAnswer warns about media the viewer offered to receive that the
// answer does not send (the master had no codec in common: its m-line is
// rejected or inactive), and fails when the viewer waits for video frames
// that can then never come (ViewerOptions.VideoFrames).
func (v *Viewer) checkAnswer(offer *webrtc.SessionDescription, answer string) error {
	if offer == nil {
		return nil
	}
	sends := map[string]bool{}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return nil // pion's SetRemoteDescription says what is wrong with it
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		for _, a := range md.Attributes {
			if a.Key == "sendonly" || a.Key == "sendrecv" {
				sends[md.MediaName.Media] = true
			}
		}
	}
	for _, kind := range []string{"video", "audio"} {
		offered := mediaCodecs(offer.SDP, kind)
		if len(offered) == 0 || sends[kind] {
			continue
		}
		var names []string
		for _, c := range offered {
			if n := strings.ToUpper(c.Name); c.codec() != media.CodecUnknown && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		v.opts.Logger.Warn("the master sends no "+kind+": no codec in common", "offered", strings.Join(names, ", "))
		if kind == "video" && v.opts.VideoFrames > 0 {
			return fmt.Errorf("%w: the master sends no video for the codecs offered (%s)", ErrNoCommonCodec, strings.Join(names, ", "))
		}
	}
	return nil
}
