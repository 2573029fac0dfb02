package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/session"
)

// viewerOptions are the flags of `kvsrtc viewer`.
type viewerOptions struct {
	IO       *IOStreams
	AWS      awsOptions
	Channel  channelFlags
	Session  sessionFlags
	ClientID string
	Record   string
	Send     []string
	Report   string
	NoRejoin bool
	Storage  storageViewerFlags // storage.go
}

func init() {
	commands = append(commands, func(ios *IOStreams) *cobra.Command { return newViewerCmd(ios, nil) })
}

func newViewerCmd(ios *IOStreams, runF func(context.Context, *viewerOptions) error) *cobra.Command {
	opts := &viewerOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "viewer",
		Short: "Receive a channel's video and audio as a WebRTC viewer, record them, show live stats",
		Long: `Connect to a signaling channel as a viewer, receive the master's audio and
video, and record them with --record to a file any player opens (Matroska for
H.264, WebM for VP8; name it .mkv or .webm). One line on stderr keeps the live
stats: bitrate, frames per second, packets lost, jitter and round-trip time
(when stderr is not a terminal, a new line every 5 s instead).

Lines typed on stdin, and each --send, go to the master's data channel; its
messages are printed. The connection timeline (credentials, endpoints, ICE
servers, WSS, offer, answer, ICE, DTLS, first frames) is printed at the end.`,
		Example: `  kvsrtc viewer --channel-name cam --record cam.mkv
  kvsrtc viewer --channel-name cam --seconds 10 --json --force-turn --relay-transport udp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Session.parse(); err != nil {
				return err
			}
			if err := opts.Storage.parse(cmd); err != nil {
				return err
			}
			if opts.ClientID == "" {
				opts.ClientID = randomClientID()
			}
			if err := channel.ValidClientID(opts.ClientID); err != nil {
				return &UsageError{Err: err}
			}
			if err := checkRecordName(opts.Record); err != nil {
				return err
			}
			if err := checkReportPath(opts.Report); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runViewer(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	opts.Channel.add(cmd)
	opts.Session.add(cmd)
	opts.Storage.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.ClientID, "client-id", "", "the viewer's client id (default: random)")
	f.StringVar(&opts.Record, "record", "", "record to this file (.mkv for H.264, .webm for VP8)")
	f.StringArrayVar(&opts.Send, "send", nil, "send this message on the data channel once it opens (repeatable)")
	addReportFlag(cmd, &opts.Report)
	f.BoolVar(&opts.NoRejoin, "no-rejoin", false, "exit when the connection to the master ends instead of offering again (with backoff) until it is back")
	return cmd
}

func randomClientID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "kvsrtc-viewer-" + hex.EncodeToString(b)
}

// viewerJSON is the --json output of `kvsrtc viewer` (and of each viewer of
// `kvsrtc demo`); field names are stable.
type viewerJSON struct {
	ClientID  string              `json:"clientId"`
	Timeline  *session.Timeline   `json:"timeline"`
	Stats     session.ViewerStats `json:"stats"`
	Recording string              `json:"recording,omitempty"`
	Error     string              `json:"error,omitempty"`
}

func runViewer(ctx context.Context, opts *viewerOptions) error {
	tl := session.NewTimeline(time.Now())
	env, arn, _, err := loadChannel(ctx, opts.IO, &opts.AWS, &opts.Channel, "viewer")
	if err != nil {
		return err
	}
	defer env.done()
	if err := credentialsStep(ctx, env.cfg.Credentials, tl); err != nil {
		return err
	}
	so := env.sessionOptions(arn, tl)
	opts.Session.apply(&so)
	ios := opts.IO
	msgOut := ios.Out
	if opts.AWS.JSON { // stdout holds the JSON alone
		msgOut = ios.ErrOut
	}
	so.OnMessage = func(_ string, m session.DataMessage) { fmt.Fprintf(msgOut, "master: %s\n", m.Data) }
	signalingStatus(&so, ios.ErrOut, "viewer")
	vo := session.ViewerOptions{Options: so, ClientID: opts.ClientID, Duration: opts.Session.duration(), Rejoin: !opts.NoRejoin,
		MediaTimeout: mediaTimeout(opts.Session.duration()),
		OnRejoin: func(cause error, wait time.Duration) {
			fmt.Fprintf(ios.ErrOut, "viewer: %v; offering again in %v\n", cause, wait.Round(10*time.Millisecond))
		}}
	storageOut := ios.ErrOut
	if opts.AWS.JSON {
		storageOut = nil
	}
	vo.Storage = opts.Storage.options(storageOut)
	var rec *os.File
	if opts.Record != "" {
		if rec, err = os.Create(opts.Record); err != nil {
			return err
		}
		defer rec.Close()
		vo.Record = rec
	}
	v, err := session.NewViewer(vo)
	if err != nil {
		return err
	}
	defer v.Close()
	res := runViewerLive(ctx, v, ios, !opts.AWS.JSON, opts.Send, true)
	out := viewerJSON{ClientID: opts.ClientID, Timeline: v.Timeline(), Stats: v.Stats(), Recording: opts.Record}
	if res != nil {
		out.Error = res.Error()
	}
	if rec != nil {
		if err := rec.Close(); err != nil && res == nil {
			res = err
		}
	}
	if doc := v.Recording(); doc != "" && (doc == "webm") != strings.EqualFold(filepath.Ext(opts.Record), ".webm") {
		fmt.Fprintf(ios.ErrOut, "warning: --record %s holds %s (%s); rename it .%s\n", opts.Record, doc, map[string]string{"webm": "VP8", "matroska": "H.264"}[doc], map[string]string{"webm": "webm", "matroska": "mkv"}[doc])
	}
	if opts.Report != "" {
		chart := timelineChart("kvsrtc viewer "+opts.ClientID+": "+arn.String(), namedTimeline{tl: v.Timeline()})
		if err := writeReport(opts.Report, chart.WriteSVG); err != nil && res == nil {
			res = err
		}
	}
	if opts.AWS.JSON {
		if err := writeJSON(ios.Out, out); err != nil && res == nil {
			res = err
		}
		return res
	}
	printViewer(ios.Out, out)
	return res
}

// Live stats intervals: on a terminal the line is redrawn in place every
// second; elsewhere (kvsrtc demo 2>&1 | cat, a log file) a whole line is
// printed every 5 s, so the output stays one line per report.
const (
	liveEveryTTY   = time.Second
	liveEveryPiped = 5 * time.Second
	liveTick       = 20 * time.Millisecond
)

// runViewerLive runs v, keeping a live stats line on stderr when live is
// set, sending the messages once the data channel opens and stdin lines
// when stdin is set.
func runViewerLive(ctx context.Context, v *session.Viewer, ios *IOStreams, live bool, send []string, stdin bool) error {
	done, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(done); <-stopped }() // the line is ended before we return
	every := liveEveryPiped
	if ios.ErrTTY {
		every = liveEveryTTY
	}
	go func() { // owned by this function: ends with done
		defer close(stopped)
		// Messages go as soon as the data channel opens (checked every
		// 20 ms); the stats line comes every `every`.
		t := time.NewTicker(liveTick)
		defer t.Stop()
		var prev session.ViewerStats
		pending := send
		redrawn := false
		for tick := 1; ; tick++ {
			select {
			case <-done:
				if redrawn { // end the line redrawn with '\r'
					fmt.Fprintln(ios.ErrOut)
				}
				return
			case <-t.C:
			}
			for len(pending) > 0 && v.SendText(pending[0]) == nil {
				pending = pending[1:]
			}
			if tick%int(every/liveTick) != 0 {
				continue
			}
			s := v.Stats()
			switch {
			case !live:
			case ios.ErrTTY:
				fmt.Fprintf(ios.ErrOut, "\r%s   ", statsLine(prev, s, every))
				redrawn = true
			default:
				fmt.Fprintln(ios.ErrOut, statsLine(prev, s, every))
			}
			prev = s
		}
	}()
	if stdin && ios.In != nil {
		go func() { // ends at EOF; a process exit ends it otherwise
			sc := bufio.NewScanner(ios.In)
			for sc.Scan() {
				if err := v.SendText(sc.Text()); err != nil {
					fmt.Fprintf(ios.ErrOut, "send: %v\n", err)
				}
			}
		}()
	}
	return v.Run(ctx)
}

// statsLine is the live line: rates over the last interval d.
func statsLine(prev, s session.ViewerStats, d time.Duration) string {
	secs := d.Seconds()
	kbps := float64(s.Video.Bytes+s.Audio.Bytes-prev.Video.Bytes-prev.Audio.Bytes) * 8 / 1000 / secs
	fps := float64(s.Video.Frames-prev.Video.Frames) / secs
	return fmt.Sprintf("video %s %3.0f fps  %6.0f kbit/s  lost %d  jitter %.1f ms  rtt %.1f ms",
		s.Video.Codec, fps, kbps, s.Video.PacketsLost+s.Audio.PacketsLost, s.Video.JitterMs, s.RTTMs)
}

func printViewer(w io.Writer, v viewerJSON) {
	fmt.Fprintf(w, "viewer %s timeline:\n", v.ClientID)
	v.Timeline.WriteTo(w)
	s := v.Stats
	fmt.Fprintf(w, "video %s: %d frames (%d key), %.1f fps, %.0f kbit/s, lost %d, jitter %.1f ms\n",
		s.Video.Codec, s.Video.Frames, s.Video.Keyframes, s.Video.FPS, s.Video.BitrateKbps, s.Video.PacketsLost, s.Video.JitterMs)
	fmt.Fprintf(w, "audio %s: %d frames, %.0f kbit/s, lost %d, jitter %.1f ms\n",
		s.Audio.Codec, s.Audio.Frames, s.Audio.BitrateKbps, s.Audio.PacketsLost, s.Audio.JitterMs)
	fmt.Fprintf(w, "rtt %.2f ms\n", s.RTTMs)
	if v.Recording != "" {
		fmt.Fprintf(w, "recording: %s\n", v.Recording)
	}
	if v.Error != "" {
		fmt.Fprintf(w, "error: %s\n", v.Error)
	}
}

// checkRecordName refuses a --record name a player would not open as what
// it holds: the recording is Matroska (H.264) or WebM (VP8).
func checkRecordName(path string) error {
	if path == "" {
		return nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mkv", ".webm":
		return nil
	}
	return usageErrorf("--record %s: name it .mkv (H.264, Matroska) or .webm (VP8, WebM)", path)
}

// minMediaTimeout is the least wait for media with --seconds.
const minMediaTimeout = 5 * time.Second

// mediaTimeout is how long a viewer with --seconds d waits for media once
// connected: d, at least 5 s (0: no --seconds, no bound). Without it a
// master that sends nothing would keep `viewer --seconds 1` for ever.
func mediaTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return max(d, minMediaTimeout)
}
