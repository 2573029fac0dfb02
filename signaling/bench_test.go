package signaling

import (
	"context"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

func BenchmarkPresign(b *testing.B) {
	in := PresignInput{
		Endpoint: "wss://v-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com", Region: "us-west-2",
		ChannelARN: andARN, ClientID: "viewer-1", Time: time.Date(2023, 7, 24, 8, 7, 2, 0, time.UTC),
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := Presign(ctx, testCreds, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip sends an SDP offer from a viewer and receives it on the
// master, through the test relay over TLS on loopback.
func BenchmarkRoundTrip(b *testing.B) {
	fs := newFakeService(b)
	master, err := Dial(context.Background(), fs.options(channel.RoleMaster, "", newRecorder()))
	if err != nil {
		b.Fatal(err)
	}
	defer master.Close()
	viewer, err := Dial(context.Background(), fs.options(channel.RoleViewer, "viewer-1", newRecorder()))
	if err != nil {
		b.Fatal(err)
	}
	defer viewer.Close()
	<-fs.accepted
	<-fs.accepted
	ctx := context.Background()
	for b.Loop() {
		if _, err := viewer.SendOffer(ctx, "", testOffer); err != nil {
			b.Fatal(err)
		}
		if m := <-master.Messages(); m.MessageType != wire.MessageTypeSDPOffer {
			b.Fatalf("got %s", m.MessageType)
		}
	}
}
