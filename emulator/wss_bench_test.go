//go:build unix

package emulator_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// The WSS benchmarks hold 1,000 WebSocket connections to one in-process
// emulator: 100 channels, each with a master and 9 viewers, dialled with
// coder/websocket on URLs presigned by aws-sdk-go-v2's v4.PresignHTTP.
const (
	benchChannels = 100
	benchViewers  = 9 // per channel
	benchConns    = benchChannels * (1 + benchViewers)
)

// raiseNoFile makes room for both ends of every connection in this process
// (plus TLS, TURN and the test binary's own files). Go already lifts the
// soft limit to the hard one at start-up on Linux; this covers the rest.
func raiseNoFile(tb testing.TB, need uint64) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		tb.Fatalf("RLIMIT_NOFILE hard limit %d < %d needed for %d connections: raise it (ulimit -Hn)", lim.Max, need, benchConns)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatalf("setrlimit %d: %v", need, err)
	}
}

type benchChannel struct {
	arn, masterWSS, viewerWSS string
}

// wssBench is an emulator with benchChannels channels, unlimited connect and
// message rates, and room for benchViewers viewers each.
type wssBench struct {
	e        *emulator.Emulator
	http     *http.Client
	channels []benchChannel
}

func newWSSBench(b *testing.B) *wssBench {
	b.Helper()
	raiseNoFile(b, 2*benchConns+512)
	e := emulatortest.Start(b, emulator.Options{Limits: emulator.Limits{
		ConnectsPerSecond: -1, MaxViewers: benchViewers, SDPPerSecond: -1, ICEPerSecond: -1}})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 16
	w := &wssBench{e: e, http: &http.Client{Transport: tr}}
	b.Cleanup(tr.CloseIdleConnections)
	kv := kinesisvideo.New(kinesisvideo.Options{Region: e.Region(), BaseEndpoint: aws.String(e.URL()),
		Credentials: staticCreds(e.Credential()), HTTPClient: w.http})
	ctx := context.Background()
	endpoint := func(arn string, role types.ChannelRole) string {
		out, err := kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
			SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
				Protocols: []types.ChannelProtocol{types.ChannelProtocolWss}, Role: role}})
		if err != nil {
			b.Fatal(err)
		}
		return aws.ToString(out.ResourceEndpointList[0].ResourceEndpoint)
	}
	for i := range benchChannels {
		out, err := kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(fmt.Sprintf("bench-%03d", i))})
		if err != nil {
			b.Fatal(err)
		}
		arn := aws.ToString(out.ChannelARN)
		w.channels = append(w.channels, benchChannel{arn, endpoint(arn, types.ChannelRoleMaster), endpoint(arn, types.ChannelRoleViewer)})
	}
	return w
}

// presign signs a connect URL the way every KVS client does (§4.2).
func (w *wssBench) presign(b *testing.B, endpoint, arn, clientID string) string {
	q := url.Values{"X-Amz-ChannelARN": {arn}, "X-Amz-Expires": {"299"}}
	if clientID != "" {
		q.Set("X-Amz-ClientId", clientID)
	}
	req, _ := http.NewRequest(http.MethodGet, endpoint+"?"+q.Encode(), nil)
	c := w.e.Credential()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		req, emptySHA256, "kinesisvideo", w.e.Region(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return u
}

func viewerID(ch, v int) string { return fmt.Sprintf("c%03d-v%d", ch, v) }

// urls returns the presigned URLs of every connection: per channel the
// master, then its viewers.
func (w *wssBench) urls(b *testing.B) []string {
	var out []string
	for i, ch := range w.channels {
		out = append(out, w.presign(b, ch.masterWSS, ch.arn, ""))
		for v := range benchViewers {
			out = append(out, w.presign(b, ch.viewerWSS, ch.arn, viewerID(i, v)))
		}
	}
	return out
}

// dialAll opens every URL, 64 at a time.
func dialAll(ctx context.Context, hc *http.Client, urls []string) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, len(urls))
	var g errgroup.Group
	g.SetLimit(64)
	for i, u := range urls {
		g.Go(func() error {
			c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
			if err != nil {
				return fmt.Errorf("dial connection %d: %w", i, err)
			}
			conns[i] = c
			return nil
		})
	}
	err := g.Wait()
	if err != nil {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}
	return conns, err
}

