package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/session"
)

// storageFlags are `kvsrtc master --storage` and its timing flags (WebRTC
// ingestion, spec §6).
type storageFlags struct {
	Enabled       bool
	RetryInterval time.Duration
	SessionLimit  time.Duration
	RejoinMargin  time.Duration
	MaxJoins      int
}

func (s *storageFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&s.Enabled, "storage", false, "ingest into the channel's stream (WebRTC ingestion: media storage must be ENABLED): JoinStorageSession until the service's offer comes, answer it, join again before the session limit")
	f.DurationVar(&s.RetryInterval, "storage-retry", session.DefaultJoinRetryInterval, "with --storage: how long to wait for the offer before calling JoinStorageSession again")
	f.DurationVar(&s.SessionLimit, "storage-session-limit", session.DefaultStorageSessionLimit, "with --storage: the service's storage session limit")
	f.DurationVar(&s.RejoinMargin, "storage-rejoin-margin", session.DefaultRejoinMargin, "with --storage: join again this long before the session limit")
	f.IntVar(&s.MaxJoins, "storage-max-joins", 0, "with --storage: give up after this many calls without an offer (0: keep trying)")
}

// parse checks the flags before any work.
func (s *storageFlags) parse(cmd *cobra.Command) error {
	if !s.Enabled {
		for _, name := range []string{"storage-retry", "storage-session-limit", "storage-rejoin-margin", "storage-max-joins"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s needs --storage", name)
			}
		}
		return nil
	}
	switch {
	case s.RetryInterval < 100*time.Millisecond || s.RetryInterval > 10*time.Minute:
		return usageErrorf("--storage-retry %v: want between 100ms and 10m", s.RetryInterval)
	case s.SessionLimit < 2*time.Second || s.SessionLimit > 24*time.Hour:
		return usageErrorf("--storage-session-limit %v: want between 2s and 24h", s.SessionLimit)
	case s.RejoinMargin <= 0 || s.RejoinMargin > s.SessionLimit/2:
		return usageErrorf("--storage-rejoin-margin %v: want more than 0 and at most half the session limit (%v)", s.RejoinMargin, s.SessionLimit/2)
	case s.MaxJoins < 0:
		return usageErrorf("--storage-max-joins %d: want 0 or more", s.MaxJoins)
	}
	return nil
}

// options are the session's storage options; events go to w as they
// happen (nil: not printed).
func (s *storageFlags) options(w io.Writer) *session.StorageOptions {
	if !s.Enabled {
		return nil
	}
	o := &session.StorageOptions{RetryInterval: s.RetryInterval, SessionLimit: s.SessionLimit, RejoinMargin: s.RejoinMargin, MaxJoins: s.MaxJoins}
	if w != nil {
		o.OnEvent = func(ev session.StorageEvent) { fmt.Fprintln(w, "storage: "+storageLine(ev, s)) }
	}
	return o
}

// storageLine is one step of the storage timeline, for people.
func storageLine(ev session.StorageEvent, s *storageFlags) string {
	id := ev.Session
	if id == "" {
		id = "(no sender id)"
	}
	switch ev.Kind {
	case session.StorageEventChecked:
		return "media storage ENABLED into " + ev.Stream
	case session.StorageEventJoin:
		return fmt.Sprintf("JoinStorageSession #%d answered in %s; waiting for the offer", ev.Attempt, ev.Took.Round(time.Millisecond))
	case session.StorageEventJoinError:
		return fmt.Sprintf("JoinStorageSession #%d failed: %v", ev.Attempt, ev.Err)
	case session.StorageEventNoOffer:
		return fmt.Sprintf("no offer %v after JoinStorageSession #%d; calling it again", s.RetryInterval, ev.Attempt)
	case session.StorageEventOffer:
		return fmt.Sprintf("offer from storage session %s (after %d call(s))", id, ev.Attempt)
	case session.StorageEventConnected:
		return fmt.Sprintf("storage session %s connected %s after its offer; recording (joining again %v before the %v limit)",
			id, ev.Took.Round(time.Millisecond), s.RejoinMargin, s.SessionLimit)
	case session.StorageEventRejoin:
		return fmt.Sprintf("session %s nears the %v limit: joining again", id, s.SessionLimit)
	case session.StorageEventEnded:
		what := "replaced"
		if ev.Current {
			what = "ended"
			if ev.Err != nil {
				what += ": " + ev.Err.Error()
			}
		}
		return fmt.Sprintf("storage session %s %s", id, what)
	}
	return ev.Kind.String()
}

// writeStorageTimeline prints the storage timeline after the run.
func writeStorageTimeline(w io.Writer, evs []session.StorageEvent, s *storageFlags) {
	if len(evs) == 0 {
		return
	}
	fmt.Fprintln(w, "storage timeline:")
	for _, ev := range evs {
		fmt.Fprintf(w, "  %9.3f s  %s\n", ev.Since.Seconds(), storageLine(ev, s))
	}
}

// storageViewerFlags are `kvsrtc viewer --storage`: watch through the
// storage service (JoinStorageSessionAsViewer) while the master ingests.
type storageViewerFlags struct {
	Enabled       bool
	RetryInterval time.Duration
}

func (s *storageViewerFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&s.Enabled, "storage", false, "watch through the storage service while the master ingests (JoinStorageSessionAsViewer; the service offers)")
	f.DurationVar(&s.RetryInterval, "storage-retry", session.DefaultJoinRetryInterval, "with --storage: how long to wait for the offer before joining again")
}

func (s *storageViewerFlags) parse(cmd *cobra.Command) error {
	if !s.Enabled {
		if cmd.Flags().Changed("storage-retry") {
			return usageErrorf("--storage-retry needs --storage")
		}
		return nil
	}
	if s.RetryInterval < 100*time.Millisecond || s.RetryInterval > 10*time.Minute {
		return usageErrorf("--storage-retry %v: want between 100ms and 10m", s.RetryInterval)
	}
	return nil
}

// options are the viewer's storage options; events go to w (nil: not
// printed).
func (s *storageViewerFlags) options(w io.Writer) *session.StorageViewerOptions {
	if !s.Enabled {
		return nil
	}
	o := &session.StorageViewerOptions{RetryInterval: s.RetryInterval}
	if w != nil {
		sf := &storageFlags{RetryInterval: s.RetryInterval}
		o.OnEvent = func(ev session.StorageEvent) {
			line := storageLine(ev, sf)
			switch ev.Kind {
			case session.StorageEventJoin:
				line = fmt.Sprintf("JoinStorageSessionAsViewer #%d answered in %s; waiting for the offer", ev.Attempt, ev.Took.Round(time.Millisecond))
			case session.StorageEventConnected:
				line = fmt.Sprintf("connected to the storage session %s after its offer; watching", ev.Took.Round(time.Millisecond))
			}
			fmt.Fprintln(w, "storage: "+line)
		}
	}
	return o
}
