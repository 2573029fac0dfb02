package channel

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseARN checks that ParseARN never panics, that every error is an
// *ARNError matching ErrInvalidARN, and that what it accepts round-trips and
// validates. Seeds cover each field's error; more live in testdata/fuzz.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		goodARN, cnARN, govARN,
		"",
		"arn:aws:kinesisvideo:us-west-2:1234:channel/x/1",
		"arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1700506395046",
		"arn:aws:kinesisvideo:cn-north-1:123456789012:channel/x/1700506395046",
		"arn:aws-iso:kinesisvideo:us-iso-east-1:123456789012:channel/x/1700506395046",
		"arn:aws:kinesisvideo:us-west-2:123456789012:channel/a/b/1700506395046",
		"arn:aws:kinesisvideo:us-west-2:123456789012:channel//1700506395046",
		"arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046/",
		"arn:aws:kinesisvideo:us-west-2:123456789012:channel",
		"arn:::::",
		"arn:aws:kinesisvideo:us-west-2:123456789012:channel/\xff/1700506395046",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			var ae *ARNError
			if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidARN) {
				t.Fatalf("ParseARN(%q) error %T %v is not an *ARNError", s, err, err)
			}
			if ae.ARN != s {
				t.Fatalf("ARNError.ARN = %q, want the input %q", ae.ARN, s)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "channel ARN ") || !utf8.ValidString(msg) {
				t.Fatalf("error message %q", msg)
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, got)
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("ParseARN(%q) accepted an ARN that Validate refuses: %v", s, err)
		}
		if a.Partition != PartitionForRegion(a.Region) {
			t.Fatalf("ParseARN(%q) accepted partition %q for region %q", s, a.Partition, a.Region)
		}
		if err := ValidName(a.Name); err != nil {
			t.Fatalf("ParseARN(%q) accepted name: %v", s, err)
		}
	})
}
