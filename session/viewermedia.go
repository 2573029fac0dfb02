// The viewer's media side: recording, reading tracks, assembling frames.

package session

import (
	"errors"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// startRecording plans the recorder for the codecs the answer sends. The
// recorder itself opens with the first frame, for the codec the packets
// carry (payloadCodecs): a master may send on a payload type it did not
// answer.
func (v *Viewer) startRecording(answer string) error {
	if v.opts.Record == nil {
		return nil
	}
	video, audio := answerCodecs(answer)
	if video == media.CodecUnknown && audio == media.CodecUnknown {
		return nil
	}
	v.mu.Lock()
	v.recPlan = &media.WebMOptions{Video: video, Audio: audio, Logger: v.opts.Logger}
	v.mu.Unlock()
	return nil
}

// recorderLocked returns the recorder for a frame of codec c, opening it
// with the first video frame (or the first audio frame when no video is
// answered); nil while it cannot be opened yet. v.mu is held.
func (v *Viewer) recorderLocked(c media.Codec) *media.WebMWriter {
	if v.rec != nil {
		if v.recCodec[0] != c && v.recCodec[1] != c {
			return nil // a master that came back with another codec: not recorded
		}
		return v.rec
	}
	if v.recPlan == nil {
		return nil
	}
	o := *v.recPlan
	switch {
	case c.IsVideo():
		o.Video = c
	case o.Video != media.CodecUnknown:
		return nil // audio before the first video frame: the file starts at a keyframe
	}
	w, err := media.NewWebMWriter(v.opts.Record, o)
	if err != nil {
		v.opts.Logger.Warn("start recording", "err", err)
		v.recPlan = nil
		return nil
	}
	v.rec, v.recCodec = w, [2]media.Codec{o.Video, o.Audio}
	return w
}

// answerCodecs reads which codecs the master sends from its answer: the
// first format of each m-line it sends on.
func answerCodecs(s string) (video, audio media.Codec) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Port.Value == 0 || len(md.MediaName.Formats) == 0 {
			continue
		}
		sends := false
		for _, a := range md.Attributes {
			if a.Key == "sendonly" || a.Key == "sendrecv" {
				sends = true
			}
		}
		if !sends {
			continue
		}
		pt := md.MediaName.Formats[0]
		var c media.Codec
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.HasPrefix(a.Value, pt+" ") {
				name, _, _ := strings.Cut(strings.TrimPrefix(a.Value, pt+" "), "/")
				c = media.ParseCodec(strings.ToLower(name))
			}
		}
		switch {
		case md.MediaName.Media == "video" && c.IsVideo():
			video = c
		case md.MediaName.Media == "audio" && c == media.CodecOpus:
			audio = c
		}
	}
	return video, audio
}

// read turns a track's packets into frames until the track ends. Each
// packet is decoded by the codec its payload type names in the offer or the
// answer (payloadCodecs), not only by what pion negotiated: pion's Read
// reports ErrCodecNotFound for a payload type the answer left out, with the
// packet read all the same (TrackRemote.checkAndUpdateTrack), and the
// viewer keeps it. The codec may change mid-track; the assembler follows.
//
// base is added to the frames' timestamps (see mediaBase).
func (v *Viewer) read(track *webrtc.TrackRemote, p *peer, base time.Duration) {
	var descs []string
	for _, d := range []*webrtc.SessionDescription{p.pc.LocalDescription(), p.pc.RemoteDescription()} {
		if d != nil {
			descs = append(descs, d.SDP)
		}
	}
	codecs := payloadCodecs(descs...)
	var (
		codec media.Codec
		a     *assembler
		jb    *reorder
	)
	buf := make([]byte, readMTU)
	pli := &keyframeAsker{pc: p.pc}
	for {
		n, _, err := track.Read(buf)
		if err != nil && !errors.Is(err, webrtc.ErrCodecNotFound) {
			return
		}
		pkt := &rtp.Packet{}
		if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			continue
		}
		c := codecs[pkt.PayloadType]
		if c == media.CodecUnknown || c.IsVideo() != (track.Kind() == webrtc.RTPCodecTypeVideo) {
			continue // RTX or FEC on the media's SSRC, or a codec the viewer does not decode
		}
		if c != codec {
			if codec != media.CodecUnknown {
				v.opts.Logger.Info("codec changed", "from", codec.String(), "to", c.String())
			}
			codec, a, jb = c, newAssembler(c), newReorder()
		}
		now := time.Now()
		v.mu.Lock()
		cs := v.counters(codec)
		cs.codec = codec
		cs.packets++
		cs.bytes += int64(len(pkt.Payload))
		if cs.firstPkt.IsZero() {
			cs.firstPkt = now
		}
		cs.lastPkt = now
		v.mu.Unlock()
		for _, p := range jb.push(pkt, now) {
			if f, ok := a.push(p); ok {
				f.Timestamp += base
				v.frame(codec, f)
			}
		}
		pli.check(a, track.SSRC(), now)
	}
}

