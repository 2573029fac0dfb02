// Command wssload measures what idle signaling connections cost the
// emulator and how the relay's latency holds up with all of them open. It
// runs `kvsrtc emulator` as a separate process (so the load generator's own
// memory and goroutines are not counted), creates N/10 channels, opens N
// TLS WebSocket connections (per channel one master and nine viewers, URLs
// presigned by aws-sdk-go-v2), then drives viewer → master → viewer round
// trips at a fixed rate and prints:
//
//   - RSS per connection above the emulator's baseline (VmRSS from /proc),
//   - heap and goroutine stacks in use per connection, read after a forced
//     GC in the emulator (its /debug/pprof/heap, served with KVSRTC_PPROF=1):
//     RSS also holds freed pages not yet returned to the OS, ±5 KB per
//     connection between runs; the heap in use does not,
//   - goroutines per connection (go_goroutines from its --metrics-listen),
//   - relay round-trip p50 / p90 / p99 at the given rate.
//
// Usage (from the module root):
//
//	go run ./internal/cmd/wssload -n 10000 -rate 5000 -duration 10s
//
// On 2 cores the load generator's 10,000 clients compete with the
// emulator; -emu-cpus pins the emulator (taskset -c), and running wssload
// itself under taskset on the other cores separates them:
//
//	taskset -c 1 go run ./internal/cmd/wssload -emu-cpus 0 -n 10000 -rate 5000
//
// -profile DIR saves the emulator's heap profiles (idle.pb.gz, open.pb.gz)
// for `go tool pprof -sample_index=inuse_space -base DIR/idle.pb.gz DIR/open.pb.gz`,
// and its CPU profile while driven (cpu.pb.gz).
//
// The emulator keeps the service's quotas (3 connects per second per
// channel, 20 ICE messages per second per connection): the dialler spreads
// connects over channels and retries refused ones, and the rate is spread
// over all viewers. Both processes need about N open files; Linux lets Go
// raise the soft limit to the hard one (ulimit -Hn).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"
)

const viewersPerChannel = 9

var emuCPUs, profileDir string

func main() {
	n := flag.Int("n", 1000, "connections to open (a multiple of 10: per channel 1 master + 9 viewers)")
	rate := flag.Int("rate", 1000, "relay round trips per second while all connections are open")
	dur := flag.Duration("duration", 10*time.Second, "how long to drive round trips")
	bin := flag.String("bin", "", "kvsrtc binary (default: go build ./cmd/kvsrtc into a temp dir)")
	settle := flag.Duration("settle", 3*time.Second, "wait this long after the last connect before reading RSS")
	flag.StringVar(&emuCPUs, "emu-cpus", "", "run the emulator under `taskset -c CPUS` (e.g. 0), apart from wssload")
	flag.StringVar(&profileDir, "profile", "", "save the emulator's heap profiles, idle and with all connections open, in this directory")
	flag.Parse()
	if *n < 10 || *n%10 != 0 {
		fail(fmt.Errorf("-n %d: want a positive multiple of 10", *n))
	}
	if *rate < 1 || *dur <= 0 {
		fail(errors.New("-rate must be ≥ 1 and -duration > 0"))
	}
	if err := run(*n, *rate, *dur, *settle, *bin); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wssload:", err)
	os.Exit(1)
}

