package channel

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	goodARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1700506395046"
	cnARN   = "arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/my-channel/1700506395046"
	govARN  = "arn:aws-us-gov:kinesisvideo:us-gov-west-1:123456789012:channel/a_b.c-D/0000000000001"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ARN
	}{
		{"commercial", goodARN, ARN{"aws", "us-west-2", "123456789012", "demo-channel", 1700506395046}},
		{"china", cnARN, ARN{"aws-cn", "cn-north-1", "123456789012", "my-channel", 1700506395046}},
		{"govcloud with leading zeros", govARN, ARN{"aws-us-gov", "us-gov-west-1", "123456789012", "a_b.c-D", 1}},
		{"name of 256", "arn:aws:kinesisvideo:eu-west-1:000000000000:channel/" + strings.Repeat("n", 256) + "/9999999999999",
			ARN{"aws", "eu-west-1", "000000000000", strings.Repeat("n", 256), 9999999999999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseARN(tt.in)
			if err != nil {
				t.Fatalf("ParseARN(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseARN(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseARNErrors(t *testing.T) {
	long := "arn:aws:kinesisvideo:us-west-2:123456789012:channel/" + strings.Repeat("x", 1000) + "/1700506395046"
	tests := []struct {
		name  string
		in    string
		field string
		msg   string // the whole error message
	}{
		{"empty", "", "",
			`channel ARN is empty: ` + wantShape},
		{"too long", long, "",
			`channel ARN ` + quote(long) + `: want at most 1024 bytes, got 1066`},
		{"not an ARN", "demo-channel", "",
			`channel ARN "demo-channel": ` + wantShape},
		{"too few fields", "arn:aws:kinesisvideo:us-west-2:123456789012", "",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012": ` + wantShape},
		{"wrong prefix", "urn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046", "",
			`channel ARN "urn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046": ` + wantShape},
		{"iso partition", "arn:aws-iso:kinesisvideo:us-iso-east-1:123456789012:channel/x/1700506395046", "partition",
			`channel ARN "arn:aws-iso:kinesisvideo:us-iso-east-1:123456789012:channel/x/1700506395046" has partition "aws-iso": want aws, aws-cn or aws-us-gov`},
		{"empty partition", "arn::kinesisvideo:us-west-2:123456789012:channel/x/1700506395046", "partition",
			`channel ARN "arn::kinesisvideo:us-west-2:123456789012:channel/x/1700506395046" has partition "": want aws, aws-cn or aws-us-gov`},
		{"other service", "arn:aws:kinesis:us-west-2:123456789012:channel/x/1700506395046", "service",
			`channel ARN "arn:aws:kinesis:us-west-2:123456789012:channel/x/1700506395046" has service "kinesis": want kinesisvideo`},
		{"empty region", "arn:aws:kinesisvideo::123456789012:channel/x/1700506395046", "region",
			`channel ARN "arn:aws:kinesisvideo::123456789012:channel/x/1700506395046" has region "": ` + wantRegion},
		{"upper-case region", "arn:aws:kinesisvideo:US-WEST-2:123456789012:channel/x/1700506395046", "region",
			`channel ARN "arn:aws:kinesisvideo:US-WEST-2:123456789012:channel/x/1700506395046" has region "US-WEST-2": ` + wantRegion},
		{"short account", "arn:aws:kinesisvideo:us-west-2:1234:channel/x/1700506395046", "account",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:1234:channel/x/1700506395046" has account "1234": want 12 digits`},
		{"letters in account", "arn:aws:kinesisvideo:us-west-2:12345678901a:channel/x/1700506395046", "account",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:12345678901a:channel/x/1700506395046" has account "12345678901a": want 12 digits`},
		{"stream ARN", "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1700506395046", "resource type",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1700506395046" has resource type "stream": want channel: this is a stream ARN, which names a video stream, not a signaling channel`},
		{"other resource type", "arn:aws:kinesisvideo:us-west-2:123456789012:table/x/1700506395046", "resource type",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:table/x/1700506395046" has resource type "table": want channel`},
		{"no slash", "arn:aws:kinesisvideo:us-west-2:123456789012:channel", "resource",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel" has resource "channel": ` + wantResource},
		{"no creation time", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x", "resource",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x" has resource "channel/x": ` + wantResource},
		{"empty name", "arn:aws:kinesisvideo:us-west-2:123456789012:channel//1700506395046", "name",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel//1700506395046" has name "": ` + wantName},
		{"slash in name", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a/b/1700506395046", "name",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a/b/1700506395046" has name "a/b": ` + wantName},
		{"colon in name", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a:b/1700506395046", "name",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a:b/1700506395046" has name "a:b": ` + wantName},
		{"name too long", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/" + strings.Repeat("n", 257) + "/1700506395046", "name", ""},
		{"seconds not millis", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395", "creation time",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395" has creation time "1700506395": ` + wantCreation},
		{"14 digits", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/17005063950461", "creation time",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/17005063950461" has creation time "17005063950461": ` + wantCreation},
		{"trailing slash", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046/", "creation time",
			`channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046/" has creation time "": ` + wantCreation},
		{"china region in aws partition", "arn:aws:kinesisvideo:cn-north-1:123456789012:channel/x/1700506395046", "partition",
			`channel ARN "arn:aws:kinesisvideo:cn-north-1:123456789012:channel/x/1700506395046" has partition "aws": region cn-north-1 is in partition aws-cn: use arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/x/1700506395046`},
		{"govcloud region in aws partition", "arn:aws:kinesisvideo:us-gov-west-1:123456789012:channel/x/1700506395046", "partition",
			`channel ARN "arn:aws:kinesisvideo:us-gov-west-1:123456789012:channel/x/1700506395046" has partition "aws": region us-gov-west-1 is in partition aws-us-gov: use arn:aws-us-gov:kinesisvideo:us-gov-west-1:123456789012:channel/x/1700506395046`},
		{"commercial region in china partition", "arn:aws-cn:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046", "partition",
			`channel ARN "arn:aws-cn:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046" has partition "aws-cn": region us-west-2 is in partition aws: use arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1700506395046`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseARN(tt.in)
			if err == nil {
				t.Fatalf("ParseARN(%q) succeeded, want an error", tt.in)
			}
			if !errors.Is(err, ErrInvalidARN) {
				t.Errorf("error %v does not match ErrInvalidARN", err)
			}
			var ae *ARNError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *ARNError", err)
			}
			if ae.Field != tt.field {
				t.Errorf("Field = %q, want %q", ae.Field, tt.field)
			}
			if ae.ARN != tt.in {
				t.Errorf("ARN = %q, want the input", ae.ARN)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := ARN{"aws", "us-west-2", "123456789012", "demo", 1700506395046}
	tests := []struct {
		name  string
		edit  func(*ARN)
		field string // "" when valid
		msg   string
	}{
		{"valid", func(*ARN) {}, "", ""},
		{"zero value", func(a *ARN) { *a = ARN{} }, "partition", ""},
		{"bad partition", func(a *ARN) { a.Partition = "aws-iso-b" }, "partition", ""},
		{"bad region", func(a *ARN) { a.Region = "us_west_2" }, "region", ""},
		{"bad account", func(a *ARN) { a.Account = "12345678901" }, "account", ""},
		{"bad name", func(a *ARN) { a.Name = "my channel" }, "name", ""},
		{"negative time", func(a *ARN) { a.CreationMillis = -1 }, "creation time", ""},
		{"time past 13 digits", func(a *ARN) { a.CreationMillis = 10_000_000_000_000 }, "creation time", ""},
		{"china region under aws", func(a *ARN) { a.Region = "cn-north-1" }, "partition",
			`channel ARN "arn:aws:kinesisvideo:cn-north-1:123456789012:channel/demo/1700506395046" has partition "aws": region cn-north-1 is in partition aws-cn: use arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/demo/1700506395046`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good
			tt.edit(&a)
			err := a.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ae *ARNError
			if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidARN) {
				t.Fatalf("Validate = %v, want an *ARNError", err)
			}
			if ae.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", ae.Field, tt.field, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestCreationTime(t *testing.T) {
	a, err := ParseARN(goodARN)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2023, 11, 20, 18, 53, 15, 46e6, time.UTC) // 10:53:15.046-08:00
	if got := a.CreationTime(); !got.Equal(want) {
		t.Errorf("CreationTime = %v, want %v", got, want)
	}
}

func TestQuoteCutsLongInput(t *testing.T) {
	_, err := ParseARN(strings.Repeat("é", 5000))
	if err == nil {
		t.Fatal("want an error")
	}
	if n := len(err.Error()); n > 2*maxQuoted+200 {
		t.Errorf("error is %d bytes long; want it cut short", n)
	}
	if !strings.Contains(err.Error(), "(10000 bytes)") {
		t.Errorf("error %q does not give the input's length", err)
	}
}
