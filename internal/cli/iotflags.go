package cli

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/creds"
)

// iotFlags select the AWS IoT credentials provider: a device certificate
// exchanged for temporary credentials. Their environment variables are the
// C SDK samples' (samples/Common.c), so a device set up for the C SDK needs
// no new configuration.
type iotFlags struct {
	Endpoint  string
	Cert      string
	Key       string
	RoleAlias string
	ThingName string
	CACert    string
	// Refresh is how long before expiry cached credentials (IoT or
	// --credentials-url) are fetched again.
	Refresh time.Duration
}

func (o *iotFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Endpoint, "iot-endpoint", os.Getenv(creds.EnvIoTEndpoint), "AWS IoT credentials endpoint (`aws iot describe-endpoint --endpoint-type iot:CredentialProvider`); turns on IoT certificate credentials (env "+creds.EnvIoTEndpoint+")")
	f.StringVar(&o.Cert, "iot-cert", os.Getenv(creds.EnvIoTCert), "IoT device certificate, PEM (env "+creds.EnvIoTCert+")")
	f.StringVar(&o.Key, "iot-key", os.Getenv(creds.EnvIoTPrivateKey), "IoT device private key, PEM (env "+creds.EnvIoTPrivateKey+")")
	f.StringVar(&o.RoleAlias, "iot-role-alias", os.Getenv(creds.EnvIoTRoleAlias), "IoT role alias to assume (env "+creds.EnvIoTRoleAlias+")")
	f.StringVar(&o.ThingName, "iot-thing-name", os.Getenv(creds.EnvIoTThingName), "IoT thing name, sent as x-amzn-iot-thingname (env "+creds.EnvIoTThingName+")")
	f.StringVar(&o.CACert, "iot-ca-cert", os.Getenv(creds.EnvIoTCACert), "PEM CA bundle the IoT endpoint's certificate must chain to (env "+creds.EnvIoTCACert+"; default: --ca-bundle and the system roots)")
	f.DurationVar(&o.Refresh, "credentials-refresh", creds.DefaultExpiryWindow, "fetch IoT or --credentials-url credentials again this long before they expire")
}

// options gives the provider options, nil when IoT is off, or a usage
// error naming what is missing.
func (o *iotFlags) options() (*creds.IoTProviderOptions, error) {
	if o.Refresh <= 0 {
		return nil, usageErrorf("--credentials-refresh %v: want a positive duration, e.g. 5m", o.Refresh)
	}
	if o.Endpoint == "" {
		if o.Cert != "" || o.RoleAlias != "" {
			return nil, usageErrorf("--iot-cert and --iot-role-alias need --iot-endpoint (env %s)", creds.EnvIoTEndpoint)
		}
		return nil, nil
	}
	var missing []string
	for _, m := range []struct{ v, flag, env string }{
		{o.Cert, "--iot-cert", creds.EnvIoTCert},
		{o.Key, "--iot-key", creds.EnvIoTPrivateKey},
		{o.RoleAlias, "--iot-role-alias", creds.EnvIoTRoleAlias},
	} {
		if m.v == "" {
			missing = append(missing, m.flag+" ("+m.env+")")
		}
	}
	if len(missing) > 0 {
		return nil, usageErrorf("IoT credentials need %s", strings.Join(missing, ", "))
	}
	return &creds.IoTProviderOptions{Endpoint: o.Endpoint, RoleAlias: o.RoleAlias, ThingName: o.ThingName,
		CertFile: o.Cert, KeyFile: o.Key, CAFile: o.CACert}, nil
}

// Exit codes and hints for IoT credential errors.
func init() {
	classifiers = append(classifiers, func(err error) int {
		var ie *creds.IoTError
		if !errors.As(err, &ie) {
			return 0
		}
		if ie.StatusCode == 0 {
			return ExitNetwork
		}
		return ExitAuth
	})
	hints = append(hints, func(err error) string {
		var ie *creds.IoTError
		if errors.As(err, &ie) {
			return ie.Hint()
		}
		return ""
	})
}
