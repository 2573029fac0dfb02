package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/doctor"
)

// doctorOptions are the flags of `kvsrtc doctor`.
type doctorOptions struct {
	IO            *IOStreams
	AWS           awsOptions
	Channel       channelFlags
	Role          string
	ClientID      string
	WaitViewer    time.Duration
	NoMedia       bool
	Timeout       time.Duration
	AnswerTimeout time.Duration
	Report        string
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newDoctorCmd(ios, nil) })
	classifiers = append(classifiers, classifyDoctorError)
}

// doctorExit maps the step of the first failing check to its exit code.
var doctorExit = map[doctor.Step]int{
	doctor.StepCredentials: ExitDoctorCredentials,
	doctor.StepClock:       ExitDoctorClock,
	doctor.StepARN:         ExitDoctorARN,
	doctor.StepDescribe:    ExitDoctorDescribe,
	doctor.StepEndpoints:   ExitDoctorEndpoint,
	doctor.StepICEConfig:   ExitDoctorICEConfig,
	doctor.StepConnect:     ExitDoctorConnect,
	doctor.StepSTUN:        ExitDoctorSTUN,
	doctor.StepTURN:        ExitDoctorTURN,
	doctor.StepPeer:        ExitDoctorPeer,
	doctor.StepMedia:       ExitDoctorMedia,
}

// doctorFailure is the error of a report with a failing check.
type doctorFailure struct{ step doctor.Step }

func (e *doctorFailure) Error() string {
	return fmt.Sprintf("doctor: first failing step: %s", e.step)
}

func classifyDoctorError(err error) int {
	if df, ok := err.(*doctorFailure); ok {
		if c, ok := doctorExit[df.step]; ok {
			return c
		}
		return ExitFailure
	}
	return 0
}

// newDoctorCmd builds `kvsrtc doctor`; runF replaces the work in tests of
// flag parsing.
func newDoctorCmd(ios *IOStreams, runF func(context.Context, *doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check every step of a session and say why one would fail, how long each takes, and how to fix it",
		Long: `Run each step of a session in order, as a master or a viewer would, and print
one line per check: ✓ passed, ✗ failed (with the fix in one sentence), – not
run; with the step's time in ms. A failing step does not stop the run where
later steps can still be tried.

Steps: credentials (source, expiry, accepted by the service), clock offset
against the service's Date, channel ARN / partition / region,
DescribeSignalingChannel, GetSignalingChannelEndpoint (WSS and HTTPS),
GetIceServerConfig, the WSS upgrade (a 403 there names the missing
kinesisvideo:ConnectAsViewer / ConnectAsMaster), a STUN binding, a TURN
allocation on each TURN URI (udp / tcp / tls), and a media probe: a viewer
connects to the channel's master and waits for the first frame over the host
path and over each relay transport (a master probes with --wait-viewer).

The exit code names the first failing step (see "Exit codes" in the README):
10 credentials, 11 clock, 12 arn, 13 describeChannel, 14 getEndpoint,
15 getIceConfig, 16 connect, 17 stun, 18 turn, 19 peer, 20 media.
Caches are never used: every step calls the service. As master the doctor
connects as the channel's master, which takes the place of a master already
connected: run it while the real master is stopped.`,
		Example: `  kvsrtc doctor --channel-name cam
  kvsrtc doctor --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700506395046 --json
  kvsrtc doctor --channel-name cam --role master --wait-viewer 60s --report doctor.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := channel.ParseRole(opts.Role); err != nil {
				return &UsageError{Err: err}
			}
			if opts.ClientID != "" {
				if err := channel.ValidClientID(opts.ClientID); err != nil {
					return &UsageError{Err: err}
				}
			}
			if opts.Channel.ARN != "" && opts.Channel.Name != "" {
				return usageErrorf("give --channel-arn or --channel-name, not both")
			}
			for _, d := range []struct {
				name     string
				v        time.Duration
				min, max time.Duration
			}{{"--timeout", opts.Timeout, time.Second, 5 * time.Minute}, {"--answer-timeout", opts.AnswerTimeout, time.Second, 5 * time.Minute},
				{"--wait-viewer", opts.WaitViewer, 0, time.Hour}} {
				if d.v < d.min || d.v > d.max {
					return usageErrorf("%s %v: want between %v and %v", d.name, d.v, d.min, d.max)
				}
			}
			if err := checkReportPath(opts.Report); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDoctor(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Role, "role", "viewer", "master or viewer")
	f.StringVar(&opts.ClientID, "client-id", "", "the viewer's client id (default: doctor-<random>)")
	f.DurationVar(&opts.WaitViewer, "wait-viewer", 0, "as master, wait this long for a viewer and probe media with it (0: no media probe)")
	f.BoolVar(&opts.NoMedia, "no-media", false, "leave out the media probes")
	f.DurationVar(&opts.Timeout, "timeout", doctor.DefaultStepTimeout, "bound on each network step (1s to 5m)")
	f.DurationVar(&opts.AnswerTimeout, "answer-timeout", doctor.DefaultAnswerTimeout, "how long a viewer waits for the master's answer (1s to 5m)")
	addReportFlag(cmd, &opts.Report)
	return cmd
}

func runDoctor(ctx context.Context, opts *doctorOptions) error {
	ios := opts.IO
	role, _ := channel.ParseRole(opts.Role)
	// The ARN is the doctor's to judge (a China ARN written arn:aws: is a
	// finding, not a usage error): only its region is read here.
	region := opts.AWS.explicitRegion()
	if region == "" && opts.Channel.ARN != "" {
		if parts := strings.SplitN(opts.Channel.ARN, ":", 6); len(parts) == 6 {
			region = parts[3]
		}
	}
	opts.AWS.NoCache = true
	env, err := opts.AWS.load(ctx, ios, region)
	if err != nil {
		return err
	}
	defer env.done()
	if opts.Channel.ARN == "" && opts.Channel.Name == "" {
		if env.channelARN == "" {
			return usageErrorf("give --channel-arn or --channel-name")
		}
		opts.Channel.ARN = env.channelARN
	}
	dopts := doctor.Options{
		Config: env.cfg, Resolver: env.resolver, ChannelARN: opts.Channel.ARN, ChannelName: opts.Channel.Name,
		Region: opts.AWS.explicitRegion(), Role: role, ClientID: opts.ClientID, HTTPClient: wssClient(env.cfg),
		NoMedia: opts.NoMedia, WaitViewer: opts.WaitViewer, StepTimeout: opts.Timeout, AnswerTimeout: opts.AnswerTimeout,
	}
	if cp, err := env.resolver.ControlPlaneURL(region); err == nil && loopbackURL(cp) {
		dopts.SettingEngine = loopbackICE
	}
	if !opts.AWS.JSON {
		fmt.Fprintf(ios.Out, "kvsrtc doctor: %s as %s\n", orDash(opts.Channel.ARN+opts.Channel.Name), role)
		dopts.OnCheck = func(c doctor.Check) { _ = doctor.WriteLine(ios.Out, c) }
		dopts.OnProgress = func(what string) { fmt.Fprintf(ios.ErrOut, "… %s\n", what) }
	}
	rep, err := doctor.Run(ctx, dopts)
	if err != nil {
		return err
	}
	if opts.Report != "" {
		if err := writeReport(opts.Report, rep.Chart().WriteSVG); err != nil {
			return err
		}
	}
	if opts.AWS.JSON {
		if err := rep.WriteJSON(ios.Out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(ios.Out, rep.Summary())
	}
	if !rep.OK() {
		return &doctorFailure{step: rep.FirstFailure}
	}
	return nil
}
