package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// emulatorIoTFlags turn on the emulator's IoT credentials endpoint.
type emulatorIoTFlags struct {
	Listen    string
	RoleAlias []string
	Duration  time.Duration
}

func (o *emulatorIoTFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Listen, "iot-listen", "", "also serve the AWS IoT credentials provider (mutual TLS) on this address, e.g. 127.0.0.1:8443; device certificates come from `kvsrtc emulator iot-cert`")
	f.StringSliceVar(&o.RoleAlias, "iot-role-alias", nil, "role aliases the IoT endpoint knows, each granting every action (default "+emulator.DefaultRoleAlias+")")
	f.DurationVar(&o.Duration, "iot-credential-duration", time.Hour, "lifetime of credentials the IoT endpoint issues (the service allows 15m to 12h)")
}

// options gives the emulator's IoT options, nil when --iot-listen is unset.
func (o *emulatorIoTFlags) options() (*emulator.IoTOptions, error) {
	if o.Listen == "" {
		if len(o.RoleAlias) > 0 {
			return nil, usageErrorf("--iot-role-alias needs --iot-listen")
		}
		return nil, nil
	}
	if o.Duration < time.Second || o.Duration > 12*time.Hour {
		return nil, usageErrorf("--iot-credential-duration %v: want between 1s and 12h", o.Duration)
	}
	io := &emulator.IoTOptions{Listen: o.Listen}
	aliases := o.RoleAlias
	if len(aliases) == 0 {
		aliases = []string{emulator.DefaultRoleAlias}
	}
	for _, a := range aliases {
		io.RoleAliases = append(io.RoleAliases, emulator.RoleAlias{Alias: a, CredentialDuration: o.Duration})
	}
	return io, nil
}

// newIoTCertCmd is `kvsrtc emulator iot-cert`.
func newIoTCertCmd(ios *IOStreams) *cobra.Command {
	var dataDir, thing, out string
	cmd := &cobra.Command{
		Use:   "iot-cert",
		Short: "Issue an IoT device certificate from the emulator's CA",
		Long: `Issue a device certificate and private key for an IoT thing, signed by the CA
in the emulator's --data directory (made there if it is new), for the
emulator's IoT credentials endpoint (kvsrtc emulator --iot-listen). The
thing name is the certificate's CommonName. Writes <thing>.cert.pem,
<thing>.private.key (mode 0600) and ca.pem to --out and prints the
AWS_IOT_CORE_* lines for them.`,
		Example: `  kvsrtc emulator iot-cert --data ~/.kvsrtc-emulator --thing cam1 --out ./certs
  kvsrtc emulator --data ~/.kvsrtc-emulator --iot-listen 127.0.0.1:8443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" || thing == "" {
				return usageErrorf("give --data (the emulator's data directory) and --thing")
			}
			c, err := emulator.IssueIoTCertificate(dataDir, thing)
			if errors.Is(err, emulator.ErrInvalidThingName) {
				return &UsageError{Err: fmt.Errorf("--thing: %w", err)}
			}
			if err != nil {
				return fmt.Errorf("issue IoT certificate: %w", err)
			}
			if out == "" {
				out = "."
			}
			files, err := c.WriteFiles(out)
			if err != nil {
				return err
			}
			abs := func(p string) string {
				if a, err := filepath.Abs(p); err == nil {
					return a
				}
				return p
			}
			fmt.Fprintf(ios.ErrOut, "issued a device certificate for thing %s (valid 1 year)\n", thing)
			fmt.Fprintf(ios.Out, "export AWS_IOT_CORE_THING_NAME=%s\n", thing)
			fmt.Fprintf(ios.Out, "export AWS_IOT_CORE_CERT=%s\n", abs(files.Cert))
			fmt.Fprintf(ios.Out, "export AWS_IOT_CORE_PRIVATE_KEY=%s\n", abs(files.Key))
			fmt.Fprintf(ios.Out, "export AWS_IOT_CORE_CA_CERT_PATH=%s\n", abs(files.CA))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", os.Getenv("KVSRTC_EMULATOR_DATA"), "the emulator's data directory, which holds its CA")
	cmd.Flags().StringVar(&thing, "thing", "", "IoT thing name (the certificate's CommonName)")
	cmd.Flags().StringVar(&out, "out", ".", "directory to write the files to")
	return cmd
}
