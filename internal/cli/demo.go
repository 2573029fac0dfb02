package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// demoOptions are the flags of `kvsrtc demo`.
type demoOptions struct {
	IO      *IOStreams
	Session sessionFlags
	Viewers int
	JSON    bool
	Bench   int
	Dir     string
	Codec   string
	Report  string
	Latency time.Duration // the emulator's --latency (emulatorfaults.go)
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newDemoCmd(ios, nil) })
}

func newDemoCmd(ios *IOStreams, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Emulator, master and viewers in one process: the whole path, no AWS account",
		Long: `Start a local KVS emulator, create a channel, stream the embedded demo clip
(H.264 or VP8 with Opus) from a master to --viewers viewers over WebRTC on
loopback, record what each viewer receives, and print every viewer's
connection timeline and stats, and where the recordings are.

--bench N instead connects N viewers one after the other with cold caches and
N with warm caches, each until its first video frame, and prints the median
and 90th percentile time to first frame.`,
		Example: `  kvsrtc demo
  kvsrtc demo --viewers 3 --seconds 10 --force-turn --relay-transport tcp
  kvsrtc demo --json
  kvsrtc demo --bench 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Session.parse(); err != nil {
				return err
			}
			if opts.Viewers < 1 || opts.Viewers > 10 {
				return usageErrorf("--viewers must be 1 to 10 (the service's limit)")
			}
			if c := media.ParseCodec(opts.Codec); c != media.CodecH264 && c != media.CodecVP8 {
				return usageErrorf("--codec must be h264 or vp8")
			}
			if opts.Bench < 0 {
				return usageErrorf("--bench must not be negative")
			}
			if err := checkReportPath(opts.Report); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	opts.Session.add(cmd)
	f := cmd.Flags()
	cmd.Flags().Lookup("seconds").DefValue = "5"
	opts.Session.Seconds = 5
	f.IntVar(&opts.Viewers, "viewers", 1, "number of viewers")
	f.BoolVar(&opts.JSON, "json", false, "print the timelines and stats as JSON")
	f.DurationVar(&opts.Latency, "latency", 0, "one-way delay between each client and the emulator (RTT 2×latency), as kvsrtc emulator --latency; with --force-turn media pays it too")
	f.IntVar(&opts.Bench, "bench", 0, "measure time to first video frame over N cold and N warm viewers")
	f.StringVar(&opts.Dir, "dir", "", "write the recordings here (default: a new temporary directory)")
	f.StringVar(&opts.Codec, "codec", "h264", "video codec of the clip: h264 or vp8")
	addReportFlag(cmd, &opts.Report)
	return cmd
}

// demoJSON is the --json output of `kvsrtc demo`; field names are stable.
type demoJSON struct {
	Emulator   string       `json:"emulator"`
	ChannelARN string       `json:"channelArn"`
	Master     masterJSON   `json:"master"`
	Viewers    []viewerJSON `json:"viewers"`
	Dir        string       `json:"recordingDir,omitempty"`
	Bench      *benchJSON   `json:"bench,omitempty"`
}

// benchJSON is the time to first video frame over repeated viewers.
type benchJSON struct {
	Runs        int       `json:"runs"`
	ColdMedian  float64   `json:"coldMedianMs"`
	ColdP90     float64   `json:"coldP90Ms"`
	WarmMedian  float64   `json:"warmMedianMs"`
	WarmP90     float64   `json:"warmP90Ms"`
	ColdSamples []float64 `json:"coldMs"`
	WarmSamples []float64 `json:"warmMs"`
}

// demoEnv is an emulator with a channel on it.
type demoEnv struct {
	e    *emulator.Emulator
	cfg  aws.Config
	http *http.Client
	arn  channel.ARN
	stun string
}

// startDemoEnv starts the emulator and creates the channel, recording the
// creation in tl.
func startDemoEnv(ctx context.Context, tl *session.Timeline, latency time.Duration) (*demoEnv, error) {
	// The service takes 3 connections a second per channel, 5 SDP and 20
	// ICE messages a second per connection (§7). The signaling client
	// paces its messages to the last two, so they stay; the demo starts
	// its viewers (and --bench its runs) back to back, so it lifts the
	// first.
	// TURNPlainTCP: the demo shows every relay transport, plain TCP
	// (--relay-transport tcp) included, which the service and the default
	// emulator do not offer.
	e, err := emulator.Start(ctx, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}, TURNPlainTCP: true, Latency: latency})
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12}
	hc := &http.Client{Transport: tr}
	c := e.Credential()
	cfg := aws.Config{Region: e.Region(), BaseEndpoint: aws.String(e.URL()), HTTPClient: hc,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))}
	t := time.Now()
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("kvsrtc-demo")})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("create channel: %w", err)
	}
	tl.Mark(session.StepCreateChannel, t)
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		e.Close()
		return nil, err
	}
	return &demoEnv{e: e, cfg: cfg, http: hc, arn: arn, stun: e.STUNURL()}, nil
}

// options are session options with a resolver of its own (cold), or r.
func (d *demoEnv) options(tl *session.Timeline, r *resolve.Resolver, sf *sessionFlags) session.Options {
	if r == nil {
		r = d.resolver()
	}
	o := session.Options{ChannelARN: d.arn, Resolver: r, Credentials: d.cfg.Credentials, HTTPClient: d.http, Timeline: tl}
	sf.apply(&o)
	return o
}

func (d *demoEnv) resolver() *resolve.Resolver {
	return resolve.New(d.cfg, resolve.Options{STUNURL: d.stun})
}

func runDemo(ctx context.Context, opts *demoOptions) error {
	ios := opts.IO
	opts.Session.Loopback = true // every peer is in this process
	mtl := session.NewTimeline(time.Now())
	d, err := startDemoEnv(ctx, mtl, opts.Latency)
	if err != nil {
		return err
	}
	defer d.e.Close()
	if !opts.JSON {
		fmt.Fprintf(ios.ErrOut, "emulator at %s, channel %s\n", d.e.URL(), d.arn)
	}
	codec := media.ParseCodec(opts.Codec)
	clip := media.DemoH264()
	if codec == media.CodecVP8 {
		clip = media.DemoVP8()
	}
	video, err := media.NewSource(clip, media.SourceOptions{Codec: codec, Loop: true})
	if err != nil {
		return err
	}
	audio, err := media.NewSource(media.DemoOpus(), media.SourceOptions{Codec: media.CodecOpus, Loop: true})
	if err != nil {
		return err
	}
	if err := credentialsStep(ctx, d.cfg.Credentials, mtl); err != nil {
		return err
	}
	m, err := session.NewMaster(session.MasterOptions{Options: d.options(mtl, nil, &opts.Session), Video: video, Audio: audio})
	if err != nil {
		return err
	}
	defer m.Close()
	mctx, stopMaster := context.WithCancel(ctx)
	defer stopMaster()
	g, gctx := errgroup.WithContext(mctx)
	g.Go(func() error { return video.Run(gctx) })
	g.Go(func() error { return audio.Run(gctx) })
	g.Go(func() error { return m.Run(gctx) })
	// Viewers may start at once (the service queues their offers), but
	// their timelines then include the master's start; wait for it.
	connectWait := time.NewTimer(15 * time.Second)
	defer connectWait.Stop()
	select {
	case <-m.Ready():
	case <-gctx.Done():
	case <-connectWait.C:
	}
	if gctx.Err() != nil || !isDone(m.Ready()) {
		stopMaster()
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return errors.New("the master did not connect within 15 s")
	}

	out := demoJSON{Emulator: d.e.URL(), ChannelARN: d.arn.String()}
	var runErr error
	if opts.Bench > 0 {
		b, err := runBench(ctx, d, opts)
		out.Bench, runErr = b, err
	} else {
		out.Dir = opts.Dir
		if out.Dir == "" {
			if out.Dir, err = os.MkdirTemp("", "kvsrtc-demo-"); err != nil {
				return err
			}
		}
		out.Viewers, runErr = runDemoViewers(ctx, d, opts, codec, out.Dir)
	}
	stopMaster()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
		runErr = err
	}
	out.Master = masterJSON{ChannelARN: d.arn.String(), Timeline: m.Timeline(), Viewers: m.Peers(), Stats: m.Stats()}
	if opts.Report != "" {
		tls := []namedTimeline{{"master", out.Master.Timeline}}
		for _, v := range out.Viewers {
			tls = append(tls, namedTimeline{v.ClientID, v.Timeline})
		}
		if err := writeReport(opts.Report, timelineChart("kvsrtc demo: "+d.arn.String(), tls...).WriteSVG); err != nil && runErr == nil {
			runErr = err
		}
	}
	if opts.JSON {
		if err := writeJSON(ios.Out, out); err != nil && runErr == nil {
			runErr = err
		}
		return runErr
	}
	w := ios.Out
	fmt.Fprintln(w, "master timeline:")
	out.Master.Timeline.WriteTo(w)
	for _, v := range out.Viewers {
		fmt.Fprintln(w)
		printViewer(w, v)
	}
	fmt.Fprintf(w, "\nmaster: %d viewers, frames packetized once: video %d, audio %d\n",
		out.Master.Stats.ViewersTotal, out.Master.Stats.VideoPacketized, out.Master.Stats.AudioPacketized)
	if b := out.Bench; b != nil {
		fmt.Fprintf(w, "time to first video frame over %d viewers: cold median %.1f ms, p90 %.1f ms; warm median %.1f ms, p90 %.1f ms\n",
			b.Runs, b.ColdMedian, b.ColdP90, b.WarmMedian, b.WarmP90)
	}
	if out.Dir != "" && runErr == nil {
		fmt.Fprintf(w, "recordings in %s (play with: ffplay %s)\n", out.Dir, filepath.Join(out.Dir, out.Viewers[0].Recording))
	}
	return runErr
}

// runDemoViewers runs the viewers side by side, each recording to dir.
func runDemoViewers(ctx context.Context, d *demoEnv, opts *demoOptions, codec media.Codec, dir string) ([]viewerJSON, error) {
	ext := ".mkv"
	if codec == media.CodecVP8 {
		ext = ".webm"
	}
	out := make([]viewerJSON, opts.Viewers)
	var wg sync.WaitGroup
	errs := make([]error, opts.Viewers)
	for i := range opts.Viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("viewer-%d", i+1)
			name := id + ext
			out[i] = viewerJSON{ClientID: id, Recording: name}
			tl := session.NewTimeline(time.Now())
			out[i].Timeline = tl
			if err := credentialsStep(ctx, d.cfg.Credentials, tl); err != nil {
				errs[i] = err
				return
			}
			f, err := os.Create(filepath.Join(dir, name))
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			v, err := session.NewViewer(session.ViewerOptions{Options: d.options(tl, nil, &opts.Session), ClientID: id,
				Record: f, Duration: opts.Session.duration()})
			if err != nil {
				errs[i] = err
				return
			}
			defer v.Close()
			live := i == 0 && !opts.JSON
			err = runViewerLive(ctx, v, opts.IO, live, []string{"hello from " + id}, false)
			out[i].Stats = v.Stats()
			if err != nil {
				out[i].Error = err.Error()
				errs[i] = fmt.Errorf("%s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// benchPause separates bench runs: a little over one SDP message's worth
// of the master's paced quota.
const benchPause = 250 * time.Millisecond

// runBench connects viewers one at a time until their first video frame:
// cold (a new resolver, so endpoints and ICE servers are fetched) and warm
// (one resolver whose caches are filled).
func runBench(ctx context.Context, d *demoEnv, opts *demoOptions) (*benchJSON, error) {
	one := func(r *resolve.Resolver, i int) (float64, error) {
		// The master paces its signaling to the service's quota of 5 SDP
		// messages a second per connection (§7): viewers that all arrive
		// within a second wait their turn for an answer. A pause between
		// runs, outside the measured time, measures one viewer's setup
		// rather than that queue.
		select {
		case <-time.After(benchPause):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		tl := session.NewTimeline(time.Now())
		v, err := session.NewViewer(session.ViewerOptions{Options: d.options(tl, r, &opts.Session),
			ClientID: fmt.Sprintf("bench-%d", i), VideoFrames: 1})
		if err != nil {
			return 0, err
		}
		defer v.Close()
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := v.Run(vctx); err != nil {
			b, _ := json.Marshal(tl)
			return 0, fmt.Errorf("bench viewer %d: %w (timeline %s)", i, err, b)
		}
		s, ok := tl.Step(session.StepFirstVideo)
		if !ok {
			return 0, errors.New("no first video frame")
		}
		return s.EndMs, nil
	}
	b := &benchJSON{Runs: opts.Bench}
	warm := d.resolver()
	if _, err := one(warm, -1); err != nil { // fills warm's caches
		return nil, err
	}
	for i := range opts.Bench {
		c, err := one(nil, i)
		if err != nil {
			return nil, err
		}
		w, err := one(warm, i)
		if err != nil {
			return nil, err
		}
		b.ColdSamples, b.WarmSamples = append(b.ColdSamples, c), append(b.WarmSamples, w)
	}
	b.ColdMedian, b.ColdP90 = percentile(b.ColdSamples, 50), percentile(b.ColdSamples, 90)
	b.WarmMedian, b.WarmP90 = percentile(b.WarmSamples, 50), percentile(b.WarmSamples, 90)
	return b, nil
}

// percentile is the nearest-rank percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// isDone reports whether c is closed.
func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