func run(n, rate int, dur, settle time.Duration, bin string) error {
	raiseNoFile()
	tmp, err := os.MkdirTemp("", "wssload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "kvsrtc")
		fmt.Fprintln(os.Stderr, "building kvsrtc…")
		b := exec.Command("go", "build", "-o", bin, "./cmd/kvsrtc")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/kvsrtc (run from the module root): %w", err)
		}
	}
	envPath := filepath.Join(tmp, "env")
	metricsAddr, err := freePort()
	if err != nil {
		return err
	}
	emu := exec.Command(bin, "emulator", "--data", filepath.Join(tmp, "data"), "--env-file", envPath, "--metrics-listen", metricsAddr)
	if emuCPUs != "" {
		emu = exec.Command("taskset", append([]string{"-c", emuCPUs}, emu.Args...)...)
	}
	emu.Env = append(os.Environ(), "KVSRTC_PPROF=1")
	if profileDir != "" {
		// Sample every 4 KB allocated rather than every 512 KB, so that a
		// profile per connection is not a handful of samples.
		emu.Env = append(emu.Env, "GODEBUG=memprofilerate=4096")
	}
	emu.Stdout, emu.Stderr = io.Discard, os.Stderr
	if err := emu.Start(); err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer func() {
		_ = emu.Process.Signal(syscall.SIGTERM)
		_ = emu.Wait()
	}()
	env, err := waitEnv(envPath, 30*time.Second)
	if err != nil {
		return err
	}
	env["KVSRTC_METRICS_URL"] = "http://" + metricsAddr + "/metrics"
	debugBase := "http://" + metricsAddr
	pem, err := os.ReadFile(env["AWS_CA_BUNDLE"])
	if err != nil {
		return fmt.Errorf("read the emulator CA: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	creds := aws.Credentials{AccessKeyID: env["AWS_ACCESS_KEY_ID"], SecretAccessKey: env["AWS_SECRET_ACCESS_KEY"], SessionToken: env["AWS_SESSION_TOKEN"]}
	region := env["AWS_REGION"]
	kv := kinesisvideo.New(kinesisvideo.Options{Region: region, BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }), HTTPClient: hc})

	ctx := context.Background()
	nch := n / (1 + viewersPerChannel)
	fmt.Fprintf(os.Stderr, "creating %d channels…\n", nch)
	urls := make([][]string, nch) // per channel: master, then viewers
	var g errgroup.Group
	g.SetLimit(32)
	for i := range nch {
		g.Go(func() error {
			out, err := kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(fmt.Sprintf("load-%05d", i))})
			if err != nil {
				return err
			}
			arn := aws.ToString(out.ChannelARN)
			for _, role := range []types.ChannelRole{types.ChannelRoleMaster, types.ChannelRoleViewer} {
				ep, err := kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
					SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
						Protocols: []types.ChannelProtocol{types.ChannelProtocolWss}, Role: role}})
				if err != nil {
					return err
				}
				wss := aws.ToString(ep.ResourceEndpointList[0].ResourceEndpoint)
				if role == types.ChannelRoleMaster {
					urls[i] = append(urls[i], presign(creds, region, wss, arn, ""))
					continue
				}
				for v := range viewersPerChannel {
					urls[i] = append(urls[i], presign(creds, region, wss, arn, fmt.Sprintf("v%d", v)))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("create channels: %w", err)
	}
	tr.CloseIdleConnections()
	time.Sleep(settle)                       // let the emulator's heap settle before the baseline (a measurement pause, not synchronisation)
	msBase, msErr := readMemStats(debugBase) // forces a GC first
	if profileDir != "" {
		if err := saveProfile(debugBase, profileDir, "idle"); err != nil {
			return fmt.Errorf("save the idle heap profile: %w", err)
		}
	}
	base, err := rssKB(emu.Process.Pid)
	if err != nil {
		return err
	}
	gBase := goroutines(env)

	fmt.Fprintf(os.Stderr, "opening %d connections…\n", n)
	t0 := time.Now()
	conns := make([][]*websocket.Conn, nch)
	for i := range conns {
		conns[i] = make([]*websocket.Conn, 1+viewersPerChannel)
	}
	// The emulator takes at most 5,000 connections from one source address
	// (emulator.Limits.MaxConnsPerSource): 4,000 from each of 127.0.0.1,
	// 127.0.0.2, … (all of 127.0.0.0/8 is loopback on Linux).
	const perSource = 4000
	var sources []*http.Client
	for j := range (n + perSource - 1) / perSource {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+j))}}
		str := tr.Clone()
		str.DialContext = d.DialContext
		sources = append(sources, &http.Client{Transport: str})
	}
	var opened atomic.Int64
	g = errgroup.Group{}
	g.SetLimit(128)
	// Connection k of every channel before connection k+1 of any: the
	// per-channel connect quota then refuses few.
	for k := range 1 + viewersPerChannel {
		for i := range nch {
			g.Go(func() error {
				c, err := dialRetry(ctx, sources[(k*nch+i)/perSource], urls[i][k])
				if err != nil {
					return fmt.Errorf("channel %d connection %d: %w", i, k, err)
				}
				conns[i][k] = c
				if v := opened.Add(1); v%1000 == 0 {
					fmt.Fprintf(os.Stderr, "  %d open (%.1f s)\n", v, time.Since(t0).Seconds())
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	defer func() {
		for _, cs := range conns {
			for _, c := range cs {
				c.CloseNow()
			}
		}
	}()
	fmt.Fprintf(os.Stderr, "%d open in %.1f s\n", n, time.Since(t0).Seconds())
	time.Sleep(settle)
	msOpen, msErr2 := readMemStats(debugBase)
	if profileDir != "" {
		if err := saveProfile(debugBase, profileDir, "open"); err != nil {
			return fmt.Errorf("save the heap profile: %w", err)
		}
	}
	open, err := rssKB(emu.Process.Pid)
	if err != nil {
		return err
	}
	gOpen := goroutines(env)

	cpu0, _ := cpuTime(emu.Process.Pid)
	cpuProfile := make(chan error, 1)
	if profileDir != "" {
		go func() { cpuProfile <- saveCPUProfile(debugBase, profileDir, dur) }()
	} else {
		cpuProfile <- nil
	}
	self0 := selfCPU()
	lat, sent, lost := drive(ctx, conns, rate, dur)
	cpu1, _ := cpuTime(emu.Process.Pid)
	self1 := selfCPU()
	if err := <-cpuProfile; err != nil {
		return fmt.Errorf("save the CPU profile: %w", err)
	}
	msDriven, msErr3 := readMemStats(debugBase)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("connections            %d (%d channels × 1 master + %d viewers)\n", n, nch, viewersPerChannel)
	fmt.Printf("emulator RSS           baseline %.1f MB, open %.1f MB → %.1f KB per connection above baseline (after a forced GC)\n",
		float64(base)/1024, float64(open)/1024, float64(open-base)/float64(n))
	if err := errors.Join(msErr, msErr2); err == nil {
		per := func(a, b int64) float64 { return float64(b-a) / 1024 / float64(n) }
		fmt.Printf("emulator heap in use   %.1f KB per connection (HeapInuse; HeapAlloc %.1f KB, %.1f objects) + stacks %.1f KB → %.1f KB\n",
			per(msBase.HeapInuse, msOpen.HeapInuse), per(msBase.HeapAlloc, msOpen.HeapAlloc),
			float64(msOpen.HeapObjects-msBase.HeapObjects)/float64(n), per(msBase.StackInuse, msOpen.StackInuse),
			per(msBase.HeapInuse+msBase.StackInuse, msOpen.HeapInuse+msOpen.StackInuse))
	} else {
		fmt.Printf("emulator heap in use   (not read: %v)\n", err)
	}
	if gBase >= 0 && gOpen >= 0 {
		fmt.Printf("emulator goroutines    %d → %d: %.2f per connection\n", gBase, gOpen, float64(gOpen-gBase)/float64(n))
	} else {
		fmt.Printf("emulator goroutines    (the emulator's /metrics did not answer)\n")
	}
	fmt.Printf("relay round trips      %d sent at %d/s for %s, %d answered, %d lost\n", sent, rate, dur, len(lat), lost)
	fmt.Printf("relay latency ms       p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if msErr2 == nil && msErr3 == nil {
		gcs, longest := pausesSince(msOpen, msDriven)
		fmt.Printf("emulator while driven  %.2f s CPU in %s (%.0f µs per round trip); %d GCs, longest stop-the-world pause %.2f ms\n",
			(cpu1 - cpu0).Seconds(), dur, float64((cpu1-cpu0).Microseconds())/float64(max(1, sent)), gcs, float64(longest.Microseconds())/1000)
		fmt.Printf("wssload while driving  %.2f s CPU (its clients: the other end of every connection)\n", (self1 - self0).Seconds())
	}
	return nil
}

// waitEnv waits for the emulator's env file and parses its KEY=VALUE lines.
func waitEnv(path string, limit time.Duration) (map[string]string, error) {
	deadline := time.Now().Add(limit)
	for {
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 0 {
			env := map[string]string{}
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					env[k] = v
				}
			}
			return env, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("emulator wrote no env file within %s", limit)
		}
		time.Sleep(20 * time.Millisecond) // bounded polling for the child's start-up
	}
}

// rssKB reads a process's resident set size.
func rssKB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// goroutines reads go_goroutines from the emulator's metrics endpoint
// (--metrics-listen); -1 when it cannot.
func goroutines(env map[string]string) int {
	u := env["KVSRTC_METRICS_URL"]
	resp, err := http.Get(u)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return int(v)
			}
		}
	}
	return -1
}

// freePort returns a loopback address nothing listens on.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func raiseNoFile() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
