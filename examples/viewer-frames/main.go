// Command viewer-frames is a KVS viewer that writes every video frame it
// receives whole to its own file (frame-000001.h264 as Annex-B, or .vp8),
// for a decoder, a model or a test to pick up, and a frames.txt with one
// line per frame (sequence, size, CRC-32C, key or delta).
//
//	go run ./examples/viewer-frames -channel my-channel -out frames/
//	go run ./examples/viewer-frames -emulator -out frames/   # offline, with an in-process master
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

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
	out := flag.String("out", "frames", "directory for the frame files")
	frames := flag.Int("frames", 0, "stop after this many video frames (0: until Ctrl-C; with -emulator: 30)")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator with a master sending the demo clip")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}

	var opts session.Options
	if *emu {
		e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
		if err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		arn, err := emulatortest.CreateChannel(ctx, e, *name)
		if err != nil {
			log.Fatal(err)
		}
		m := startMaster(ctx, sessiontest.Options(e, arn))
		defer m.Close()
		opts = sessiontest.Options(e, arn)
		if *frames == 0 {
			*frames = 30
		}
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

	var mu sync.Mutex
	var sums *media.FrameLog
	var writeErr error
	n := 0
	v, err := session.NewViewer(session.ViewerOptions{Options: opts, ClientID: "frame-writer", VideoFrames: *frames,
		// OnFrame runs on the track's goroutine with each frame received whole.
		OnFrame: func(c media.Codec, f media.Frame) {
			if !c.IsVideo() {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if *frames > 0 && n >= *frames {
				return // Run is ending; a frame may still arrive meanwhile
			}
			if sums == nil {
				sums = media.NewFrameLog(c)
			}
			sums.Add(f)
			n++
			path := filepath.Join(*out, fmt.Sprintf("frame-%06d.%s", n, c))
			if err := os.WriteFile(path, f.Data, 0o644); err != nil && writeErr == nil {
				writeErr = err
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	go func() {
		<-v.Ready()
		log.Printf("connected to the master of %s", opts.ChannelARN.Name)
	}()
	if err := v.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if writeErr != nil {
		log.Fatal(writeErr)
	}
	if sums != nil {
		f, err := os.Create(filepath.Join(*out, "frames.txt"))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := sums.WriteTo(f); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("wrote %d frames to %s\n", n, *out)
}

// startMaster runs a master sending the demo clip, for -emulator.
func startMaster(ctx context.Context, opts session.Options) *session.Master {
	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.NewMaster(session.MasterOptions{Options: opts, Video: video})
	if err != nil {
		log.Fatal(err)
	}
	go video.Run(ctx)
	go m.Run(ctx)
	select {
	case <-m.Ready():
	case <-time.After(15 * time.Second):
		log.Fatal("the in-process master did not connect")
	}
	return m
}
