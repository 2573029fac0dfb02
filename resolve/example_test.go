package resolve_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// The first step of every KVS client: a channel's signaling endpoints, then
// its ICE servers (STUN and TURN with temporary credentials). Against AWS,
// cfg comes from creds.Load (or config.LoadDefaultConfig) and STUNURL stays
// empty; here it is an in-process emulator.
func ExampleResolver() {
	ctx := context.Background()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "front-door")
	if err != nil {
		log.Fatal(err)
	}

	r := resolve.New(emulatortest.Config(e), resolve.Options{STUNURL: e.STUNURL()})
	ep, err := r.Endpoints(ctx, arn, channel.RoleViewer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wss:", strings.HasPrefix(ep.WSS, "wss://"), "https:", strings.HasPrefix(ep.HTTPS, "https://"))
	cfg, err := r.ICEServers(ctx, ep, "viewer-1")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range cfg.Servers {
		scheme, _, _ := strings.Cut(s.URLs[0], ":")
		fmt.Printf("%s: %d urls, credential %q\n", scheme, len(s.URLs), s.Redacted().Credential)
	}
	// Output:
	// wss: true https: true
	// stun: 1 urls, credential ""
	// turn: 3 urls, credential "****"
	// turn: 3 urls, credential "****"
}
