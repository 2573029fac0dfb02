package doctor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// relayProbes are the relay transports a viewer's media probe can be held
// to (session.RelayTransport), by the TURN transport name.
var relayProbes = []struct {
	name string
	rt   session.RelayTransport
}{{transportUDP, session.RelayUDP}, {transportTCP, session.RelayTCP}, {transportTLS, session.RelayTLS}}

// checkMedia runs the media probes: a viewer connects to the master over
// the host path, then once over each relay transport that allocated; a
// master with WaitViewer waits for a viewer and sends it a frame.
func (s *state) checkMedia(ctx context.Context) {
	const peerName = "peer"
	why := ""
	switch {
	case s.opts.NoMedia:
		why = "media probes not asked for"
	case s.opts.Role == channel.RoleMaster && s.opts.WaitViewer <= 0:
		why = "a master probes media only with --wait-viewer"
	case s.credsBad:
		why = "needs credentials the service accepts"
	case !s.epOK || !s.iceOK:
		why = "needs the endpoints and the ICE servers"
	case !s.connectOK:
		why = "needs the WSS connection"
	}
	if why != "" {
		s.skip(StepPeer, peerName, "offerToAnswerTime", why)
		s.skip(StepMedia, "media", "timeToFirstFrame", why)
		return
	}
	if s.opts.Role == channel.RoleMaster {
		s.masterProbe(ctx)
		return
	}
	host, err := s.viewerProbe(ctx, session.RelayAny, false)
	peer := host.peer
	if errors.Is(err, session.ErrNoAnswer) {
		peer.Status, peer.Error = StatusFail, err.Error()
		peer.Fix = "no master answered: start one on this channel (`kvsrtc master --channel-arn " + s.arn.String() + "`) and check it runs in region " + s.arn.Region
		s.add(peer)
		s.skip(StepMedia, "media", "timeToFirstFrame", "no master answered the offer")
		return
	}
	if peer.Status == StatusUnknown {
		peer.Status, peer.Error = StatusFail, errString(err)
		peer.Fix = "the offer got no usable answer: check the master's logs (kvsrtc master -v)"
		s.add(peer)
		s.skip(StepMedia, "media", "timeToFirstFrame", "no answer")
		return
	}
	s.add(peer, host.media)
	for _, rp := range relayProbes {
		name := "media relay " + rp.name
		if !s.turnListed[rp.name] {
			continue // no URI of this transport: nothing to probe or skip
		}
		if !s.turnOK[rp.name] {
			s.skip(StepMedia, name, "timeToFirstFrame", "no TURN allocation over "+rp.name)
			continue
		}
		res, _ := s.viewerProbe(ctx, rp.rt, true)
		s.add(res.media)
	}
}

// probeResult is what one viewer probe found.
type probeResult struct {
	peer  Check // the master's answer (host probe only)
	media Check // the first frame
}

// viewerProbe connects a session.Viewer and waits for its first frame.
func (s *state) viewerProbe(ctx context.Context, rt session.RelayTransport, relay bool) (probeResult, error) {
	name := "media host"
	if relay {
		name = "media relay " + rt.String()
	}
	if relay {
		s.progress("probing media relayed over %s", rt)
	} else {
		s.progress("offering to the master and waiting for its answer (up to %v), then for a first frame", s.opts.AnswerTimeout)
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout+s.opts.AnswerTimeout+s.opts.FrameTimeout)
	defer cancel()
	tl := session.NewTimeline(t0)
	var first sync.Once
	var frameAt time.Time
	var codec media.Codec
	clientID := s.opts.ClientID
	if relay {
		clientID += "-" + rt.String()
	}
	v, err := session.NewViewer(session.ViewerOptions{
		Options: session.Options{
			ChannelARN: s.arn, Resolver: s.r, Credentials: s.opts.Config.Credentials, HTTPClient: s.opts.HTTPClient,
			SettingEngine: s.opts.SettingEngine, ForceTURN: relay, RelayTransport: rt, Timeline: tl, Logger: s.opts.Logger,
		},
		ClientID:      clientID,
		AnswerTimeout: s.opts.AnswerTimeout,
		OnFrame: func(c media.Codec, _ media.Frame) {
			first.Do(func() {
				frameAt, codec = time.Now(), c
				cancel()
			})
		},
	})
	res := probeResult{media: s.check(StepMedia, name, "timeToFirstFrame", t0, t0)}
	if err != nil {
		res.media.Status, res.media.Error = StatusFail, err.Error()
		return res, err
	}
	runErr := v.Run(ctx)
	_ = v.Close()
	end := time.Now()
	if !frameAt.IsZero() {
		end = frameAt
	}
	res.media = s.check(StepMedia, name, "timeToFirstFrame", t0, end)
	if sent, ok := tl.Step(session.StepOfferSent); ok {
		if ans, ok := tl.Step(session.StepAnswer); ok {
			res.peer = s.check(StepPeer, "peer", "offerToAnswerTime", t0.Add(ms(sent.StartMs)), t0.Add(ms(ans.EndMs)))
			res.peer.Status, res.peer.Detail = StatusPass, "a master answered the offer"
		}
	}
	if res.peer.Status == StatusUnknown {
		res.peer = s.check(StepPeer, "peer", "offerToAnswerTime", t0, end)
	}
	if !frameAt.IsZero() {
		res.media.Status = StatusPass
		res.media.Detail = fmt.Sprintf("first %s frame", codec)
		if st, ok := tl.Step(session.StepICEConnected); ok {
			res.media.Detail += fmt.Sprintf(", ICE connected at %.0f ms", st.EndMs)
		}
		if relay {
			res.media.Detail += ", relay candidates only"
		}
		return res, nil
	}
	res.media.Status, res.media.Error = StatusFail, errString(runErr)
	switch {
	case errors.Is(runErr, session.ErrPeerFailed) && relay:
		res.media.Fix = "the relay over " + rt.String() + " allocates but carries no media: check that the master can reach the same TURN server"
	case errors.Is(runErr, session.ErrPeerFailed):
		res.media.Fix = "ICE found no path between the peers: allow UDP between them, or relay (see the TURN lines)"
	default:
		res.media.Fix = fmt.Sprintf("no frame within %v of the answer: check the master is sending media (kvsrtc master --video …)", s.opts.FrameTimeout)
	}
	return res, runErr
}

