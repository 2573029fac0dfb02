package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// emulatorFaultFlags are the fault and network flags of `kvsrtc emulator`:
// --fault (repeatable), --fault-every, --latency, --jitter and --loss.
type emulatorFaultFlags struct {
	Faults  []string
	Every   time.Duration
	Latency time.Duration
	Jitter  time.Duration
	Loss    float64

	parsed []emulator.Fault
}

func (o *emulatorFaultFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&o.Faults, "fault", nil, "inject a fault (repeatable), e.g. 'drop:wss:to-master:0.1', 'delay:to-viewer:300ms', "+
		"'refuse:rest:op=GetIceServerConfig:count=2:429', 'goaway'; rules act from the start, one-off faults (goaway, close, "+
		"reconnect-ice, expire-turn, clock, kill) at start or every --fault-every; see README 'Faults' for the syntax")
	f.DurationVar(&o.Every, "fault-every", 0, "repeat the one-off --fault faults at this interval (0: once, at start)")
	f.DurationVar(&o.Latency, "latency", 0, "one-way delay between each client and the emulator, each way (HTTPS, WSS incl. TLS handshakes, STUN/TURN); RTT = 2×latency")
	f.DurationVar(&o.Jitter, "jitter", 0, "random extra delay in [0, jitter) per read, write and packet")
	f.Float64Var(&o.Loss, "loss", 0, "fraction of STUN/TURN packets dropped, in [0, 1)")
}

// check validates the flags (usage errors) and parses the faults.
func (o *emulatorFaultFlags) check() error {
	if o.Latency < 0 || o.Latency > 10*time.Second {
		return usageErrorf("--latency %v: want between 0 and 10s", o.Latency)
	}
	if o.Jitter < 0 || o.Jitter > 10*time.Second {
		return usageErrorf("--jitter %v: want between 0 and 10s", o.Jitter)
	}
	if !(o.Loss >= 0 && o.Loss < 1) {
		return usageErrorf("--loss %v: want a fraction in [0, 1)", o.Loss)
	}
	if o.Every < 0 || (o.Every > 0 && o.Every < 100*time.Millisecond) {
		return usageErrorf("--fault-every %v: want 0 or at least 100ms", o.Every)
	}
	o.parsed = nil
	for _, s := range o.Faults {
		f, err := emulator.ParseFault(s)
		if err != nil {
			return usageErrorf("--fault: %v\nsyntax: %s", err, emulator.FaultSyntax)
		}
		o.parsed = append(o.parsed, f)
	}
	return nil
}

func (o *emulatorFaultFlags) apply(opts *emulator.Options) {
	opts.Latency, opts.Jitter, opts.Loss = o.Latency, o.Jitter, o.Loss
}

// oneOff reports whether a fault acts once rather than as a rule.
func oneOff(f emulator.Fault) bool {
	switch f.Kind {
	case emulator.FaultDelay, emulator.FaultDrop, emulator.FaultDuplicate, emulator.FaultReorder, emulator.FaultRefuse:
		return false
	}
	return true
}

// start injects the faults and, with --fault-every, repeats the one-off
// ones until ctx ends; the returned func waits for that goroutine.
func (o *emulatorFaultFlags) start(ctx context.Context, e *emulator.Emulator, w io.Writer) (wait func(), err error) {
	var again []emulator.Fault
	for _, f := range o.parsed {
		if _, err := e.Inject(f); err != nil && !(oneOff(f) && o.Every > 0) {
			return nil, fmt.Errorf("--fault %s: %w", f, err)
		}
		if oneOff(f) {
			again = append(again, f)
		}
	}
	done := make(chan struct{})
	if o.Every == 0 || len(again) == 0 {
		close(done)
		return func() { <-done }, nil
	}
	go func() {
		defer close(done)
		t := time.NewTicker(o.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, f := range again {
				if _, err := e.Inject(f); err != nil {
					fmt.Fprintf(w, "fault %s: %v\n", f, err) // e.g. kill with nobody connected
				}
			}
		}
	}()
	return func() { <-done }, nil
}

// adminLines are the comment lines that say where the admin API is.
func adminLines(e *emulator.Emulator) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# admin API (faults): %s  Authorization: Bearer %s\n", e.AdminURL(), e.AdminToken())
	fmt.Fprintf(&b, "#   e.g. curl --cacert %s -H 'Authorization: Bearer %s' -d 'goaway' %s\n", e.CABundlePath(), e.AdminToken(), e.AdminURL())
	return b.String()
}
