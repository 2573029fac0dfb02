package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

// IOStreams are where a command reads and writes; tests swap them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer // results
	ErrOut io.Writer // progress, timelines, errors
	// ErrTTY reports that ErrOut is a terminal: live lines are redrawn in
	// place with '\r'. Otherwise (a pipe, a file, a test's buffer) they are
	// printed as whole lines, less often.
	ErrTTY bool
}

// isTerminal reports whether f is a character device (a terminal), without
// golang.org/x/term.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Main runs kvsrtc with args and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrTTY: isTerminal(os.Stderr)}
	return Run(ctx, ios, args)
}

// Run runs kvsrtc with args on ios and returns the exit code.
func Run(ctx context.Context, ios *IOStreams, args []string) int {
	// Commands write from several goroutines (live stats, data-channel
	// messages, errors): one lock per stream keeps lines whole.
	locked := *ios
	locked.Out, locked.ErrOut = &syncWriter{w: ios.Out}, &syncWriter{w: ios.ErrOut}
	ios = &locked
	root := NewRootCmd(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if code == ExitCanceled && ctx.Err() != nil {
		return code
	}
	fmt.Fprintf(ios.ErrOut, "kvsrtc: %v\n", err)
	if h := hint(err); h != "" {
		fmt.Fprintf(ios.ErrOut, "hint: %s\n", h)
	}
	return code
}

// hints let command files attach an actionable hint to an error.
var hints []func(error) string

func hint(err error) string {
	for _, h := range hints {
		if s := h(err); s != "" {
			return s
		}
	}
	return ""
}

// NewRootCmd builds the command tree.
func NewRootCmd(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kvsrtc",
		Short: "Amazon Kinesis Video Streams WebRTC from the command line, and a local KVS emulator",
		Long: `kvsrtc gets from AWS credentials to a live Kinesis Video Streams WebRTC session:
signaling endpoints, ICE servers, signaling over WSS, master and viewer.
"kvsrtc emulator" runs a local KVS signaling service that needs no AWS account.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &UsageError{Err: err}
	})
	addLogFlags(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return setLogger(cmd, ios.ErrOut) }
	root.Version = versionString()
	for _, add := range commands {
		root.AddCommand(add(ios))
	}
	return root
}

// commands are registered by each command file's init.
var commands []func(*IOStreams) *cobra.Command

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