// masterProbe connects as master with a test clip and waits for a viewer
// to join and a first frame to be sent to it.
func (s *state) masterProbe(ctx context.Context) {
	s.progress("connecting as master and waiting for a viewer (up to %v)", s.opts.WaitViewer)
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.WaitViewer+s.opts.FrameTimeout)
	defer cancel()
	video := s.opts.Video
	if video == nil {
		var err error
		if video, err = media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true}); err != nil {
			s.skip(StepPeer, "peer", "offerToAnswerTime", err.Error())
			return
		}
		go func() { _ = video.Run(ctx) }()
	}
	var mu sync.Mutex
	var joined, sent time.Time
	var viewer string
	m, err := session.NewMaster(session.MasterOptions{
		Options: session.Options{ChannelARN: s.arn, Resolver: s.r, Credentials: s.opts.Config.Credentials,
			HTTPClient: s.opts.HTTPClient, SettingEngine: s.opts.SettingEngine, Logger: s.opts.Logger},
		Video: video,
		OnPeer: func(ev session.PeerEvent) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Joined && joined.IsZero() {
				joined, viewer = time.Now(), ev.ClientID
			}
			if !ev.Joined && ev.ClientID == viewer {
				cancel() // the probing viewer left
			}
		},
		OnFrameSent: func(string, media.Codec, media.Frame) {
			mu.Lock()
			defer mu.Unlock()
			if sent.IsZero() {
				sent = time.Now()
				// Keep sending a moment, so the viewer shows the picture
				// and ends on its own terms rather than on a dropped peer.
				time.AfterFunc(ViewerGrace, cancel)
			}
		},
	})
	if err != nil {
		s.skip(StepPeer, "peer", "offerToAnswerTime", err.Error())
		return
	}
	runErr := m.Run(ctx)
	_ = m.Close()
	mu.Lock()
	defer mu.Unlock()
	end := time.Now()
	peer := s.check(StepPeer, "peer", "offerToAnswerTime", t0, end)
	if joined.IsZero() {
		peer.Status, peer.Error = StatusFail, fmt.Sprintf("no viewer joined within %v (%s)", s.opts.WaitViewer, errString(runErr))
		peer.Fix = "start a viewer on this channel while the doctor waits (`kvsrtc viewer --channel-arn " + s.arn.String() + "`)"
		s.add(peer)
		s.skip(StepMedia, "media", "timeToFirstFrame", "no viewer")
		return
	}
	peer = s.check(StepPeer, "peer", "offerToAnswerTime", t0, joined)
	peer.Status, peer.Detail = StatusPass, "viewer "+viewer+" sent an offer"
	md := s.check(StepMedia, "media", "timeToFirstFrame", joined, end)
	if sent.IsZero() {
		md.Status, md.Error = StatusFail, "no frame reached the viewer: "+errString(runErr)
		md.Fix = "ICE or DTLS did not complete with the viewer: allow UDP between the peers, or relay (see the TURN lines)"
	} else {
		md = s.check(StepMedia, "media", "timeToFirstFrame", joined, sent)
		md.Status, md.Detail = StatusPass, "first frame sent to "+viewer
	}
	s.add(peer, md)
}

func ms(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

func errString(err error) string {
	if err == nil {
		return "ended without a frame"
	}
	return err.Error()
}
