package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/doctor"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
)

func newChannel(t testing.TB, opts emulator.Options) (*emulator.Emulator, aws.Config, string) {
	t.Helper()
	e := emulatortest.Start(t, opts)
	cfg := emulatortest.Config(e)
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(context.Background(),
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("doc")})
	if err != nil {
		t.Fatal(err)
	}
	return e, cfg, aws.ToString(out.ChannelARN)
}

// TestRunByName: a master found by name, without media: every check up to
// TURN passes, the parallel ones overlap in time, OnCheck sees the checks
// in report order, and the JSON reads back.
func TestRunByName(t *testing.T) {
	e, cfg, arn := newChannel(t, emulator.Options{})
	var seen []string
	rep, err := doctor.Run(context.Background(), doctor.Options{
		Config: cfg, Resolver: resolve.New(cfg, resolve.Options{NoCache: true, STUNURL: e.STUNURL()}),
		ChannelName: "doc", Role: channel.RoleMaster, StepTimeout: 5 * time.Second,
		OnCheck: func(c doctor.Check) { seen = append(seen, c.Name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Channel != arn || rep.Role != "MASTER" {
		t.Fatalf("report %+v", rep)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		want := doctor.StatusPass
		if c.Step == doctor.StepPeer || c.Step == doctor.StepMedia || strings.HasPrefix(c.Name, "turn dtls ") {
			want = doctor.StatusSkip // a master probes media only with WaitViewer; no client uses TURN over DTLS
		}
		if c.Status != want {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	if strings.Join(seen, ",") != strings.Join(names, ",") {
		t.Errorf("OnCheck saw %v, report has %v", seen, names)
	}
	// getIceConfig, connect and stun start once the endpoints are known.
	ep, _ := rep.Check("getEndpoint")
	ice, _ := rep.Check("getIceConfig")
	conn, _ := rep.Check("connect")
	if ice.StartMs < ep.EndMs || conn.StartMs < ep.EndMs {
		t.Errorf("getIceConfig at %v, connect at %v, before the endpoints at %v", ice.StartMs, conn.StartMs, ep.EndMs)
	}
	d, _ := rep.Check("describeChannel")
	if !strings.Contains(d.Detail, "ARN "+arn) {
		t.Errorf("describe detail %q lacks the ARN found", d.Detail)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back doctor.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Checks) != len(rep.Checks) || back.Checks[0].Status != doctor.StatusPass {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
}

// TestRunNotFound: a channel that does not exist fails describe, and the
// steps that need the channel are skipped, not failed again.
func TestRunNotFound(t *testing.T) {
	e, cfg, _ := newChannel(t, emulator.Options{})
	rep, err := doctor.Run(context.Background(), doctor.Options{
		Config: cfg, Resolver: resolve.New(cfg, resolve.Options{NoCache: true, STUNURL: e.STUNURL()}),
		ChannelName: "nope", StepTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstFailure != doctor.StepDescribe || len(rep.Failed()) != 1 {
		t.Fatalf("failures %+v", rep.Failed())
	}
	d, _ := rep.Check("describeChannel")
	if !strings.Contains(d.Fix, "kvsrtc channel list") {
		t.Errorf("fix %q", d.Fix)
	}
	for _, n := range []string{"getEndpoint", "connect", "peer"} {
		if c, _ := rep.Check(n); c.Status != doctor.StatusSkip {
			t.Errorf("%s: %+v", n, c)
		}
	}
	if c, _ := rep.Check("stun"); c.Status != doctor.StatusPass {
		t.Errorf("stun needs no channel: %+v", c)
	}
}

// fixedCreds returns the same credentials every time.
type fixedCreds struct{ c aws.Credentials }

func (f fixedCreds) Retrieve(context.Context) (aws.Credentials, error) { return f.c, nil }

// TestCredentialLifetime: temporary credentials from a refreshing source
// show their expiry and remaining lifetime; ones past their expiry fail
// before any call, and the signed steps are skipped.
func TestCredentialLifetime(t *testing.T) {
	dev := emulator.DevCredential
	tmp := emulator.Credential{AccessKeyID: "ASIADOCTORTEMP", SecretAccessKey: "doctor-temp-secret", SessionToken: "doctor-temp-token"}
	e, cfg, arn := newChannel(t, emulator.Options{Credentials: []emulator.Credential{dev, tmp}})
	for _, tt := range []struct {
		name    string
		expires time.Time
		status  doctor.Status
		detail  []string
	}{
		{"live", time.Now().Add(10*time.Minute + 400*time.Millisecond), doctor.StatusPass, []string{"source doctortest", "(in 10m0s)", "refreshable", "accepted by the service"}},
		{"expired", time.Now().Add(-time.Minute + 400*time.Millisecond), doctor.StatusFail, []string{"source doctortest", "(in -1m0s)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.Credentials = aws.NewCredentialsCache(fixedCreds{aws.Credentials{AccessKeyID: tmp.AccessKeyID, SecretAccessKey: tmp.SecretAccessKey,
				SessionToken: tmp.SessionToken, CanExpire: true, Expires: tt.expires, Source: "doctortest"}})
			rep, err := doctor.Run(context.Background(), doctor.Options{Config: c,
				Resolver: resolve.New(c, resolve.Options{NoCache: true, STUNURL: e.STUNURL()}), ChannelARN: arn, NoMedia: true})
			if err != nil {
				t.Fatal(err)
			}
			cr := rep.Checks[0]
			if cr.Name != "credentials" || cr.Status != tt.status {
				t.Fatalf("credentials %+v", cr)
			}
			for _, d := range tt.detail {
				// A slow machine may take a second to get here.
				if !strings.Contains(cr.Detail, d) && !strings.Contains(cr.Detail, strings.NewReplacer("10m0s", "9m59s", "-1m0s", "-1m1s").Replace(d)) {
					t.Errorf("detail %q lacks %q", cr.Detail, d)
				}
			}
			if strings.Contains(cr.Detail+cr.Error, tmp.SessionToken) || strings.Contains(cr.Detail, tmp.AccessKeyID) {
				t.Errorf("credentials line shows a secret or the whole key: %+v", cr)
			}
			if tt.status == doctor.StatusFail {
				if !strings.Contains(cr.Fix, "get new credentials") {
					t.Errorf("fix %q", cr.Fix)
				}
				if d, _ := rep.Check("describeChannel"); d.Status != doctor.StatusSkip {
					t.Errorf("describe with expired credentials: %+v", d)
				}
			}
		})
	}
}
