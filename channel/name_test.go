package channel

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string // "" when valid
	}{
		{"simple", "demo-channel", ""},
		{"all classes", "aZ09_.-", ""},
		{"256 bytes", strings.Repeat("a", 256), ""},
		{"empty", "", `channel name is empty: want 1 to 256 letters, digits, '_', '.' or '-'`},
		{"257 bytes", strings.Repeat("a", 257), `channel name "` + strings.Repeat("a", 257) + `" is 257 bytes long: want at most 256`},
		{"space", "my chan", `channel name "my chan" has ' ' at byte 2: want only letters, digits, '_', '.' or '-'`},
		{"slash", "a/b", `channel name "a/b" has '/' at byte 1: want only letters, digits, '_', '.' or '-'`},
		{"non-ASCII", "caméra", `channel name "caméra" has 'é' at byte 3: want only letters, digits, '_', '.' or '-'`},
		{"invalid UTF-8", "a\xff", `channel name "a\xff" has '�' at byte 1: want only letters, digits, '_', '.' or '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.in)
			checkErr(t, err, ErrInvalidName, tt.msg)
		})
	}
}

func TestValidClientID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"sample viewer", "ConsumerViewer", ""},
		{"random", "x7_Q.z-9", ""},
		{"contains AWS_", "my-AWS_viewer", ""},
		{"just AWS", "AWS", ""},
		{"256 bytes", strings.Repeat("v", 256), ""},
		{"empty", "", `client ID is empty: want 1 to 256 letters, digits, '_', '.' or '-'`},
		{"257 bytes", strings.Repeat("v", 257), `client ID "` + strings.Repeat("v", 257) + `" is 257 bytes long: want at most 256`},
		{"colon", "viewer:1", `client ID "viewer:1" has ':' at byte 6: want only letters, digits, '_', '.' or '-'`},
		{"AWS_ prefix", "AWS_viewer", `client ID "AWS_viewer" starts with "AWS_": the prefix AWS_ is reserved, in any case`},
		{"aws_ prefix", "aws_viewer", `client ID "aws_viewer" starts with "aws_": the prefix AWS_ is reserved, in any case`},
		{"mixed-case prefix", "aWs_", `client ID "aWs_" starts with "aWs_": the prefix AWS_ is reserved, in any case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidClientID(tt.in), ErrInvalidClientID, tt.msg)
		})
	}
}

// checkErr fails unless err is nil when msg is "", or else matches kind and
// reads exactly msg.
func checkErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if msg == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v does not match %v", err, kind)
	}
	if err.Error() != msg {
		t.Errorf("error\n got %s\nwant %s", err, msg)
	}
}
