package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// iotMasterEnv starts an emulator whose development credential may do
// everything but ConnectAsMaster, with an IoT endpoint whose role alias
// "cam-role" may, and writes a device certificate for thing cam1. It
// returns the emulator, the channel ARN and the master's IoT flags.
func iotMasterEnv(t *testing.T, duration time.Duration) (*emulator.Emulator, string, []string) {
	t.Helper()
	dev := emulator.DevCredential
	dev.Actions = []string{"kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel",
		"kinesisvideo:GetSignalingChannelEndpoint", "kinesisvideo:GetIceServerConfig", "kinesisvideo:ConnectAsViewer"}
	e, arn := startEmulator(t, emulator.Options{Credentials: []emulator.Credential{dev},
		IoT: &emulator.IoTOptions{RoleAliases: []emulator.RoleAlias{{Alias: "cam-role", CredentialDuration: duration}}}}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	c, err := e.IssueIoTCertificate("cam1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return e, arn, []string{"--iot-endpoint", e.IoTEndpoint(), "--iot-cert", files.Cert, "--iot-key", files.Key,
		"--iot-role-alias", "cam-role", "--iot-thing-name", "cam1", "--iot-ca-cert", files.CA}
}

// waitUntil polls cond every 20 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMasterOnIoTCredentials runs `kvsrtc master` on IoT certificate
// credentials that live 6 s. Once the first ones have expired, the
// emulator drops the master's signaling connection: the master reconnects
// with credentials the cache fetched anew (the development credential in
// the environment may not ConnectAsMaster, and expired ones would be
// refused), and a viewer then gets media from it.
func TestMasterOnIoTCredentials(t *testing.T) {
	const lifetime = 6 * time.Second
	e, arn, iotArgs := iotMasterEnv(t, lifetime)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		args := append([]string{"master", "--channel-name", "cam", "--credentials-refresh", "2s"}, iotArgs...)
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	}()
	connected := func() bool { m, _ := e.Connections(arn); return m }
	waitUntil(t, 30*time.Second, "the master to connect", connected)
	connectedAt := time.Now()
	// One fetch, or two when a loaded machine took longer than the refresh
	// window to connect.
	before := e.Requests("AssumeRoleWithCertificate")
	connects := e.Requests("ConnectAsMaster")
	// Every credential issued so far was issued before the connection:
	// one lifetime later they have all expired.
	waitUntil(t, 2*lifetime, "the IoT credentials to expire", func() bool { return time.Since(connectedAt) > lifetime+500*time.Millisecond })
	if e.DropConnections(arn) == 0 {
		t.Fatal("no connection dropped")
	}
	waitUntil(t, 30*time.Second, "the master to reconnect on new credentials", func() bool {
		return connected() && e.Requests("AssumeRoleWithCertificate") > before
	})
	// Refreshed before expiry, not after a refusal: one connection before
	// the drop and one after, none refused in between.
	if n := e.Requests("ConnectAsMaster") - connects; n != 1 {
		t.Errorf("%d ConnectAsMaster requests after the drop, want 1 (a refused one means expired credentials were used)", n)
	}
	vout, verr, code := run(t, "viewer", "--channel-name", "cam", "--seconds", "1", "--json")
	if code != 0 {
		t.Fatalf("viewer exit %d\n%s\n%s\nmaster:\n%s", code, vout, verr, errOut.String())
	}
	if v := decode[viewerJSON](t, vout); v.Stats.Video.Frames < 10 {
		t.Errorf("viewer got %d video frames", v.Stats.Video.Frames)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("master did not stop")
	}
	if strings.Contains(errOut.String(), "ExpiredToken") {
		t.Errorf("the master used expired credentials:\n%s", errOut.String())
	}
}

// TestMasterIoTRefused checks that a wrong certificate, thing or role
// alias stops `kvsrtc master` before it connects, with the service's
// message, a hint and the auth exit code, and that missing IoT flags are a
// usage error.
func TestMasterIoTRefused(t *testing.T) {
	e, _, iotArgs := iotMasterEnv(t, time.Hour)
	other, err := e.IssueIoTCertificate("cam2")
	if err != nil {
		t.Fatal(err)
	}
	otherFiles, err := other.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	with := func(flag, value string) []string {
		args := append([]string{"master", "--channel-name", "cam", "--seconds", "1"}, iotArgs...)
		for i := range args {
			if args[i] == flag {
				args[i+1] = value
			}
		}
		return args
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"role alias", with("--iot-role-alias", "nope"), ExitAuth, "Role alias does not exist"},
		{"thing name", with("--iot-thing-name", "cam9"), ExitAuth, "Invalid thing name passed"},
		{"another thing's certificate", append(with("--iot-cert", otherFiles.Cert), "--iot-key", otherFiles.Key), ExitAuth, "Invalid thing name passed"},
		{"missing key", with("--iot-key", ""), ExitUsage, "--iot-key (AWS_IOT_CORE_PRIVATE_KEY)"},
		{"bad refresh", append(with("", ""), "--credentials-refresh", "-1s"), ExitUsage, "--credentials-refresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, errOut)
			}
			if code == ExitAuth && !strings.Contains(errOut, "hint: ") {
				t.Errorf("no hint:\n%s", errOut)
			}
		})
	}
}

// TestEmulatorIoTCert issues a device certificate with `kvsrtc emulator
// iot-cert` into a data directory; an emulator started later on that
// directory accepts it.
func TestEmulatorIoTCert(t *testing.T) {
	cliEnv(t)
	data, out := t.TempDir(), t.TempDir()
	stdout, stderr, code := run(t, "emulator", "iot-cert", "--data", data, "--thing", "gate-7", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = v
	}
	if env["AWS_IOT_CORE_THING_NAME"] != "gate-7" || env["AWS_IOT_CORE_CERT"] == "" {
		t.Fatalf("output %q", stdout)
	}
	e := emulatortest.Start(t, emulator.Options{DataDir: data, IoT: &emulator.IoTOptions{}})
	p, err := creds.NewIoTProvider(creds.IoTProviderOptions{Endpoint: e.IoTEndpoint(), RoleAlias: emulator.DefaultRoleAlias,
		ThingName: "gate-7", CertFile: env["AWS_IOT_CORE_CERT"], KeyFile: env["AWS_IOT_CORE_PRIVATE_KEY"], CAFile: env["AWS_IOT_CORE_CA_CERT_PATH"]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Errorf("certificate from iot-cert refused: %v", err)
	}
	if _, stderr, code := run(t, "emulator", "iot-cert", "--data", data, "--thing", "bad thing!"); code != ExitUsage || !strings.Contains(stderr, "invalid IoT thing name") {
		t.Errorf("bad thing name accepted: %s", stderr)
	}
}

// TestIoTThingNameIsChannel: on IoT credentials without --channel-name or
// --channel-arn, the channel is the thing's name, as in the C SDK samples.
func TestIoTThingNameIsChannel(t *testing.T) {
	e, arn, iotArgs := iotMasterEnv(t, time.Hour)
	c, err := e.IssueIoTCertificate("cam")
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"ice", "--no-cache", "--json"}, iotArgs...)
	for i := range args {
		switch args[i] {
		case "--iot-thing-name":
			args[i+1] = "cam"
		case "--iot-cert":
			args[i+1] = files.Cert
		case "--iot-key":
			args[i+1] = files.Key
		}
	}
	stdout, stderr, code := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := decode[iceJSON](t, stdout); got.ChannelARN != arn {
		t.Errorf("channel %s, want %s (the thing's)", got.ChannelARN, arn)
	}
}
