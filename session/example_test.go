package session_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

// A master that sends the demo clip and a viewer that receives it, through
// an in-process emulator. Against AWS the options are a resolve.Resolver
// on your aws.Config, its Credentials and no HTTPClient or SettingEngine
// (sessiontest.Options wires all four to the emulator).
func ExampleNewMaster() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "garage")
	if err != nil {
		log.Fatal(err)
	}

	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	if err != nil {
		log.Fatal(err)
	}
	go video.Run(ctx)
	m, err := session.NewMaster(session.MasterOptions{Options: sessiontest.Options(e, arn), Video: video})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	<-m.Ready() // connected to signaling: viewers are answered from now on

	var keyframes atomic.Int64
	v, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "phone", VideoFrames: 30,
		OnFrame: func(c media.Codec, f media.Frame) {
			if f.Keyframe {
				keyframes.Add(1)
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	if err := v.Run(ctx); err != nil { // until 30 video frames
		log.Fatal(err)
	}
	fmt.Println("video frames:", v.Stats().Video.Frames, "keyframes:", keyframes.Load() >= 1)
	// Output: video frames: 30 keyframes: true
}

// A master on your own pion track: whatever writes samples to it (an
// encoder, a camera SDK) reaches every viewer.
func ExampleMasterOptions_tracks() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "camera")
	if err != nil {
		log.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "camera")
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.NewMaster(session.MasterOptions{Options: sessiontest.Options(e, arn), Tracks: []webrtc.TrackLocal{track}})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	<-m.Ready()

	v, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "tablet", VideoFrames: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	go func() { // the app's pipeline: here the VP8 demo clip, once the viewer is up
		<-v.Ready()
		r, _ := media.NewIVFReader(media.DemoVP8())
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for ctx.Err() == nil {
			f, err := r.ReadFrame()
			if err != nil {
				return
			}
			<-tick.C
			_ = track.WriteSample(pmedia.Sample{Data: f.Data, Duration: time.Second / 30})
		}
	}()
	if err := v.Run(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("codec:", v.Stats().Video.Codec, "frames:", v.Stats().Video.Frames)
	// Output: codec: vp8 frames: 10
}

// Resolved ICE servers as pion's, for a webrtc.Configuration of your own.
func ExampleICEServers() {
	cfg := resolve.ICEConfig{Servers: []resolve.ICEServer{
		{URLs: []string{"stun:stun.kinesisvideo.us-west-2.amazonaws.com:443"}},
		{URLs: []string{"turn:35.1.2.3:443?transport=udp", "turns:35-1-2-3.t-1.kinesisvideo.us-west-2.amazonaws.com:443?transport=tcp"},
			Username: "1700000000:djE6...", Credential: "secret"},
	}}
	pc := webrtc.Configuration{ICEServers: session.ICEServers(cfg, session.RelayTLS)}
	for _, s := range pc.ICEServers {
		fmt.Println(s.URLs, s.Username != "")
	}
	// Output:
	// [stun:stun.kinesisvideo.us-west-2.amazonaws.com:443] false
	// [turns:35-1-2-3.t-1.kinesisvideo.us-west-2.amazonaws.com:443?transport=tcp] true
}
