package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
)

// drive sends ICE_CANDIDATE frames from random viewers at rate per second;
// each master echoes them back to their sender. It returns the round-trip
// times, how many were sent and how many never came back within 5 s.
func drive(ctx context.Context, conns [][]*websocket.Conn, rate int, dur time.Duration) ([]time.Duration, int, int) {
	type key struct{ ch, v int }
	var mu sync.Mutex
	pending := map[string]time.Time{}
	var lat []time.Duration
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, cs := range conns {
		master := cs[0]
		wg.Add(1)
		go func() { // the master echoes every candidate to its sender
			defer wg.Done()
			for {
				_, data, err := master.Read(ctx)
				if err != nil {
					return
				}
				var f frame
				if json.Unmarshal(data, &f) != nil || f.MessageType != "ICE_CANDIDATE" {
					continue
				}
				out := `{"action":"ICE_CANDIDATE","messagePayload":"` + f.MessagePayload + `","recipientClientId":"` + f.SenderClientID + `"}`
				if master.Write(ctx, websocket.MessageText, []byte(out)) != nil {
					return
				}
			}
		}()
		for v := 1; v < len(cs); v++ {
			c := cs[v]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, data, err := c.Read(ctx)
					if err != nil {
						return
					}
					at := time.Now()
					var f frame
					if json.Unmarshal(data, &f) != nil || f.MessageType != "ICE_CANDIDATE" {
						continue
					}
					mu.Lock()
					if t, ok := pending[f.MessagePayload]; ok {
						delete(pending, f.MessagePayload)
						lat = append(lat, at.Sub(t))
					}
					mu.Unlock()
				}
			}()
		}
		_ = i
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	sent := 0
	var sendWG sync.WaitGroup
	sem := make(chan struct{}, 256)
	for time.Since(start) < dur {
		due := start.Add(time.Duration(sent) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // pacing the offered load
		}
		k := key{rand.IntN(len(conns)), 1 + rand.IntN(viewersPerChannel)}
		sent++
		p := base64.StdEncoding.EncodeToString([]byte(`{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 ` +
			strconv.Itoa(sent) + ` typ host","sdpMid":"0","sdpMLineIndex":0}`))
		mu.Lock()
		pending[p] = time.Now()
		mu.Unlock()
		sem <- struct{}{}
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			defer func() { <-sem }()
			_ = conns[k.ch][k.v].Write(ctx, websocket.MessageText, []byte(`{"action":"ICE_CANDIDATE","messagePayload":"`+p+`"}`))
		}()
	}
	sendWG.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		left := len(pending)
		mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // bounded wait for the last echoes
	}
	cancel()
	for _, cs := range conns {
		for _, c := range cs {
			c.CloseNow()
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return lat, sent, len(pending)
}

type frame struct {
	MessageType    string `json:"messageType"`
	MessagePayload string `json:"messagePayload"`
	SenderClientID string `json:"senderClientId"`
}

// dialRetry opens a WebSocket, retrying the service's connect-rate refusal
// (400 ClientLimitExceededException) for up to a minute.
func dialRetry(ctx context.Context, hc *http.Client, u string) (*websocket.Conn, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
		if err == nil {
			return c, nil
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(time.Duration(300+rand.IntN(400)) * time.Millisecond) // back off from the connect quota
	}
}

func presign(c aws.Credentials, region, endpoint, arn, clientID string) string {
	q := url.Values{"X-Amz-ChannelARN": {arn}, "X-Amz-Expires": {"299"}}
	if clientID != "" {
		q.Set("X-Amz-ClientId", clientID)
	}
	req, _ := http.NewRequest(http.MethodGet, endpoint+"?"+q.Encode(), nil)
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), c, req, emptySHA256, "kinesisvideo", region, time.Now())
	if err != nil {
		fail(err)
	}
	return u
}
