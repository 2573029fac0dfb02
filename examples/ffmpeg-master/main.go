// Command ffmpeg-master is a KVS master fed by ffmpeg on a pipe: H.264
// Annex-B on stdin, paced at -fps, sent to every viewer that connects.
//
//	ffmpeg -re -f lavfi -i testsrc=size=640x480:rate=30 \
//	  -c:v libx264 -pix_fmt yuv420p -profile:v baseline -bf 0 -g 30 -f h264 - |
//	  go run ./examples/ffmpeg-master -channel my-channel
//
// With -emulator it runs against an in-process emulator and starts a viewer
// there too, which ends the program once it has -frames video frames.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/pion/webrtc/v4"

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
	fps := flag.Float64("fps", 30, "frame rate of the H.264 on stdin (Annex-B carries no timestamps)")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator, with a viewer")
	frames := flag.Int("frames", 30, "with -emulator: stop once the viewer has this many video frames")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The H.264 on stdin: a Source reads it once and fans it out, starting
	// each viewer at the latest keyframe.
	video, err := media.NewSource(os.Stdin, media.SourceOptions{Codec: media.CodecH264, FPS: *fps})
	if err != nil {
		log.Fatal(err)
	}
	var opts session.Options
	var e *emulator.Emulator
	if *emu {
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
	opts.OnConnectionStateChange = func(id string, s webrtc.PeerConnectionState) { log.Printf("viewer %s: %s", id, s) }

	m, err := session.NewMaster(session.MasterOptions{Options: opts, Video: video})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	runErr := make(chan error, 2)
	go func() { runErr <- video.Run(ctx) }() // ends at the end of stdin
	go func() { runErr <- m.Run(ctx) }()
	select {
	case <-m.Ready():
		log.Printf("master on channel %s; waiting for viewers", opts.ChannelARN.Name)
	case err := <-runErr:
		log.Fatal(err)
	}
	if !*emu {
		if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
			log.Fatal(err)
		}
		return
	}

	vopts := sessiontest.Options(e, opts.ChannelARN)
	v, err := session.NewViewer(session.ViewerOptions{Options: vopts, ClientID: "ffmpeg-check", VideoFrames: *frames})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := v.Run(vctx); err != nil {
		log.Fatal(err)
	}
	s := v.Stats().Video
	fmt.Printf("viewer received %d %s frames (%d keyframes)\n", s.Frames, s.Codec, s.Keyframes)
}
