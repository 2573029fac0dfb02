package wire

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x01\x1f\x7f", "\n\r\t\b\f", "é€😀", "\xff\xfe", "a\xc3", "\u2028\u2029"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendString(%q) = %s: not JSON: %v", s, got, err)
			continue
		}
		if want := string([]rune(s)); back != want {
			t.Errorf("appendString(%q) decodes to %q, want %q", s, back, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		// string([]rune(s)) writes one U+FFFD per bad byte, as encoding/json does.
		if want := string([]rune(s)); back != want {
			t.Fatalf("decodes to %q, want %q", back, want)
		}
	})
}

// FuzzCheckBase64 holds checkBase64 to encoding/base64: whatever it accepts
// decodes, and it agrees with the decoders on every input without line breaks.
func FuzzCheckBase64(f *testing.F) {
	for _, s := range []string{"", "YQ", "YQ==", "YQ=", "YWJj", "YWJjZ", "====", "Y===", "YW=J"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return
		}
		ok := checkBase64(s) == nil
		_, errPad := base64.StdEncoding.DecodeString(s)
		_, errRaw := base64.RawStdEncoding.DecodeString(s)
		if want := errPad == nil || errRaw == nil; ok != want {
			t.Fatalf("checkBase64(%q) ok = %v, encoding/base64 ok = %v", s, ok, want)
		}
		if ok {
			if _, err := decodeBase64(s); err != nil {
				t.Fatalf("decodeBase64(%q): %v", s, err)
			}
		}
	})
}
