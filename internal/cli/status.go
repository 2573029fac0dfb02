package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// signalingStatus prints a line on w when the signaling connection drops,
// after each failed reconnection (with its cause) and when it is back, so a
// master or viewer is never silently unreachable. who names the role.
func signalingStatus(o *session.Options, w io.Writer, who string) {
	var mu sync.Mutex
	var down time.Time
	prev := o.Signaling
	o.Signaling = func(so *signaling.Options) {
		if prev != nil {
			prev(so)
		}
		onState, onRetry := so.OnStateChange, so.OnReconnectError
		so.OnStateChange = func(sc signaling.StateChange) {
			mu.Lock()
			switch sc.State {
			case signaling.StateReconnecting:
				down = time.Now()
				fmt.Fprintf(w, "%s: signaling connection lost (%v); reconnecting\n", who, sc.Err)
			case signaling.StateConnected:
				if !down.IsZero() {
					fmt.Fprintf(w, "%s: signaling connected again after %v\n", who, time.Since(down).Round(100*time.Millisecond))
					down = time.Time{}
				}
			}
			mu.Unlock()
			if onState != nil {
				onState(sc)
			}
		}
		so.OnReconnectError = func(n int, err error) {
			fmt.Fprintf(w, "%s: signaling reconnect attempt %d failed: %v\n", who, n, err)
			if onRetry != nil {
				onRetry(n, err)
			}
		}
	}
}
