// Command presign-backend is a backend that hands out presigned viewer
// sessions, so that browsers and apps view a channel without AWS
// credentials: GET /viewer-session answers a fresh client id, the channel's
// ICE servers and a WSS URL presigned for ConnectAsViewer that expires in a
// minute. It is what `kvsrtc web` does (package web adds the page), as a
// library: resolve for the endpoints and ICE servers, signaling.Presign for
// the URL, signed on the resolver's skew-corrected clock.
//
//	go run ./examples/presign-backend -channel my-channel -listen 127.0.0.1:8080
//	go run ./examples/presign-backend -emulator   # offline: one session, opened to check it
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// viewerSession is what a client gets: all it needs to connect as a
// viewer, no AWS credentials.
type viewerSession struct {
	ChannelARN string              `json:"channelArn"`
	ClientID   string              `json:"clientId"`
	SignedURL  string              `json:"signedUrl"`
	Expires    time.Time           `json:"expires"`
	ICEServers []resolve.ICEServer `json:"iceServers"`
}

// backend signs viewer sessions for one channel.
type backend struct {
	r     *resolve.Resolver
	creds aws.CredentialsProvider
	arn   channel.ARN
}

func (b *backend) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s, err := b.session(req.Context())
	if err != nil {
		log.Printf("viewer session: %v", err) // errors never carry the URL or a secret
		http.Error(w, "cannot make a viewer session", http.StatusBadGateway)
		return
	}
	log.Printf("viewer session %s: %s", s.ClientID, wire.RedactURL(s.SignedURL))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s)
}

func (b *backend) session(ctx context.Context) (viewerSession, error) {
	id := "web-" + rand.Text()[:10]
	ep, err := b.r.Endpoints(ctx, b.arn, channel.RoleViewer) // cached
	if err != nil {
		return viewerSession{}, err
	}
	ice, err := b.r.ICEServers(ctx, ep, id)
	if err != nil {
		return viewerSession{}, err
	}
	c, err := b.creds.Retrieve(ctx)
	if err != nil {
		return viewerSession{}, err
	}
	now, expires := b.r.Clock()(), time.Minute
	u, err := signaling.Presign(ctx, c, signaling.PresignInput{Endpoint: ep.WSS, Region: b.arn.Region,
		ChannelARN: b.arn.String(), ClientID: id, Time: now, Expires: expires})
	if err != nil {
		return viewerSession{}, err
	}
	return viewerSession{ChannelARN: b.arn.String(), ClientID: id, SignedURL: u, Expires: now.Add(expires), ICEServers: ice.Servers}, nil
}

func main() {
	name := flag.String("channel", "demo", "signaling channel name")
	region := flag.String("region", "", "AWS region (default: AWS_REGION or the profile's)")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on (keep it private or put authentication in front)")
	emu := flag.Bool("emulator", false, "run against an in-process KVS emulator: serve one session and check that its URL opens")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if !*emu {
		cancel()
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()

	var cfg aws.Config
	var ropts resolve.Options
	var e *emulator.Emulator
	if *emu {
		var err error
		if e, err = emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"}); err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		if _, err := emulatortest.CreateChannel(ctx, e, *name); err != nil {
			log.Fatal(err)
		}
		cfg, ropts.STUNURL, *listen = emulatortest.Config(e), e.STUNURL(), "127.0.0.1:0"
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
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /viewer-session", &backend{r: r, creds: cfg.Credentials, arn: arn})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	log.Printf("serving viewer sessions for %s on http://%s/viewer-session", arn.Name, ln.Addr())
	if !*emu {
		<-ctx.Done()
		return
	}

	// What a browser does: fetch a session, open its URL.
	resp, err := http.Get("http://" + ln.Addr().String() + "/viewer-session")
	if err != nil {
		log.Fatal(err)
	}
	var s viewerSession
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	conn, _, err := websocket.Dial(ctx, s.SignedURL, &websocket.DialOptions{HTTPClient: emulatortest.HTTPClient(e)})
	if err != nil {
		log.Fatalf("open the presigned URL: %v", err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	fmt.Printf("session for %s: %d ICE servers, the presigned URL opened a viewer connection\n", s.ClientID[:4], len(s.ICEServers))
}
