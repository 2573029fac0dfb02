package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// emulatorOptions are the flags of `kvsrtc emulator`.
type emulatorOptions struct {
	IO               *IOStreams
	Listen           string
	DataDir          string
	Region           string
	Account          string
	CredentialsFile  string
	ClockOffset      time.Duration
	ShuffleEndpoints bool
	InsecureHTTP     bool
	IceTTL           time.Duration
	EnvFile          string
	Verbose          bool
	IoT              emulatorIoTFlags
	ServicePorts     bool
	TURNPlainTCP     bool
	BlockTURN        []string
	Metrics          metricsFlag
	StorageLimit     time.Duration      // storage.go: --storage-session-limit
	Faults           emulatorFaultFlags // emulatorfaults.go

	// ready is called once the emulator serves; tests use it.
	ready func(*emulator.Emulator)
	// logger is built from the log flags in RunE; nil: text at info.
	logger *slog.Logger
}

func init() {
	commands = append(commands, newEmulatorCmd)
}

func newEmulatorCmd(ios *IOStreams) *cobra.Command {
	opts := &emulatorOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local KVS signaling service (control plane, data plane, STUN/TURN)",
		Long: `Run a local emulator of the Amazon Kinesis Video Streams signaling service:
the control plane (CreateSignalingChannel, GetSignalingChannelEndpoint, ...),
the data plane (GetIceServerConfig) and a STUN/TURN server, over HTTPS with
SigV4 checked for real. Unmodified AWS SDKs work against it.

Once ready it prints export lines for AWS_ENDPOINT_URL_KINESIS_VIDEO,
AWS_REGION and AWS_DEFAULT_REGION, the development credential, AWS_CA_BUNDLE
and AWS_KVS_CACERT_PATH (the C SDK's), and writes the same as KEY=VALUE lines
to --env-file. It stops on SIGINT or SIGTERM.

GetIceServerConfig returns two TURN servers on distinct addresses (127.0.0.1
and 127.0.0.2), each with turn:…?transport=udp, turns:…?transport=udp and
turns:…?transport=tcp, as the service does.

--service-ports (or --listen with port 443) is the service-shaped mode, for
clients that build the service's host names themselves (the C SDK samples,
the JS SDK sample page): endpoints carry no port, STUN answers on UDP 443,
and it prints the /etc/hosts line those clients need.

--fault injects faults for your own tests (repeatable): rules on relayed
signaling frames (drop, delay, duplicate, reorder), refusals of the next
connects or REST calls, and one-off faults (goaway, close, reconnect-ice,
expire-turn, clock, kill), at start or every --fault-every. It also prints
the admin API's URL and token, which takes the same faults over HTTP.
--latency 50ms puts every client 50 ms from the emulator each way (RTT
100 ms), with --jitter and --loss (STUN/TURN packets).

Fault syntax: ` + emulator.FaultSyntax,
		Example: `  kvsrtc emulator --data ~/.kvsrtc-emulator --env-file /tmp/kvs.env
  eval "$(kvsrtc emulator --listen 127.0.0.1:4443 | grep ^export)"
  kvsrtc emulator --region cn-north-1 --clock-offset 10m
  sudo kvsrtc emulator --service-ports --env-file /tmp/kvs.env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var floor []slog.Level // the emulator's default: info, one line per event
			if opts.Verbose {
				floor = append(floor, slog.LevelDebug)
			} else if f := cmd.Flag("log-level"); f != nil && !f.Changed && os.Getenv(envLogLevel) == "" {
				floor = append(floor, slog.LevelInfo)
			}
			var err error
			if opts.logger, err = newLogger(cmd, ios.ErrOut, floor...); err != nil {
				return err
			}
			if opts.ServicePorts && !cmd.Flags().Changed("listen") {
				opts.Listen = "" // the mode's 127.0.0.1:443
			}
			if err := checkEmulatorFlags(opts); err != nil {
				return err
			}
			if err := opts.Faults.check(); err != nil {
				return err
			}
			for _, b := range opts.BlockTURN {
				if b != "udp" && b != "tcp" && b != "tls" {
					return usageErrorf("--block-turn %q: want udp, tcp or tls", b)
				}
			}
			return runEmulator(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:0", "address of the HTTPS/WSS listener")
	f.StringVar(&opts.DataDir, "data", "", "keep the CA, certificate and channels in this directory across restarts (default: in memory)")
	f.StringVar(&opts.Region, "region", "us-west-2", "emulated region (cn-north-1 gives the aws-cn partition)")
	f.StringVar(&opts.Account, "account", "123456789012", "12-digit account id of the development credential")
	f.StringVar(&opts.CredentialsFile, "credentials", "", "JSON file of accepted credentials: [{\"AccessKeyId\",\"SecretAccessKey\",\"SessionToken\",\"Expiration\",\"Account\",\"Actions\"}]")
	f.DurationVar(&opts.ClockOffset, "clock-offset", 0, "shift the emulator's clock (e.g. 10m, -7m) to test clients' clock-skew handling")
	f.BoolVar(&opts.ShuffleEndpoints, "shuffle-endpoints", false, "return ResourceEndpointList in random order (catches clients that pick by index)")
	f.BoolVar(&opts.InsecureHTTP, "insecure-http", false, "serve plain HTTP/WS instead of HTTPS/WSS (the official JS SDK refuses ws://)")
	f.DurationVar(&opts.IceTTL, "ice-ttl", 300*time.Second, "lifetime of TURN credentials from GetIceServerConfig")
	f.StringVar(&opts.EnvFile, "env-file", "", "write KEY=VALUE lines for the AWS SDKs here once ready (mode 0600)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "log every request")
	opts.IoT.add(cmd)
	opts.Metrics.add(cmd, "the emulator")
	cmd.AddCommand(newIoTCertCmd(ios))
	cmd.AddCommand(newStreamsCmd(ios)) // streams.go
	f.DurationVar(&opts.StorageLimit, "storage-session-limit", time.Hour, "end WebRTC ingestion (JoinStorageSession) sessions this long after they connect (the service: 1h); shorter to test a master's rejoin")
	f.BoolVar(&opts.ServicePorts, "service-ports", false, "service-shaped mode for clients without an endpoint override (C SDK samples): HTTPS on 127.0.0.1:443, STUN and TURN on 443, no port in endpoints; implied by a --listen port of 443; needs root")
	f.BoolVar(&opts.TURNPlainTCP, "turn-plain-tcp", false, "also serve and advertise plain-TCP TURN (turn:…?transport=tcp), which the service does not offer")
	opts.Faults.register(f)
	f.StringSliceVar(&opts.BlockTURN, "block-turn", nil, "TURN transports that do not answer, as behind a firewall: udp, tcp, tls (comma-separated); the URIs are still listed")
	return cmd
}

// readCredentialsFile reads --credentials: a JSON array of credentials, or
// an object with a "Credentials" array.
func readCredentialsFile(path string) ([]emulator.Credential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--credentials: %w", err)
	}
	var list []emulator.Credential
	if err := json.Unmarshal(data, &list); err != nil {
		var wrapped struct{ Credentials []emulator.Credential }
		if err2 := json.Unmarshal(data, &wrapped); err2 != nil || wrapped.Credentials == nil {
			return nil, usageErrorf("--credentials %s: want a JSON array of {\"AccessKeyId\": …, \"SecretAccessKey\": …}: %v", path, err)
		}
		list = wrapped.Credentials
	}
	if len(list) == 0 {
		return nil, usageErrorf("--credentials %s lists no credential", path)
	}
	return list, nil
}

func runEmulator(ctx context.Context, o *emulatorOptions) error {
	level := slog.LevelInfo
	if o.Verbose {
		level = slog.LevelDebug
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(o.IO.ErrOut, &slog.HandlerOptions{Level: level}))
	}
	opts := emulator.Options{
		Listen: o.Listen, DataDir: o.DataDir, Region: o.Region, Account: o.Account,
		ClockOffset: o.ClockOffset, ShuffleEndpoints: o.ShuffleEndpoints, InsecureHTTP: o.InsecureHTTP,
		IceTTL: o.IceTTL, Logger: logger, ServicePorts: o.ServicePorts, TURNPlainTCP: o.TURNPlainTCP, BlockTURN: o.BlockTURN,
	}
	o.Faults.apply(&opts)
	iot, err := o.IoT.options()
	if err != nil {
		return err
	}
	opts.IoT = iot
	if o.StorageLimit < time.Second {
		return usageErrorf("--storage-session-limit %v: want at least 1s", o.StorageLimit)
	}
	opts.Storage.MaxSessionDuration = o.StorageLimit
	if o.CredentialsFile != "" {
		list, err := readCredentialsFile(o.CredentialsFile)
		if err != nil {
			return err
		}
		opts.Credentials = list
	}
	attachMetrics, stopMetrics, err := startEmulatorMetrics(o.Metrics, &opts, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer stopMetrics()
	e, err := emulator.Start(ctx, opts)
	if err != nil {
		if errors.Is(err, emulator.ErrDataDirInUse) {
			return fmt.Errorf("%w (stop the other emulator or pick another --data)", err)
		}
		return fmt.Errorf("start emulator: %w", err)
	}
	defer e.Close()
	attachMetrics(e)
	env := append(e.Env(), e.IoTEnv()...)
	if o.EnvFile != "" {
		if err := os.WriteFile(o.EnvFile, []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
	}
	// The development credential is no secret: it opens only emulators.
	// Credentials from --credentials are, and stay out of the terminal.
	dev := e.Credential().AccessKeyID == emulator.DevCredential.AccessKeyID && e.Credential().SecretAccessKey == emulator.DevCredential.SecretAccessKey
	fmt.Fprintf(o.IO.Out, "# kvsrtc emulator %s (%s, account %s)\n", e.URL(), e.Region(), e.Account())
	if h := e.HostsLine(); h != "" {
		// Comments, so that `grep ^export` still picks the env lines.
		fmt.Fprintf(o.IO.Out, "# service-shaped: clients without an endpoint override need this /etc/hosts line:\n# %s\n", h)
		fmt.Fprintf(o.IO.Out, "# STUN %s (UDP); the C SDK reads AWS_DEFAULT_REGION and AWS_KVS_CACERT_PATH below\n", e.STUNURL())
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !dev && (k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN") {
			v = "****" // in --env-file
		}
		fmt.Fprintf(o.IO.Out, "export %s=%s\n", k, v)
	}
	fmt.Fprint(o.IO.Out, adminLines(e))
	waitFaults, err := o.Faults.start(ctx, e, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer waitFaults()
	if o.ready != nil {
		o.ready(e)
	}
	<-ctx.Done()
	logger.Info("shutting down")
	if err := e.Close(); err != nil {
		return fmt.Errorf("stop emulator: %w", err)
	}
	return nil
}
