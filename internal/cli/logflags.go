package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/wire"
)

// Environment variables for the log flags.
const (
	envLogFormat = "KVSRTC_LOG_FORMAT"
	envLogLevel  = "KVSRTC_LOG_LEVEL"
)

// addLogFlags adds --log-format and --log-level to root, for every command.
func addLogFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("log-format", envOr(envLogFormat, "text"), "log lines as text or json, on stderr (env "+envLogFormat+")")
	f.String("log-level", envOr(envLogLevel, "error"), "least important log lines shown: debug, info, warn or error (env "+envLogLevel+"; master --config: info; the emulator: info)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// newLogger builds the logger of cmd from --log-format and --log-level,
// writing to w. Every line goes through the redacting handler. minLevel,
// if lower than --log-level, wins (e.g. -v asking for debug).
func newLogger(cmd *cobra.Command, w io.Writer, minLevel ...slog.Level) (*slog.Logger, error) {
	format, levelName := "text", "error"
	if f := cmd.Flag("log-format"); f != nil {
		format = f.Value.String()
	}
	if f := cmd.Flag("log-level"); f != nil {
		levelName = f.Value.String()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		return nil, usageErrorf("--log-level %q: want debug, info, warn or error", levelName)
	}
	for _, l := range minLevel {
		if l < level {
			level = l
		}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usageErrorf("--log-format %q: want text or json", format)
	}
	return slog.New(&redactHandler{h}), nil
}

// secretKey matches attribute keys whose values are secrets.
var secretKey = regexp.MustCompile(`(?i)(secret|password|passwd|token|signature|authorization|private[_-]?key|credential_?value|^sk$|^pwd$)`)

// secretInText finds secrets inside free text: presigned URL parameters,
// Authorization headers, AWS-style key=value pairs and PEM private keys.
var secretInText = regexp.MustCompile(`(?i)(X-Amz-(Signature|Security-Token|Credential)=)[^&\s"']+` +
	`|(Authorization:\s*)[^\r\n"]+` +
	`|((secret_?access_?key|session_?token|aws_secret_access_key|aws_session_token|password)["']?\s*[:=]\s*["']?)[^\s"',}]+` +
	`|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`)

// redactAttr masks attributes named like secrets and secrets inside
// string values (ReplaceAttr of the built-in handlers).
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
	}
	if secretKey.MatchString(a.Key) && !isHarmless(a.Value) {
		return slog.String(a.Key, "****")
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redactText(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, redactText(err.Error()))
		}
		if s, ok := a.Value.Any().(fmt.Stringer); ok {
			return slog.String(a.Key, redactText(s.String()))
		}
	}
	return a
}

// isHarmless lets through values of secret-sounding keys that cannot hold
// a secret: numbers, booleans, durations, and the "****" mask itself.
func isHarmless(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	case slog.KindString:
		return v.String() == "****" || v.String() == ""
	}
	return false
}

// redactText masks the secrets secretInText finds and redacts URLs.
func redactText(s string) string {
	if strings.Contains(s, "X-Amz-") && strings.Contains(s, "://") && !strings.ContainsAny(s, " \t\n") {
		s = wire.RedactURL(s)
	}
	return secretInText.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "-----BEGIN") {
			return "****"
		}
		loc := secretInText.FindStringSubmatchIndex(m)
		for _, g := range []int{1, 3, 4} { // the kept prefix of each alternative
			if loc[2*g] >= 0 {
				return m[:loc[2*g+1]] + "****"
			}
		}
		return "****"
	})
}

// redactHandler also redacts the message itself, which ReplaceAttr does
// not see.
type redactHandler struct{ slog.Handler }

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	if secretInText.MatchString(r.Message) || strings.Contains(r.Message, "X-Amz-") {
		nr := slog.NewRecord(r.Time, r.Level, redactText(r.Message), r.PC)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		r = nr
	}
	return h.Handler.Handle(ctx, r)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &redactHandler{h.Handler.WithAttrs(as)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h.Handler.WithGroup(name)}
}

// loggerKey carries the command's logger in its context.
type loggerKey struct{}

// setLogger builds the logger from the log flags before any command runs
// (the root's PersistentPreRunE) and puts it in the command's context.
func setLogger(cmd *cobra.Command, w io.Writer) error {
	log, err := newLogger(cmd, w)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cmd.SetContext(context.WithValue(ctx, loggerKey{}, log))
	return nil
}

// loggerFrom gives the logger setLogger stored, or one that discards.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