// waitConnected polls the emulator until every channel has its master and
// all its viewers registered (want true), or none left (want false).
func (w *wssBench) waitConnected(b *testing.B, want bool) {
	b.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond) // bounded polling: who is connected has no notification
	defer tick.Stop()
	for {
		ok := true
		for _, ch := range w.channels {
			m, v := w.e.Connections(ch.arn)
			if all, none := m && len(v) == benchViewers, !m && len(v) == 0; (want && !all) || (!want && !none) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("connections not all %s after 30 s", map[bool]string{true: "registered", false: "gone"}[want])
		}
	}
}

type inFrame struct {
	MessageType    string `json:"messageType"`
	MessagePayload string `json:"messagePayload"`
	SenderClientID string `json:"senderClientId"`
}

type echoed struct {
	payload string
	at      time.Time
}

type benchViewer struct {
	conn *websocket.Conn
	echo chan echoed
}

// BenchmarkWSSRelay measures viewer → master → viewer round trips through
// the relay while 1,000 WebSocket connections are open. Every master echoes
// each ICE_CANDIDATE back to its sender. Clients and emulator share this
// process (and its CPUs), so the numbers include client-side work.
//
//   - sequential: one round trip at a time, each viewer in turn: latency
//     with no load (p50-µs, p99-µs).
//   - loaded: all 900 viewers at once, each keeping 4 round trips in flight
//     for 5 rounds: throughput (msgs/s counts frames relayed, two per round
//     trip) and latency under load.
func BenchmarkWSSRelay(b *testing.B) {
	w := newWSSBench(b)
	ctx := context.Background()
	conns, err := dialAll(ctx, w.http, w.urls(b))
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
		wg.Wait()
	})
	w.waitConnected(b, true)

	var viewers []*benchViewer
	for i := range w.channels {
		master := conns[i*(1+benchViewers)]
		wg.Add(1)
		go func() { // echo: ICE_CANDIDATE back to the viewer that sent it
			defer wg.Done()
			for {
				_, data, err := master.Read(ctx)
				if err != nil {
					return
				}
				var f inFrame
				if json.Unmarshal(data, &f) != nil || f.MessageType != "ICE_CANDIDATE" {
					continue
				}
				out := `{"action":"ICE_CANDIDATE","messagePayload":"` + f.MessagePayload + `","recipientClientId":"` + f.SenderClientID + `"}`
				if master.Write(ctx, websocket.MessageText, []byte(out)) != nil {
					return
				}
			}
		}()
		for v := range benchViewers {
			bv := &benchViewer{conn: conns[i*(1+benchViewers)+1+v], echo: make(chan echoed, 64)}
			viewers = append(viewers, bv)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, data, err := bv.conn.Read(ctx)
					if err != nil {
						return
					}
					at := time.Now()
					var f inFrame
					if json.Unmarshal(data, &f) == nil && f.MessageType == "ICE_CANDIDATE" {
						bv.echo <- echoed{f.MessagePayload, at}
					}
				}
			}()
		}
	}

	payload := func(seq int) string {
		return base64.StdEncoding.EncodeToString([]byte(`{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 ` +
			strconv.Itoa(seq) + ` typ host","sdpMid":"0","sdpMLineIndex":0}`))
	}
	send := func(v *benchViewer, p string) error {
		return v.conn.Write(ctx, websocket.MessageText, []byte(`{"action":"ICE_CANDIDATE","messagePayload":"`+p+`"}`))
	}
	recv := func(v *benchViewer, want string) (time.Time, error) {
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case e := <-v.echo:
			if e.payload != want {
				return time.Time{}, fmt.Errorf("echo out of order: got %q, want %q", e.payload, want)
			}
			return e.at, nil
		case <-t.C:
			return time.Time{}, fmt.Errorf("no echo within 10 s")
		}
	}

	b.Run("sequential", func(b *testing.B) {
		var lat []time.Duration
		seq := 0
		for b.Loop() {
			for _, v := range viewers {
				seq++
				p := payload(seq)
				t0 := time.Now()
				if err := send(v, p); err != nil {
					b.Fatal(err)
				}
				at, err := recv(v, p)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, at.Sub(t0))
			}
		}
		reportLatency(b, lat)
		b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "roundtrips/s")
	})

	b.Run("loaded", func(b *testing.B) {
		const window, rounds = 4, 5
		var mu sync.Mutex
		var lat []time.Duration
		for b.Loop() {
			var g errgroup.Group
			for i, v := range viewers {
				g.Go(func() error {
					mine := make([]time.Duration, 0, window*rounds)
					var sent [window]time.Time
					var ps [window]string
					for r := range rounds {
						for k := range window {
							ps[k] = payload(((i*rounds)+r)*window + k)
							sent[k] = time.Now()
							if err := send(v, ps[k]); err != nil {
								return err
							}
						}
						for k := range window {
							at, err := recv(v, ps[k])
							if err != nil {
								return err
							}
							mine = append(mine, at.Sub(sent[k]))
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		reportLatency(b, lat)
		b.ReportMetric(float64(2*len(lat))/b.Elapsed().Seconds(), "msgs/s")
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkWSSIdleConnMemory measures the memory of 1,000 idle signaling
// connections (HeapInuse+StackInuse after GC, before and after, per
// connection; goroutines likewise). Each iteration opens them all, waits
// until the emulator has registered every one, measures, and closes them.
//
//   - clients=subprocess: the clients run in a child process (this test
//     binary re-executed), so the figure is the emulator's side alone.
//   - clients=in-process: clients in this process, so the figure is both
//     ends of each connection together.
//
// Each client has one goroutine reading (CloseRead), as a real client would.
func BenchmarkWSSIdleConnMemory(b *testing.B) {
	w := newWSSBench(b)
	b.Run("clients=subprocess", func(b *testing.B) {
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		measureIdle(b, w, func() func() {
			cmd := exec.Command(exe, "-test.run=^TestWSSBenchClients$", "-test.count=1")
			cmd.Env = append(os.Environ(), "KVSRTC_WSS_BENCH_CLIENTS=1", "KVSRTC_WSS_BENCH_CA="+w.e.CABundlePath())
			cmd.Stderr = os.Stderr
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			for _, u := range w.urls(b) {
				fmt.Fprintln(stdin, u)
			}
			fmt.Fprintln(stdin) // end of list
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || strings.TrimSpace(line) != "ready" {
				stdin.Close()
				cmd.Wait()
				b.Fatalf("client process: %q %v", line, err)
			}
			return func() {
				stdin.Close() // the child closes its connections and exits
				io.Copy(io.Discard, stdout)
				if err := cmd.Wait(); err != nil {
					b.Fatalf("client process: %v", err)
				}
			}
		})
	})
	b.Run("clients=in-process", func(b *testing.B) {
		measureIdle(b, w, func() func() {
			ctx, cancel := context.WithCancel(context.Background())
			conns, err := dialAll(ctx, w.http, w.urls(b))
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range conns {
				c.CloseRead(ctx)
			}
			return func() {
				for _, c := range conns {
					c.CloseNow()
				}
				cancel()
			}
		})
	})
}

// measureIdle runs open (which returns its closer) once per iteration and
// reports memory and goroutines per connection.
func measureIdle(b *testing.B, w *wssBench, open func() (closeAll func())) {
	var bytes, goroutines float64
	n := 0
	for b.Loop() {
		g0 := runtime.NumGoroutine()
		m0 := inUse()
		closeAll := open()
		w.waitConnected(b, true)
		m1 := inUse()
		g1 := runtime.NumGoroutine()
		closeAll()
		w.waitConnected(b, false)
		waitGoroutines(b, g0)
		bytes += float64(m1-m0) / benchConns
		goroutines += float64(g1-g0) / benchConns
		n++
	}
	b.ReportMetric(bytes/float64(n), "B/conn")
	b.ReportMetric(goroutines/float64(n), "goroutines/conn")
}

func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// waitGoroutines waits (bounded) until the goroutines of closed
// connections have ended, so the next iteration starts from the same base.
func waitGoroutines(b *testing.B, base int) {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > base+5 {
		select {
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("%d goroutines 10 s after closing, %d before opening", runtime.NumGoroutine(), base)
		}
	}
}

// TestWSSBenchClients is the client process of BenchmarkWSSIdleConnMemory:
// it does nothing unless the benchmark started it. It reads presigned URLs
// from stdin up to an empty line, opens them all, prints "ready", and closes
// them when stdin ends.
func TestWSSBenchClients(t *testing.T) {
	if os.Getenv("KVSRTC_WSS_BENCH_CLIENTS") != "1" {
		return // only as BenchmarkWSSIdleConnMemory's child
	}
	ca, err := os.ReadFile(os.Getenv("KVSRTC_WSS_BENCH_CA"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	defer tr.CloseIdleConnections()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var urls []string
	for in.Scan() && in.Text() != "" {
		urls = append(urls, in.Text())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conns, err := dialAll(ctx, &http.Client{Transport: tr}, urls)
	if err != nil {
		fmt.Println("error:", err)
		t.Fatal(err)
	}
	for _, c := range conns {
		c.CloseRead(ctx)
	}
	fmt.Println("ready")
	for in.Scan() { // until stdin ends
	}
	for _, c := range conns {
		c.CloseNow()
	}
}
