package session

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// pliInterval bounds how often a viewer asks for a keyframe.
const pliInterval = 500 * time.Millisecond

// keyframeAsker sends the master a Picture Loss Indication (RFC 4585
// §6.3.1) while a video assembler waits for a keyframe: after a lost
// packet it drops every frame until the next one, which an encoder (a
// browser, a C SDK device) otherwise sends only at its GOP interval. A
// master that cannot make one (kvsrtc's, sending a file) ignores it.
type keyframeAsker struct {
	pc    *webrtc.PeerConnection
	first time.Time // the first packet: waiting for the first keyframe is not a loss yet
	last  time.Time
}

// check asks for a keyframe when a is waiting for one, at most every
// pliInterval, and not within pliInterval of the first packet.
func (k *keyframeAsker) check(a *assembler, ssrc webrtc.SSRC, now time.Time) {
	if k.first.IsZero() {
		k.first = now
	}
	if !a.codec.IsVideo() || !a.waitKey || now.Sub(k.first) < pliInterval || now.Sub(k.last) < pliInterval {
		return
	}
	k.last = now
	_ = k.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
}
