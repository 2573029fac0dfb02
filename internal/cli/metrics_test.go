package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
)

var metricsAddr = regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`)

// get fetches url and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestMetricsListenFlags runs `kvsrtc emulator --metrics-listen` and
// `kvsrtc master --metrics-listen` and scrapes both: the flags reach a
// live endpoint (the metrics package's own test checks the values).
func TestMetricsListenFlags(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut},
			[]string{"master", "--channel-name", "cam", "--metrics-listen", "127.0.0.1:0"})
	}()
	var addr string
	waitUntil(t, 30*time.Second, "the metrics address", func() bool {
		m := metricsAddr.FindStringSubmatch(errOut.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	waitUntil(t, 30*time.Second, "signaling_connected 1", func() bool {
		_, body := get(t, "http://"+addr+"/metrics")
		return strings.Contains(body, `kvsrtc_signaling_connected{channel="cam"} 1`)
	})
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || !strings.Contains(body, `"signalingConnected":true`) {
		t.Errorf("healthz %d %s", code, body)
	}

	var emuErr lockedBuffer
	emuDone := make(chan int, 1)
	go func() {
		emuDone <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &emuErr},
			[]string{"emulator", "--metrics-listen", "127.0.0.1:0"})
	}()
	var emuAddr string
	waitUntil(t, 30*time.Second, "the emulator's metrics address", func() bool {
		m := metricsAddr.FindStringSubmatch(emuErr.String())
		if m != nil {
			emuAddr = m[1]
		}
		return m != nil
	})
	waitUntil(t, 30*time.Second, "the emulator's metrics", func() bool {
		code, body := get(t, "http://"+emuAddr+"/metrics")
		return code == 200 && strings.Contains(body, `kvsrtc_emulator_connections{role="MASTER"} 0`)
	})
	cancel()
	for _, ch := range []chan int{done, emuDone} {
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("a command did not stop")
		}
	}
}
