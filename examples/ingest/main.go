// Command ingest records a channel's media into a Kinesis video stream
// through WebRTC ingestion (JoinStorageSession): a master with
// session.MasterOptions.Storage. With -emulator it runs against an
// in-process emulator, sets up the stream and media storage itself, and
// exports what the emulator stored to ingest.mkv.
//
//	go run ./examples/ingest -channel cam -seconds 30     # AWS: media storage must be ENABLED
//	go run ./examples/ingest -emulator -seconds 5          # an in-process emulator
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

func main() {
	name := flag.String("channel", "ingest", "signaling channel name (its media storage ENABLED)")
	region := flag.String("region", "", "AWS region (default: AWS_REGION or the profile's)")
	seconds := flag.Float64("seconds", 5, "how long to ingest")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator instead of AWS")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*seconds*float64(time.Second))+time.Minute)
	defer cancel()

	var cfg aws.Config
	var ropts resolve.Options
	var e *emulator.Emulator
	var opts session.Options
	if *emu {
		var err error
		if e, err = emulator.Start(ctx, emulator.Options{}); err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		cfg, ropts.STUNURL = emulatortest.Config(e), e.STUNURL()
		if _, err := emulatortest.CreateChannel(ctx, e, *name); err != nil {
			log.Fatal(err)
		}
		// The stream that keeps the media, and the channel pointed at it.
		c := kinesisvideo.NewFromConfig(cfg)
		s, err := c.CreateStream(ctx, &kinesisvideo.CreateStreamInput{StreamName: aws.String(*name + "-stream"), DataRetentionInHours: aws.Int32(1)})
		if err != nil {
			log.Fatal(err)
		}
		d, err := c.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: name})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := c.UpdateMediaStorageConfiguration(ctx, &kinesisvideo.UpdateMediaStorageConfigurationInput{ChannelARN: d.ChannelInfo.ChannelARN,
			MediaStorageConfiguration: &types.MediaStorageConfiguration{Status: types.MediaStorageConfigurationStatusEnabled, StreamARN: s.StreamARN}}); err != nil {
			log.Fatal(err)
		}
		opts.HTTPClient, opts.SettingEngine = emulatortest.HTTPClient(e), emulatortest.Loopback
	} else {
		res, err := creds.Load(ctx, creds.Options{Region: *region})
		if err != nil {
			log.Fatal(err)
		}
		cfg = res.Config
	}
	r := resolve.New(cfg, ropts)
	arn, err := r.ARNByName(ctx, *region, *name)
	if err != nil {
		log.Fatal(err)
	}
	opts.ChannelARN, opts.Resolver, opts.Credentials = arn, r, cfg.Credentials

	video, _ := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	audio, _ := media.NewSource(media.DemoOpus(), media.SourceOptions{Codec: media.CodecOpus, Loop: true})
	master, err := session.NewMaster(session.MasterOptions{Options: opts, Video: video, Audio: audio,
		Storage: &session.StorageOptions{OnEvent: func(ev session.StorageEvent) {
			fmt.Printf("%8.3f s  storage %s %s\n", ev.Since.Seconds(), ev.Kind, ev.Session)
		}}})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, stop := context.WithTimeout(ctx, time.Duration(*seconds*float64(time.Second)))
	defer stop()
	go video.Run(runCtx)
	go audio.Run(runCtx)
	if err := master.Run(runCtx); err != nil && runCtx.Err() == nil {
		log.Fatal(err)
	}
	master.Close()
	if e == nil {
		return
	}
	// The emulator finishes the session's last fragment once the master is gone.
	for deadline := time.Now().Add(10 * time.Second); len(e.StorageSessions(arn.String())) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stored, err := e.StoredMedia()
	if err != nil || len(stored) == 0 {
		log.Fatalf("no stored media: %v", err)
	}
	out, err := os.Create("ingest.mkv")
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	res, err := stored[0].Export(out, time.Time{}, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("stored %d fragments in stream %s; exported %s (%d video, %d audio frames) to ingest.mkv\n",
		len(stored[0].Fragments), stored[0].Name, res.Last.Sub(res.First).Round(100*time.Millisecond), res.VideoFrames, res.AudioFrames)
}
