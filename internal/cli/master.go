package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pion/webrtc/v4"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// sessionFlags are the WebRTC flags master, viewer and demo share.
type sessionFlags struct {
	Seconds        float64
	ForceTURN      bool
	RelayTransport string
	NoTrickle      bool
	Loopback       bool
	CredsRetry     time.Duration
	HelloVerify    bool
	WaitTURNPerms  bool

	relay session.RelayTransport
}

func (s *sessionFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Float64Var(&s.Seconds, "seconds", 0, "stop after this many seconds of media, print the timeline and stats, exit 0 (0: run until interrupted)")
	f.BoolVar(&s.ForceTURN, "force-turn", false, "use TURN relay candidates only")
	f.StringVar(&s.RelayTransport, "relay-transport", "", "keep only the TURN URIs of this transport: udp, tcp or tls")
	f.BoolVar(&s.NoTrickle, "no-trickle", false, "send complete SDP after ICE gathering instead of trickling candidates")
	f.BoolVar(&s.HelloVerify, "dtls-hello-verify", false, "make the DTLS server send a HelloVerifyRequest (cookie) before its certificate: one round trip more to the first frame; see the README on the trade-off")
	f.BoolVar(&s.WaitTURNPerms, "wait-turn-permissions", false, "let each relay candidate wait for the TURN server's CreatePermission answer before its first packet to a peer, as pion does (slower: every check waits behind it)")
	f.DurationVar(&s.CredsRetry, "credentials-retry", session.DefaultCredentialsRetry,
		"when signaling keeps refusing the credentials (expired, not refreshable), exit with code 3 after this long (0: keep trying)")
}

// parse checks the flags before any work.
func (s *sessionFlags) parse() error {
	r, err := session.ParseRelayTransport(s.RelayTransport)
	if err != nil {
		return &UsageError{Err: err}
	}
	s.relay = r
	if math.IsNaN(s.Seconds) || s.Seconds < 0 || s.Seconds > maxSeconds {
		return usageErrorf("--seconds %v: want 0 (no limit) to %d", s.Seconds, maxSeconds)
	}
	if s.CredsRetry < 0 || s.CredsRetry > 24*time.Hour {
		return usageErrorf("--credentials-retry %v: want 0 (keep trying) to 24h", s.CredsRetry)
	}
	return nil
}

// maxSeconds bounds --seconds: a year.
const maxSeconds = 365 * 24 * 3600

func (s *sessionFlags) duration() time.Duration {
	return time.Duration(s.Seconds * float64(time.Second))
}

// apply sets the shared session options.
func (s *sessionFlags) apply(o *session.Options) {
	o.ForceTURN, o.RelayTransport, o.NoTrickle = s.ForceTURN, s.relay, s.NoTrickle
	o.CredentialsRetry = s.CredsRetry
	o.DTLSHelloVerify, o.WaitTURNPermissions = s.HelloVerify, s.WaitTURNPerms
	if s.CredsRetry == 0 {
		o.CredentialsRetry = -1 // keep trying
	}
	if s.Loopback {
		o.SettingEngine = loopbackICE
	}
}

// loopbackICE keeps ICE on 127.0.0.1 with mDNS off (the demo, where every
// peer is in this process).
func loopbackICE(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4}) // TURN over TCP and TLS needs no TCP type (pion/ice gather.go turnNetworkTypesForURL); ICE-TCP host candidates add pairs UDP already covers
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled
	// No server-reflexive candidates: on loopback a STUN (or TURN/UDP) server
	// can only reflect the host address, and pion would gather one per URL,
	// each a socket checked against every remote candidate. A replace rule
	// for srflx pinned to an address no socket has (TEST-NET-1) makes pion
	// skip STUN gathering and map nothing (pion/ice gather.go
	// gatherCandidatesSrflxMapped).
	_ = se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: []string{"192.0.2.1"}, Local: "192.0.2.1",
		AsCandidateType: webrtc.ICECandidateTypeSrflx, Mode: webrtc.ICEAddressRewriteReplace})
}

// wssClient is an *http.Client with the aws.Config's TLS trust (its CA
// bundle) for the WebSocket.
func wssClient(cfg aws.Config) *http.Client {
	switch c := cfg.HTTPClient.(type) {
	case *http.Client:
		return c
	case interface{ GetTransport() *http.Transport }: // aws's BuildableClient, and -v's loggingClient around it
		if t := c.GetTransport(); t != nil {
			return &http.Client{Transport: t}
		}
	}
	return nil
}

