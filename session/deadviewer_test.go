package session_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// Environment of the viewer process TestMasterDropsDeadViewer starts (this
// test binary again, running TestHelperViewerProcess).
const (
	helperEnv = "KVSRTC_HELPER_VIEWER" // emulator URL
	helperCA  = "KVSRTC_HELPER_CA"
	helperARN = "KVSRTC_HELPER_ARN"
	helperTS  = "KVSRTC_HELPER_STUN"
)

// TestHelperViewerProcess is not a test: run by TestMasterDropsDeadViewer
// in a child process, it is a viewer that runs until it is killed.
func TestHelperViewerProcess(t *testing.T) {
	u := os.Getenv(helperEnv)
	if u == "" {
		t.Skip("helper process only")
	}
	pem, err := os.ReadFile(os.Getenv(helperCA))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	hc := &http.Client{Transport: tr}
	c := emulator.DevCredential
	cfg := aws.Config{Region: "us-west-2", BaseEndpoint: aws.String(u), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")}
	arn, err := channel.ParseARN(os.Getenv(helperARN))
	if err != nil {
		t.Fatal(err)
	}
	v, err := session.NewViewer(session.ViewerOptions{ClientID: "doomed", Options: session.Options{ChannelARN: arn,
		Resolver:    resolve.New(cfg, resolve.Options{STUNURL: os.Getenv(helperTS)}),
		Credentials: cfg.Credentials, HTTPClient: hc, SettingEngine: loopback}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // killed long before
	defer cancel()
	_ = v.Run(ctx)
}

// A viewer killed with SIGKILL sends nothing more: no DTLS close, no
// signaling. The master drops it once ICE has heard nothing for
// ICEDisconnectedTimeout + ICEDeadTimeout (10 s; pion's defaults took
// 30 s), freeing its slot and goroutines.
func TestMasterDropsDeadViewer(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in the helper process")
	}
	v := newEnv(t, "dead")
	left := make(chan session.PeerEvent, 4)
	joined := make(chan struct{}, 4)
	m := liveMaster(t, v, func(o *session.MasterOptions) {
		o.OnPeer = func(ev session.PeerEvent) {
			if ev.Joined {
				joined <- struct{}{}
			} else {
				left <- ev
			}
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperViewerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+v.e.URL(), helperCA+"="+v.e.CABundlePath(),
		helperARN+"="+v.arn.String(), helperTS+"="+v.e.STUNURL())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case <-joined:
	case <-time.After(30 * time.Second):
		t.Fatal("the viewer process never joined")
	}
	// Let media flow, then kill it mid-stream.
	waitFor(t, 20*time.Second, "media sent to the viewer", func() bool {
		for _, p := range m.Peers() {
			if p.ClientID == "doomed" && p.Stats.VideoFrames > 30 {
				return true
			}
		}
		return false
	})
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-left:
		d := time.Since(killed)
		t.Logf("dead viewer dropped %v after SIGKILL: %v", d.Round(time.Millisecond), ev.Err)
		// 10 s, with room for a loaded machine; pion's defaults take 30 s.
		if d > 20*time.Second {
			t.Errorf("dropped after %v, want about %v", d, session.ICEDisconnectedTimeout+session.ICEDeadTimeout)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the master kept the dead viewer for 40 s")
	}
}
