// Command demo streams the embedded demo clip from a master to a viewer
// through an in-process KVS emulator and prints the viewer's timeline: the
// session package end to end in one program, no AWS account.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.CertPool()}}}
	c := e.Credential()
	cfg := aws.Config{Region: e.Region(), BaseEndpoint: aws.String(e.URL()), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")}
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("example")})
	if err != nil {
		log.Fatal(err)
	}
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		log.Fatal(err)
	}
	opts := func() session.Options {
		return session.Options{ChannelARN: arn, Credentials: cfg.Credentials, HTTPClient: hc,
			Resolver: resolve.New(cfg, resolve.Options{STUNURL: e.STUNURL()}),
			SettingEngine: func(se *webrtc.SettingEngine) { // everything is in this process: stay on loopback
				se.SetIncludeLoopbackCandidate(true)
				se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
				se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
			}}
	}

	video, _ := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	audio, _ := media.NewSource(media.DemoOpus(), media.SourceOptions{Codec: media.CodecOpus, Loop: true})
	master, err := session.NewMaster(session.MasterOptions{Options: opts(), Video: video, Audio: audio})
	if err != nil {
		log.Fatal(err)
	}
	defer master.Close()
	go video.Run(ctx)
	go audio.Run(ctx)
	go master.Run(ctx)

	rec, err := os.Create("example.mkv")
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Close()
	viewer, err := session.NewViewer(session.ViewerOptions{Options: opts(), ClientID: "example-viewer", Record: rec, Duration: 3 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	if err := viewer.Run(ctx); err != nil {
		log.Fatal(err)
	}
	viewer.Timeline().WriteTo(os.Stdout)
	s := viewer.Stats()
	fmt.Printf("%d video and %d audio frames recorded to example.mkv\n", s.Video.Frames, s.Audio.Frames)
}
