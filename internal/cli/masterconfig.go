package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// masterConfig is the --config file of `kvsrtc master`: JSON (no YAML
// dependency), field names as below; unknown fields are an error.
//
//	{
//	  "metricsListen": "127.0.0.1:9090",
//	  "defaults": {"loop": true, "fps": 30},
//	  "channels": [
//	    {"name": "cam1", "video": "/var/lib/cam1.h264"},
//	    {"name": "cam2", "video": "cam2.ivf", "audio": "cam2.ogg",
//	     "iot": {"thingName": "cam2", "cert": "cam2.cert.pem", "key": "cam2.private.key", "roleAlias": "kvs"}}
//	  ]
//	}
type masterConfig struct {
	// MetricsListen is --metrics-listen for every channel (the flag wins).
	MetricsListen string `json:"metricsListen"`
	// Defaults apply to every channel; a channel's own fields win.
	Defaults channelConfig   `json:"defaults"`
	Channels []channelConfig `json:"channels"`
}

// channelConfig is one channel of a --config file.
type channelConfig struct {
	Name           string  `json:"name"`
	ARN            string  `json:"arn"`
	Video          string  `json:"video"`
	VideoCodec     string  `json:"videoCodec"`
	Audio          string  `json:"audio"`
	Loop           *bool   `json:"loop"`
	FPS            float64 `json:"fps"`
	ForceTURN      *bool   `json:"forceTurn"`
	RelayTransport string  `json:"relayTransport"`
	NoTrickle      *bool   `json:"noTrickle"`
	Region         string  `json:"region"`
	Profile        string  `json:"profile"`
	CredentialsURL string  `json:"credentialsUrl"`
	// IoT credentials for this channel; fields left out take the
	// --iot-* flags (AWS_IOT_CORE_* variables).
	IoT *iotConfig `json:"iot"`
}

// iotConfig are a channel's IoT credential settings.
type iotConfig struct {
	Endpoint  string `json:"endpoint"`
	Cert      string `json:"cert"`
	Key       string `json:"key"`
	RoleAlias string `json:"roleAlias"`
	ThingName string `json:"thingName"`
	CACert    string `json:"caCert"`
}

// readMasterConfig reads and checks a --config file.
func readMasterConfig(path string) (*masterConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c masterConfig
	if err := dec.Decode(&c); err != nil {
		return nil, usageErrorf("--config %s: %v (want JSON: {\"channels\": [{\"name\": \"cam1\", \"video\": \"cam1.h264\"}, ...]})", path, err)
	}
	if len(c.Channels) == 0 {
		return nil, usageErrorf("--config %s lists no channel", path)
	}
	seen := map[string]bool{}
	for i := range c.Channels {
		ch := c.Channels[i].withDefaults(c.Defaults)
		label := ch.label()
		switch {
		case ch.Name == "" && ch.ARN == "":
			return nil, usageErrorf("--config %s: channel %d has neither name nor arn", path, i+1)
		case ch.Name != "" && ch.ARN != "":
			return nil, usageErrorf("--config %s: channel %s: give name or arn, not both", path, label)
		case seen[label]:
			return nil, usageErrorf("--config %s: channel %s is listed twice (one signaling connection per channel)", path, label)
		}
		seen[label] = true
		if ch.Name != "" {
			if err := channel.ValidName(ch.Name); err != nil {
				return nil, usageErrorf("--config %s: channel %d: %w", path, i+1, err)
			}
		} else if _, err := channel.ParseARN(ch.ARN); err != nil {
			return nil, usageErrorf("--config %s: channel %d: %w", path, i+1, err)
		}
		if ch.FPS < 0 || ch.FPS > 240 {
			return nil, usageErrorf("--config %s: channel %s: fps %v: want 1 to 240", path, label, ch.FPS)
		}
		if ch.Video == "-" || ch.Audio == "-" {
			return nil, usageErrorf("--config %s: channel %s: stdin cannot feed one of many channels", path, label)
		}
		mo := masterOptions{Video: ch.Video, VideoCodec: ch.VideoCodec}
		if ch.Video != "" && mo.videoCodec() == media.CodecUnknown {
			return nil, usageErrorf("--config %s: channel %s: video %s: set videoCodec to h264 or vp8", path, label, ch.Video)
		}
		if _, err := session.ParseRelayTransport(ch.RelayTransport); err != nil {
			return nil, usageErrorf("--config %s: channel %s: %w", path, label, err)
		}
		c.Channels[i] = ch
	}
	return &c, nil
}

// withDefaults fills the fields c leaves out from d.
func (c channelConfig) withDefaults(d channelConfig) channelConfig {
	str := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	boolp := func(v **bool, def *bool) {
		if *v == nil {
			*v = def
		}
	}
	str(&c.Video, d.Video)
	str(&c.VideoCodec, d.VideoCodec)
	str(&c.Audio, d.Audio)
	str(&c.RelayTransport, d.RelayTransport)
	str(&c.Region, d.Region)
	str(&c.Profile, d.Profile)
	str(&c.CredentialsURL, d.CredentialsURL)
	boolp(&c.Loop, d.Loop)
	boolp(&c.ForceTURN, d.ForceTURN)
	boolp(&c.NoTrickle, d.NoTrickle)
	if c.FPS == 0 {
		c.FPS = d.FPS
	}
	if c.IoT == nil && d.IoT != nil {
		io := *d.IoT
		c.IoT = &io
	}
	return c
}

// label names the channel in logs, metrics and health: its name, else
// the ARN's.
func (c channelConfig) label() string {
	if c.Name != "" {
		return c.Name
	}
	if a, err := channel.ParseARN(c.ARN); err == nil {
		return a.Name
	}
	return c.ARN
}

