// Command track-master is a KVS master on your own pion track: the program
// owns a webrtc.TrackLocalStaticSample and writes H.264 samples to it at its
// own pace (here the embedded demo clip, looped; in a product an encoder or
// a camera SDK); session.Master adds the track to every viewer's
// PeerConnection. ConfigureAPI adds an interceptor (pion's TWCC sender),
// OnPeerConnection sees each viewer's PeerConnection.
//
//	go run ./examples/track-master -channel my-channel    # AWS
//	go run ./examples/track-master -emulator              # offline, with a checking viewer
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

func main() {
	name := flag.String("channel", "demo", "signaling channel name")
	region := flag.String("region", "", "AWS region (default: AWS_REGION or the profile's)")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator, with a viewer that checks the frames")
	frames := flag.Int("frames", 60, "with -emulator: frames the viewer checks")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts session.Options
	var e *emulator.Emulator
	if *emu {
		var err error
		if e, err = emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"}); err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		arn, err := emulatortest.CreateChannel(ctx, e, *name)
		if err != nil {
			log.Fatal(err)
		}
		opts = sessiontest.Options(e, arn)
	} else {
		res, err := creds.Load(ctx, creds.Options{Region: *region})
		if err != nil {
			log.Fatal(err)
		}
		r := resolve.New(res.Config, resolve.Options{})
		arn, err := r.ARNByName(ctx, *region, *name)
		if err != nil {
			log.Fatal(err)
		}
		opts = session.Options{ChannelARN: arn, Resolver: r, Credentials: res.Config.Credentials}
	}
	// pion's hooks: the MediaEngine and interceptors (here TWCC feedback
	// for bandwidth estimation), and each viewer's PeerConnection.
	opts.ConfigureAPI = func(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
		f, err := twcc.NewHeaderExtensionInterceptor()
		if err != nil {
			return err
		}
		ir.Add(f)
		return nil
	}
	opts.OnPeerConnection = func(id string, pc *webrtc.PeerConnection) { log.Printf("viewer %s: peer connection made", id) }

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "my-camera")
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.NewMaster(session.MasterOptions{Options: opts, Tracks: []webrtc.TrackLocal{track}})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	<-m.Ready()
	log.Printf("master on channel %s", opts.ChannelARN.Name)

	written := media.NewFrameLog(media.CodecH264)
	pipeline := make(chan error, 1)
	go func() { pipeline <- writeClip(ctx, track, written) }()
	if !*emu {
		if err := <-pipeline; err != nil && !errors.Is(err, context.Canceled) {
			log.Fatal(err)
		}
		return
	}

	received := media.NewFrameLog(media.CodecH264)
	v, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, opts.ChannelARN), ClientID: "track-check",
		VideoFrames: *frames, OnFrame: func(_ media.Codec, f media.Frame) { received.Add(f) }})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := v.Run(vctx); err != nil {
		log.Fatal(err)
	}
	n, err := written.Match(received)
	fmt.Printf("viewer received %d frames; %d match frames written to the track (err %v)\n", received.Len(), n, err)
}

// writeClip is the app's pipeline: it writes the demo clip to the track,
// one sample per frame at 30 fps, looped, until ctx ends.
func writeClip(ctx context.Context, track *webrtc.TrackLocalStaticSample, log *media.FrameLog) error {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for {
		r, err := media.NewAnnexBReader(media.DemoH264(), 30)
		if err != nil {
			return err
		}
		for {
			f, err := r.ReadFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return ctx.Err()
			}
			log.Add(f) // before the write: a viewer may have it at once
			// Written before a viewer is connected, a sample reaches no one.
			if err := track.WriteSample(pmedia.Sample{Data: f.Data, Duration: time.Second / 30}); err != nil {
				return err
			}
		}
	}
}
