package channel

import "testing"

func TestPartitionForRegion(t *testing.T) {
	tests := []struct {
		name, region, want string
	}{
		{"commercial", "us-west-2", "aws"},
		{"europe", "eu-central-1", "aws"},
		{"beijing", "cn-north-1", "aws-cn"},
		{"ningxia", "cn-northwest-1", "aws-cn"},
		{"govcloud west", "us-gov-west-1", "aws-us-gov"},
		{"govcloud east", "us-gov-east-1", "aws-us-gov"},
		{"empty", "", "aws"},
		{"cn without dash", "cnx-1", "aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PartitionForRegion(tt.region); got != tt.want {
				t.Errorf("PartitionForRegion(%q) = %q, want %q", tt.region, got, tt.want)
			}
		})
	}
}

func TestCheckRegion(t *testing.T) {
	a, err := ParseARN(goodARN)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, region, msg string
	}{
		{"no override", "", ""},
		{"same region", "us-west-2", ""},
		{"other region", "eu-west-1",
			`region "eu-west-1" does not match region "us-west-2" of channel ARN "` + goodARN + `": use us-west-2 or leave the region unset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRegion(a, tt.region), ErrRegionMismatch, tt.msg)
		})
	}
}