// Backoff between attempts of a failed channel.
const (
	channelRetryFirst = time.Second
	channelRetryMax   = time.Minute
)

// runConfigCmd checks the flags that --config replaces and runs it. Its
// log lines (one per channel event) show at info unless --log-level says
// otherwise.
func runConfigCmd(cmd *cobra.Command, opts *masterOptions) error {
	if opts.Video != "" || opts.Audio != "" || opts.Channel.ARN != "" || opts.Channel.Name != "" || opts.Loop {
		return usageErrorf("--config lists the channels and their media: leave out --channel-arn, --channel-name, --video, --audio and --loop")
	}
	var min []slog.Level
	if f := cmd.Flag("log-level"); f != nil && !f.Changed && os.Getenv(envLogLevel) == "" {
		min = append(min, slog.LevelInfo)
	}
	log, err := newLogger(cmd, opts.IO.ErrOut, min...)
	if err != nil {
		return err
	}
	return runMasterConfig(cmd.Context(), opts, log)
}

// runMasterConfig serves every channel of --config, each with its own
// credentials, signaling connection and media, retried on its own with
// backoff when it fails, until ctx ends (then it returns nil).
func runMasterConfig(ctx context.Context, opts *masterOptions, log *slog.Logger) error {
	cfg, err := readMasterConfig(opts.Config)
	if err != nil {
		return err
	}
	mf := opts.Metrics
	if mf.Listen == "" {
		mf.Listen = cfg.MetricsListen
	}
	mm, err := startMasterMetrics(mf, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	defer mm.close()
	log.Info("serving channels", "channels", len(cfg.Channels), "config", opts.Config)
	var wg sync.WaitGroup
	for _, ch := range cfg.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runChannel(ctx, opts, ch, mm, log.With("channel", ch.label()))
		}()
	}
	wg.Wait()
	log.Info("stopped")
	return nil // stopped by a signal: a clean exit for a service manager
}

// runChannel runs one channel until ctx ends: each failure is logged,
// reported on /healthz and retried after a growing pause.
func runChannel(ctx context.Context, opts *masterOptions, ch channelConfig, mm *masterMetrics, log *slog.Logger) {
	wait := channelRetryFirst
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := serveChannel(ctx, opts, ch, mm, log)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > channelRetryMax {
			wait = channelRetryFirst // it ran a good while: start over
		}
		if err == nil {
			err = errors.New("the master stopped")
		}
		mm.fail(ch.label(), err)
		log.Warn("channel failed", "attempt", attempt, "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, channelRetryMax)
	}
}

// serveChannel is one attempt: credentials, channel, media, master.
func serveChannel(ctx context.Context, opts *masterOptions, ch channelConfig, mm *masterMetrics, log *slog.Logger) error {
	ao := opts.AWS // each channel its own copy of the shared flags
	if ch.Region != "" {
		ao.Region = ch.Region
	}
	if ch.Profile != "" {
		ao.Profile = ch.Profile
	}
	if ch.CredentialsURL != "" {
		ao.CredentialsURL = ch.CredentialsURL
	}
	if c := ch.IoT; c != nil {
		for _, f := range []struct {
			dst *string
			v   string
		}{
			{&ao.IoT.Endpoint, c.Endpoint}, {&ao.IoT.Cert, c.Cert}, {&ao.IoT.Key, c.Key},
			{&ao.IoT.RoleAlias, c.RoleAlias}, {&ao.IoT.ThingName, c.ThingName}, {&ao.IoT.CACert, c.CACert},
		} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
	}
	tl := session.NewTimeline(time.Now())
	cf := channelFlags{ARN: ch.ARN, Name: ch.Name}
	env, arn, _, err := loadChannel(ctx, opts.IO, &ao, &cf, "master")
	if err != nil {
		return err
	}
	if err := credentialsStep(ctx, env.cfg.Credentials, tl); err != nil {
		return err
	}
	mo := masterOptions{IO: opts.IO, Video: ch.Video, VideoCodec: ch.VideoCodec, Audio: ch.Audio, FPS: ch.FPS}
	if mo.FPS == 0 {
		mo.FPS = media.DefaultFPS
	}
	if ch.Loop != nil {
		mo.Loop = *ch.Loop
	}
	video, audio, closers, err := mo.sources(ctx)
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("open media: %w", err)
	}
	sf := opts.Session
	sf.RelayTransport = ch.RelayTransport
	if ch.ForceTURN != nil {
		sf.ForceTURN = *ch.ForceTURN
	}
	if ch.NoTrickle != nil {
		sf.NoTrickle = *ch.NoTrickle
	}
	if err := sf.parse(); err != nil {
		return err
	}
	so := env.sessionOptions(arn, tl)
	sf.apply(&so)
	so.Logger = log
	msOpts := session.MasterOptions{Options: so, Video: video, Audio: audio, ProfilingReplies: true,
		OnPeer: func(ev session.PeerEvent) {
			if ev.Joined {
				log.Info("viewer joined", "viewer", ev.ClientID)
			} else {
				log.Info("viewer left", "viewer", ev.ClientID, "err", ev.Err)
			}
		}}
	attach := mm.instrument(ch.label(), &msOpts)
	m, err := session.NewMaster(msOpts)
	if err != nil {
		return err
	}
	defer m.Close()
	attach(m)
	defer mm.remove(ch.label())
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range []*media.Source{video, audio} {
		if s == nil {
			continue
		}
		g.Go(func() error {
			if err := s.Run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("media source: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { return m.Run(gctx) })
	go func() {
		select {
		case <-m.Ready():
			log.Info("channel connected", "arn", arn.String(), "setup_ms", time.Since(tl.Start()).Milliseconds())
		case <-gctx.Done():
		}
	}()
	return g.Wait()
}