// sessionOptions are the session options for a channel reached through env.
//
// When the control plane is on this machine (an emulator on 127.0.0.1 or
// localhost), every peer that reaches it is too: ICE then gathers loopback
// candidates only. pion leaves loopback out by default, so in a
// loopback-only network namespace it would otherwise connect through
// STUN-derived candidates only, about 0.6 s later.
func (e *awsEnv) sessionOptions(arn channel.ARN, tl *session.Timeline) session.Options {
	o := session.Options{ChannelARN: arn, Resolver: e.resolver, Credentials: e.cfg.Credentials,
		HTTPClient: wssClient(e.cfg), Timeline: tl, Logger: e.logger}
	if cp, err := e.resolver.ControlPlaneURL(arn.Region); err == nil && loopbackURL(cp) {
		o.SettingEngine = loopbackICE
	}
	return o
}

// loopbackURL reports whether u's host is a loopback address or localhost.
func loopbackURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := pu.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// credentialsStep times the first retrieval of the credentials.
func credentialsStep(ctx context.Context, p aws.CredentialsProvider, tl *session.Timeline) error {
	t := time.Now()
	if _, err := p.Retrieve(ctx); err != nil {
		return err
	}
	tl.Mark(session.StepCredentials, t)
	return nil
}

// masterOptions are the flags of `kvsrtc master`.
type masterOptions struct {
	IO         *IOStreams
	AWS        awsOptions
	Channel    channelFlags
	Session    sessionFlags
	Video      string
	VideoCodec string
	Audio      string
	Loop       bool
	FPS        float64
	Metrics    metricsFlag
	Config     string
	Storage    storageFlags // storage.go
	// NoProfiling turns off the replies to the KVS sample viewers'
	// data-channel profiling probe (session.MasterOptions.ProfilingReplies).
	NoProfiling bool
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newMasterCmd(ios, nil) })
}