// mediaBase is where the media of a new connection starts on the viewer's
// media clock: after what was received, plus the time since (a rejoin
// continues the recording and the Duration count).
func (v *Viewer) mediaBase() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	end := max(v.video.mediaEnd, v.audio.mediaEnd)
	last := v.video.lastPkt
	if v.audio.lastPkt.After(last) {
		last = v.audio.lastPkt
	}
	if last.IsZero() {
		return end
	}
	return end + time.Since(last)
}

func (v *Viewer) counters(c media.Codec) *trackCounters {
	if c.IsVideo() {
		return &v.video
	}
	return &v.audio
}

// frame handles one whole frame: stats, timeline, recording, limits.
func (v *Viewer) frame(codec media.Codec, f media.Frame) {
	select {
	case <-v.stop:
		// A media limit was reached: Run is ending. Frames that still
		// arrive are not counted, handed to OnFrame or recorded, so
		// VideoFrames is exact.
		return
	default:
	}
	v.mu.Lock()
	c := v.counters(codec)
	c.frames++
	if f.Keyframe {
		c.keyframes++
	}
	c.mediaEnd = f.Timestamp
	firstOfTrack := c.frames == 1
	frames := c.frames
	v.lastFrame = time.Now()
	if v.first.IsZero() {
		v.first = v.lastFrame
	}
	rec, tl := v.recorderLocked(codec), v.tl
	v.mu.Unlock()
	if firstOfTrack {
		from := tl.Start()
		if s, ok := tl.Step(StepDTLSConnected); ok {
			from = tl.Start().Add(time.Duration(s.EndMs * float64(time.Millisecond)))
		}
		step := StepFirstAudio
		if codec.IsVideo() {
			step = StepFirstVideo
		}
		tl.Mark(step, from)
	}
	if v.opts.OnFrame != nil {
		v.opts.OnFrame(codec, f)
	}
	if rec != nil {
		var err error
		if codec.IsVideo() {
			err = rec.WriteVideo(f)
		} else {
			err = rec.WriteAudio(f)
		}
		if err != nil {
			v.opts.Logger.Warn("record", "err", err)
		}
	}
	if (v.opts.Duration > 0 && f.Timestamp >= v.opts.Duration) || (v.opts.VideoFrames > 0 && codec.IsVideo() && frames >= int64(v.opts.VideoFrames)) {
		v.stopOnce.Do(func() { close(v.stop) })
	}
}

// Recording reports the recording's DocType ("webm" or "matroska"), or ""
// when nothing is recorded.
func (v *Viewer) Recording() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rec == nil {
		return ""
	}
	return v.rec.DocType()
}

// receive reads every track p gets, with media time going on from what
// earlier peers received, and hands p to the user's OnPeerConnection hook.
func (v *Viewer) receive(p *peer) {
	base := v.mediaBase()
	p.pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.read(track, p, base)
		}()
	})
	if v.opts.OnPeerConnection != nil {
		v.opts.OnPeerConnection(v.opts.ClientID, p.pc)
	}
}
