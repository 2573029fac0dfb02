package channel

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxARNLen is the longest ARN the API accepts (the ResourceARN shape).
const MaxARNLen = 1024

const (
	service      = "kinesisvideo"
	resourceType = "channel"
	accountLen   = 12
	creationLen  = 13
	maxCreation  = 9_999_999_999_999 // the largest 13-digit number
)

// Phrases for what each field wants.
const (
	wantShape     = "want arn:<partition>:kinesisvideo:<region>:<12-digit account>:channel/<name>/<13-digit creation time>"
	wantPartition = "want aws, aws-cn or aws-us-gov"
	wantService   = "want kinesisvideo"
	wantRegion    = "want a region such as us-west-2 (lowercase letters, digits and '-')"
	wantAccount   = "want 12 digits"
	wantResource  = "want channel/<name>/<13-digit creation time>"
	wantName      = "want 1 to 256 " + nameChars
	wantCreation  = "want 13 digits (the creation time in epoch milliseconds)"
)

// ARN is a signaling channel ARN:
//
//	arn:<partition>:kinesisvideo:<region>:<account>:channel/<name>/<creation ms>
//
// The zero value is not valid; get one from [ParseARN] or fill every field and
// call [ARN.Validate].
type ARN struct {
	// Partition is aws, aws-cn or aws-us-gov, and must be the region's partition.
	Partition string
	// Region is the channel's region, e.g. us-west-2.
	Region string
	// Account is the 12-digit AWS account ID that owns the channel.
	Account string
	// Name is the channel name (1 to 256 of [a-zA-Z0-9_.-]).
	Name string
	// CreationMillis is the channel's creation time in epoch milliseconds,
	// written as exactly 13 digits.
	CreationMillis int64
}

// ParseARN parses and validates a channel ARN. The error is an [*ARNError] that
// names the wrong field, the value found and what was wanted; it matches
// [ErrInvalidARN]. A stream ARN is refused, as is a region written under the
// wrong partition (the error gives the corrected ARN).
func ParseARN(s string) (ARN, error) {
	fail := func(field, value, want string) (ARN, error) {
		return ARN{}, &ARNError{ARN: s, Field: field, Value: value, Want: want}
	}
	if s == "" {
		return fail("", "", wantShape)
	}
	if len(s) > MaxARNLen {
		return fail("", "", fmt.Sprintf("want at most %d bytes, got %d", MaxARNLen, len(s)))
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return fail("", "", wantShape)
	}
	partition, svc, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	if !knownPartition(partition) {
		return fail("partition", partition, wantPartition)
	}
	if svc != service {
		return fail("service", svc, wantService)
	}
	if !validRegion(region) {
		return fail("region", region, wantRegion)
	}
	if len(account) != accountLen || !allDigits(account) {
		return fail("account", account, wantAccount)
	}
	typ, rest, ok := strings.Cut(resource, "/")
	if !ok {
		return fail("resource", resource, wantResource)
	}
	if typ != resourceType {
		if typ == "stream" {
			return fail("resource type", typ, "want channel: this is a stream ARN, which names a video stream, not a signaling channel")
		}
		return fail("resource type", typ, "want channel")
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return fail("resource", resource, wantResource)
	}
	name, created := rest[:i], rest[i+1:]
	if len(created) != creationLen || !allDigits(created) {
		return fail("creation time", created, wantCreation)
	}
	if nameProblem(name) != "" {
		return fail("name", name, wantName)
	}
	ms, err := strconv.ParseInt(created, 10, 64)
	if err != nil { // unreachable: 13 digits always fit
		return fail("creation time", created, wantCreation)
	}
	a := ARN{Partition: partition, Region: region, Account: account, Name: name, CreationMillis: ms}
	if err := a.checkPartition(s); err != nil {
		return ARN{}, err
	}
	return a, nil
}

// String gives the canonical ARN. For an ARN from [ParseARN] it is the input.
func (a ARN) String() string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s/%s/%013d",
		a.Partition, service, a.Region, a.Account, resourceType, a.Name, a.CreationMillis)
}

// CreationTime gives the channel's creation time from the ARN's last field.
func (a ARN) CreationTime() time.Time {
	return time.UnixMilli(a.CreationMillis).UTC()
}

// Validate checks every field as [ParseARN] does, including that Partition is
// the partition of Region (a China region under arn:aws: is refused with the
// corrected ARN in the message). The error is an [*ARNError].
func (a ARN) Validate() error {
	s := a.String()
	fail := func(field, value, want string) error {
		return &ARNError{ARN: s, Field: field, Value: value, Want: want}
	}
	switch {
	case !knownPartition(a.Partition):
		return fail("partition", a.Partition, wantPartition)
	case !validRegion(a.Region):
		return fail("region", a.Region, wantRegion)
	case len(a.Account) != accountLen || !allDigits(a.Account):
		return fail("account", a.Account, wantAccount)
	case nameProblem(a.Name) != "":
		return fail("name", a.Name, wantName)
	case a.CreationMillis < 0 || a.CreationMillis > maxCreation:
		return fail("creation time", strconv.FormatInt(a.CreationMillis, 10), wantCreation)
	}
	return a.checkPartition(s)
}

// checkPartition refuses an ARN whose partition is not its region's, giving the
// corrected ARN. input is what the user wrote.
func (a ARN) checkPartition(input string) error {
	want := PartitionForRegion(a.Region)
	if a.Partition == want {
		return nil
	}
	fixed := a
	fixed.Partition = want
	return &ARNError{
		ARN:   input,
		Field: "partition",
		Value: a.Partition,
		Want: fmt.Sprintf("region %s is in partition %s: use %s",
			a.Region, want, fixed.String()),
	}
}

// validRegion reports whether r matches the API's region pattern [a-z0-9-]+.
func validRegion(r string) bool {
	if r == "" {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
