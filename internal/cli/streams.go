package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// streamsOptions are the flags of `kvsrtc emulator streams [export]`.
type streamsOptions struct {
	IO      *IOStreams
	DataDir string
	JSON    bool
	// export
	Stream  string
	Account string
	Start   string
	End     string
	Output  string
}

// newStreamsCmd is `kvsrtc emulator streams`: the media an emulator stored
// by WebRTC ingestion, read from its data dir (it may be running).
func newStreamsCmd(ios *IOStreams) *cobra.Command {
	opts := &streamsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "List the media an emulator stored by WebRTC ingestion, or export a time range",
		Long: `List the streams an emulator stored media into (kvsrtc master --storage, or any
client calling JoinStorageSession) under its --data dir, with their fragments
and the time they span on the service's clock. The emulator may be running.

"streams export" writes one stream's media between --start and --end as one
Matroska file (H.264 + Opus) that begins at a keyframe; ffprobe, ffplay and
VLC play it.`,
		Example: `  kvsrtc emulator streams --data ~/.kvsrtc-emulator
  kvsrtc emulator streams export --data ~/.kvsrtc-emulator --stream cam-stream -o cam.mkv
  kvsrtc emulator streams export --data ~/.kvsrtc-emulator --stream cam-stream --start 10s --end 40s -o part.mkv`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if opts.DataDir == "" {
				return usageErrorf("--data is required: the emulator's data dir")
			}
			return listStreams(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", "", "the emulator's data dir (its --data)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")

	export := &cobra.Command{
		Use:   "export",
		Short: "Export a stream's stored media between two times as one Matroska file",
		Long: `Write a stream's stored media as one Matroska file (H.264 + Opus) that begins at
a keyframe. --start and --end are RFC 3339 times (2026-12-01T20:40:00Z), Unix
milliseconds, or durations from the stream's first media (10s, 1m30s);
without them the whole stream is written.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch {
			case opts.DataDir == "":
				return usageErrorf("--data is required: the emulator's data dir")
			case opts.Stream == "":
				return usageErrorf("--stream is required: the stream's name (kvsrtc emulator streams lists them)")
			case opts.Output == "":
				return usageErrorf("-o/--output is required: the .mkv file to write")
			}
			return exportStream(opts)
		},
	}
	f := export.Flags()
	f.StringVar(&opts.DataDir, "data", "", "the emulator's data dir (its --data)")
	f.StringVar(&opts.Stream, "stream", "", "stream name")
	f.StringVar(&opts.Account, "account", "", "account id, when streams of several accounts share the name")
	f.StringVar(&opts.Start, "start", "", "start: RFC 3339 time, Unix ms, or a duration after the first media (default: the beginning)")
	f.StringVar(&opts.End, "end", "", "end: as --start (default: the end)")
	f.StringVarP(&opts.Output, "output", "o", "", "the Matroska file to write (.mkv)")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.AddCommand(export)
	return cmd
}

// streamJSON is one stream in `kvsrtc emulator streams --json`.
type streamJSON struct {
	Account    string    `json:"account"`
	Name       string    `json:"name"`
	Created    time.Time `json:"created"`
	Fragments  int       `json:"fragments"`
	First      time.Time `json:"first,omitzero"`
	Last       time.Time `json:"last,omitzero"`
	DurationMs int64     `json:"durationMs"`
	Bytes      int64     `json:"bytes"`
	Dir        string    `json:"dir"`
}

func listStreams(o *streamsOptions) error {
	if _, err := os.Stat(o.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	streams, err := emulator.ListStoredMedia(o.DataDir)
	if err != nil {
		return err
	}
	out := make([]streamJSON, 0, len(streams))
	for _, s := range streams {
		out = append(out, streamJSON{Account: s.Account, Name: s.Name, Created: s.Created, Fragments: len(s.Fragments),
			First: s.First, Last: s.Last, DurationMs: s.Duration().Milliseconds(), Bytes: s.Bytes, Dir: s.Dir})
	}
	if o.JSON {
		return writeJSON(o.IO.Out, out)
	}
	if len(out) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "no stored media under %s (ingest with: kvsrtc master --storage)\n", o.DataDir)
		return nil
	}
	tw := tabwriter.NewWriter(o.IO.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSTREAM\tFRAGMENTS\tFIRST\tLAST\tMEDIA\tSIZE")
	for _, s := range out {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Account, s.Name, s.Fragments, stamp(s.First), stamp(s.Last),
			(time.Duration(s.DurationMs) * time.Millisecond).Round(100*time.Millisecond), humanBytes(s.Bytes))
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseStreamTime reads --start/--end: RFC 3339, Unix ms, or a duration
// after first.
func parseStreamTime(flag, s string, first time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 1e11 {
		return time.UnixMilli(ms), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return first.Add(d), nil
	}
	return time.Time{}, usageErrorf("--%s %q: want an RFC 3339 time (2026-12-01T20:40:00Z), Unix milliseconds, or a duration after the first media (10s)", flag, s)
}

func exportStream(o *streamsOptions) error {
	streams, err := emulator.ListStoredMedia(o.DataDir)
	if err != nil {
		return err
	}
	var match []emulator.StoredStream
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
		if s.Name == o.Stream && (o.Account == "" || s.Account == o.Account) {
			match = append(match, s)
		}
	}
	if len(match) == 0 {
		return notFoundError{fmt.Errorf("no stored media for stream %q under %s (streams with media: %s)", o.Stream, o.DataDir, orNone(names))}
	}
	// A stream made again under its name: the newest; across accounts: ask.
	s := match[len(match)-1]
	for _, m := range match {
		if m.Account != s.Account {
			return usageErrorf("stream %q has media in accounts %s and %s: give --account", o.Stream, m.Account, s.Account)
		}
	}
	from, err := parseStreamTime("start", o.Start, s.First)
	if err != nil {
		return err
	}
	to, err := parseStreamTime("end", o.End, s.First)
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return usageErrorf("--end must be after --start")
	}
	fh, err := os.Create(o.Output)
	if err != nil {
		return err
	}
	res, err := s.Export(fh, from, to)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.Output)
		if errors.Is(err, emulator.ErrNoMedia) {
			return notFoundError{err}
		}
		return err
	}
	if o.JSON {
		return writeJSON(o.IO.Out, struct {
			Output      string    `json:"output"`
			Fragments   int       `json:"fragments"`
			VideoFrames int       `json:"videoFrames"`
			AudioFrames int       `json:"audioFrames"`
			First       time.Time `json:"first"`
			Last        time.Time `json:"last"`
			DurationMs  int64     `json:"durationMs"`
		}{o.Output, res.Fragments, res.VideoFrames, res.AudioFrames, res.First, res.Last, res.Last.Sub(res.First).Milliseconds()})
	}
	fmt.Fprintf(o.IO.Out, "wrote %s: %s of media from %d fragments (%d video, %d audio frames), %s to %s\n", o.Output,
		res.Last.Sub(res.First).Round(time.Millisecond), res.Fragments, res.VideoFrames, res.AudioFrames, stamp(res.First), stamp(res.Last))
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// notFoundError exits with ExitNotFound.
type notFoundError struct{ error }

func (e notFoundError) Unwrap() error { return e.error }
func (notFoundError) ExitCode() int   { return ExitNotFound }
