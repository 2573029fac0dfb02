// Command firststep is the first step of every KVS WebRTC client:
// credentials, then a channel's signaling endpoints and ICE servers (STUN,
// and TURN with temporary credentials), as pion wants them.
//
//	go run ./examples/firststep -channel my-channel          # AWS (default credential chain)
//	go run ./examples/firststep -emulator                    # an in-process emulator
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

func main() {
	name := flag.String("channel", "demo", "signaling channel name")
	region := flag.String("region", "", "AWS region (default: AWS_REGION or the profile's)")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator instead of AWS")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var cfg aws.Config
	var ropts resolve.Options
	if *emu {
		e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
		if err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		if _, err := emulatortest.CreateChannel(ctx, e, *name); err != nil {
			log.Fatal(err)
		}
		cfg, ropts.STUNURL = emulatortest.Config(e), e.STUNURL()
	} else {
		// The AWS default chain (env, profile, SSO, instance role), with
		// AWS_CA_BUNDLE; a device would use CredentialsURL or IoT.
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
	fmt.Println("channel", arn)
	for _, role := range []channel.Role{channel.RoleMaster, channel.RoleViewer} {
		ep, err := r.Endpoints(ctx, arn, role)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: wss %s, https %s\n", role, ep.WSS, ep.HTTPS)
	}
	ep, _ := r.Endpoints(ctx, arn, channel.RoleViewer) // cached
	ice, err := r.ICEServers(ctx, ep, "firststep")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range ice.Redacted().Servers {
		fmt.Printf("ice server %v user %q credential %q\n", s.URLs, s.Username, s.Credential)
	}
	// What a webrtc.Configuration takes:
	fmt.Printf("%d pion ICE servers, fetched again after %s\n", len(session.ICEServers(ice, session.RelayAny)), ice.Expires.Format(time.RFC3339))
}
