package signaling_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// A master and a viewer on one channel: the viewer sends an offer, the
// master reads it from Messages and answers the viewer by its client id.
// Endpoints come from a resolve.Resolver; an emulator stands in for AWS.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "intercom")
	if err != nil {
		log.Fatal(err)
	}
	cfg := emulatortest.Config(e)
	r := resolve.New(cfg, resolve.Options{STUNURL: e.STUNURL()})
	dial := func(role channel.Role, clientID string) *signaling.Client {
		c, err := signaling.Dial(ctx, signaling.Options{
			Role: role, ChannelARN: arn.String(), ClientID: clientID,
			Credentials: cfg.Credentials, HTTPClient: emulatortest.HTTPClient(e), Clock: r.Clock(),
			Endpoint: func(ctx context.Context) (string, error) {
				ep, err := r.Endpoints(ctx, arn, role)
				return ep.WSS, err
			},
		})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	master := dial(channel.RoleMaster, "")
	defer master.Close()
	viewer := dial(channel.RoleViewer, "viewer-1")
	defer viewer.Close()

	if _, err := viewer.SendOffer(ctx, "", wire.SessionDescription{Type: "offer", SDP: "v=0\r\n"}); err != nil {
		log.Fatal(err)
	}
	m := <-master.Messages()
	fmt.Println(m.MessageType, "from", m.SenderClientID)
	if _, err := master.SendAnswer(ctx, m.SenderClientID, wire.SessionDescription{Type: "answer", SDP: "v=0\r\n"}); err != nil {
		log.Fatal(err)
	}
	a := <-viewer.Messages()
	sd, _ := a.SessionDescription()
	fmt.Println(a.MessageType, "from the master:", a.FromMaster(), sd.Type)
	// Output:
	// SDP_OFFER from viewer-1
	// SDP_ANSWER from the master: true answer
}