func newMasterCmd(ios *IOStreams, runF func(context.Context, *masterOptions) error) *cobra.Command {
	opts := &masterOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Send video and audio to every viewer of a channel, as its WebRTC master",
		Long: `Connect to a signaling channel as master and answer every viewer with its own
peer connection. The media is read and packetized once and fanned out; a viewer
that joins mid-stream starts at the latest keyframe.

Video is H.264 Annex-B (.h264, .264, or "-" for stdin) or VP8 in IVF (.ivf);
audio is Opus in Ogg (.ogg, .opus). Without --video and --audio the embedded
5 s demo clip is sent, looped. Lines typed on stdin go to every viewer's data
channel (unless stdin carries the video); viewers' messages are printed.`,
		Example: `  kvsrtc master --channel-name cam
  ffmpeg -re -f lavfi -i testsrc=size=640x480:rate=30 -c:v libx264 -profile:v baseline -g 30 -bf 0 -f h264 - | kvsrtc master --channel-name cam --video -
  kvsrtc master --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700000000000 --video clip.ivf --audio clip.ogg --loop --seconds 30 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Session.parse(); err != nil {
				return err
			}
			if err := opts.Storage.parse(cmd); err != nil {
				return err
			}
			if opts.Config != "" && opts.Storage.Enabled {
				return usageErrorf("--storage works on one channel; it does not combine with --config")
			}
			if opts.Config != "" {
				return runConfigCmd(cmd, opts)
			}
			if math.IsNaN(opts.FPS) || opts.FPS < 1 || opts.FPS > 240 {
				return usageErrorf("--fps %v: want 1 to 240", opts.FPS)
			}
			if opts.videoCodec() == media.CodecUnknown && opts.Video != "" {
				return usageErrorf("--video %s: give --video-codec h264 or vp8", opts.Video)
			}
			if opts.Loop && (opts.Video == "-" || opts.Audio == "-") {
				return usageErrorf("--loop needs files, not stdin")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runMaster(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	opts.Session.add(cmd)
	opts.Storage.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Video, "video", "", `video file (H.264 Annex-B or VP8 IVF) or "-" for H.264 on stdin`)
	f.StringVar(&opts.VideoCodec, "video-codec", "", "h264 or vp8 (default: from the file extension)")
	f.StringVar(&opts.Audio, "audio", "", "Opus in Ogg file (one packet per page: ffmpeg -page_duration 20000)")
	f.BoolVar(&opts.Loop, "loop", false, "start the files again at their end")
	f.Float64Var(&opts.FPS, "fps", media.DefaultFPS, "frame rate of H.264 input (Annex-B has no timestamps)")
	f.BoolVar(&opts.NoProfiling, "no-profiling", false, "do not answer the data-channel profiling probe of the KVS sample viewers (the JS sample page's profile timeline) with the master's timings")
	opts.Metrics.add(cmd, "the master")
	f.StringVar(&opts.Config, "config", "", "serve many channels from one process: a JSON file listing them, each with its media and credentials (see README)")
	return cmd
}

func (o *masterOptions) videoCodec() media.Codec {
	if o.VideoCodec != "" {
		return media.ParseCodec(o.VideoCodec)
	}
	switch strings.ToLower(filepath.Ext(o.Video)) {
	case ".h264", ".264":
		return media.CodecH264
	case ".ivf":
		return media.CodecVP8
	}
	if o.Video == "-" {
		return media.CodecH264
	}
	return media.CodecUnknown
}

// sources opens the media: files, stdin or the demo clip.
// A cancelled ctx interrupts the open of a FIFO (openInput).
func (o *masterOptions) sources(ctx context.Context) (video, audio *media.Source, closers []io.Closer, err error) {
	open := func(path string, demo func() io.Reader) (io.Reader, error) {
		switch path {
		case "":
			return demo(), nil
		case "-":
			return o.IO.In, nil
		}
		f, err := openInput(ctx, path)
		if err != nil {
			return nil, err
		}
		closers = append(closers, f)
		return f, nil
	}
	demo := o.Video == "" && o.Audio == ""
	loop := o.Loop || demo
	if o.Video != "" || demo {
		r, err := open(o.Video, func() io.Reader { return media.DemoH264() })
		if err != nil {
			return nil, nil, closers, err
		}
		c := o.videoCodec()
		if demo {
			c = media.CodecH264
		}
		if video, err = media.NewSource(r, media.SourceOptions{Codec: c, FPS: o.FPS, Loop: loop}); err != nil {
			return nil, nil, closers, err
		}
	}
	if o.Audio != "" || demo {
		r, err := open(o.Audio, func() io.Reader { return media.DemoOpus() })
		if err != nil {
			return nil, nil, closers, err
		}
		if audio, err = media.NewSource(r, media.SourceOptions{Codec: media.CodecOpus, Loop: loop}); err != nil {
			return nil, nil, closers, err
		}
	}
	return video, audio, closers, nil
}

// masterJSON is the --json output of `kvsrtc master`; field names are stable.
type masterJSON struct {
	ChannelARN string               `json:"channelArn"`
	Timeline   *session.Timeline    `json:"timeline"`
	Viewers    []session.PeerReport `json:"viewers"`
	Stats      session.MasterStats  `json:"stats"`
	// Storage is the storage timeline (--storage).
	Storage []session.StorageEvent `json:"storage,omitempty"`
}

func runMaster(ctx context.Context, opts *masterOptions) error {
	tl := session.NewTimeline(time.Now())
	env, arn, _, err := loadChannel(ctx, opts.IO, &opts.AWS, &opts.Channel, "master")
	if err != nil {
		return err
	}
	defer env.done()
	if err := credentialsStep(ctx, env.cfg.Credentials, tl); err != nil {
		return err
	}
	video, audio, closers, err := opts.sources(ctx)
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopOnce sync.Once
	stopped := false
	var stopMu sync.Mutex
	so := env.sessionOptions(arn, tl)
	opts.Session.apply(&so)
	ios := opts.IO
	msgOut := ios.Out
	if opts.AWS.JSON { // stdout holds the JSON alone
		msgOut = ios.ErrOut
	}
	so.OnMessage = func(from string, m session.DataMessage) {
		fmt.Fprintf(msgOut, "%s: %s\n", from, m.Data)
	}
	signalingStatus(&so, ios.ErrOut, "master")
	mm, err := startMasterMetrics(opts.Metrics, ios.ErrOut)
	if err != nil {
		return err
	}
	defer mm.close()
	storageOut := ios.ErrOut
	if opts.AWS.JSON {
		storageOut = nil
	}
	mo := session.MasterOptions{Options: so, Video: video, Audio: audio, Storage: opts.Storage.options(storageOut), ProfilingReplies: !opts.NoProfiling,
		OnFrameSent: func(string, media.Codec, media.Frame) {
			if opts.Session.Seconds <= 0 {
				return
			}
			stopOnce.Do(func() {
				time.AfterFunc(opts.Session.duration(), func() {
					stopMu.Lock()
					stopped = true
					stopMu.Unlock()
					cancel()
				})
			})
		},
		OnPeer: func(ev session.PeerEvent) {
			if opts.AWS.JSON || opts.Storage.Enabled { // storage sessions print their own lines
				return
			}
			if ev.Joined {
				fmt.Fprintf(ios.ErrOut, "viewer %s joined\n", ev.ClientID)
				for _, mm := range ev.Mismatches {
					fmt.Fprintf(ios.ErrOut, "viewer %s gets no %s: no codec it offered carries the source (%s); it offered %s\n",
						ev.ClientID, mm.Kind, mm.Source, strings.Join(mm.Offered, ", "))
				}
				return
			}
			fmt.Fprintf(ios.ErrOut, "viewer %s left", ev.ClientID)
			if ev.Err != nil {
				fmt.Fprintf(ios.ErrOut, ": %v", ev.Err)
			}
			fmt.Fprintln(ios.ErrOut)
			ev.Timeline.WriteTo(ios.ErrOut)
		},
	}
	attach := mm.instrument(arn.Name, &mo)
	m, err := session.NewMaster(mo)
	if err != nil {
		return err
	}
	defer m.Close()
	attach(m)
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range []*media.Source{video, audio} {
		if s == nil {
			continue
		}
		g.Go(func() error { return runSource(gctx, s) })
	}
	g.Go(func() error { return m.Run(gctx) })
	g.Go(func() error { // as master --config logs it (masterconfig.go)
		select {
		case <-m.Ready(): // signaling connected and ICE servers fetched
			so.Logger.Info("channel connected", "arn", arn.String(), "setup_ms", time.Since(tl.Start()).Milliseconds())
		case <-gctx.Done():
		}
		return nil
	})
	if opts.Session.Seconds > 0 {
		fmt.Fprintf(ios.ErrOut, "master: --seconds %v counts media from the first frame sent to a viewer; waiting for a viewer\n", opts.Session.Seconds)
	}
	if opts.Video != "-" && opts.Audio != "-" && ios.In != nil {
		go func() { // lines on stdin to every viewer; ends with the process
			sc := bufio.NewScanner(ios.In)
			for sc.Scan() {
				if n, err := m.SendText(sc.Text()); err != nil || n == 0 {
					fmt.Fprintf(ios.ErrOut, "sent to %d viewers %v\n", n, errOrEmpty(err))
				}
			}
		}()
	}
	err = g.Wait()
	stopMu.Lock()
	if stopped && errors.Is(err, context.Canceled) {
		err = nil
	}
	stopMu.Unlock()
	out := masterJSON{ChannelARN: arn.String(), Timeline: m.Timeline(), Viewers: m.Peers(), Stats: m.Stats(), Storage: m.StorageEvents()}
	if opts.AWS.JSON {
		if werr := writeJSON(ios.Out, out); werr != nil && err == nil {
			err = werr
		}
		return err
	}
	fmt.Fprintln(ios.Out, "master timeline:")
	out.Timeline.WriteTo(ios.Out)
	for _, v := range out.Viewers {
		peerKind := "viewer"
		if opts.Storage.Enabled {
			peerKind = "storage session"
		}
		fmt.Fprintf(ios.Out, "%s %s: %d video frames, %d audio frames, %d bytes\n", peerKind, v.ClientID, v.Stats.VideoFrames, v.Stats.AudioFrames, v.Stats.Bytes)
		v.Timeline.WriteTo(ios.Out)
	}
	writeStorageTimeline(ios.Out, out.Storage, &opts.Storage)
	fmt.Fprintf(ios.Out, "viewers %d, frames packetized once: video %d, audio %d\n", out.Stats.ViewersTotal, out.Stats.VideoPacketized, out.Stats.AudioPacketized)
	return err
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}
