package channel

import "strings"

// Partitions a channel ARN may name.
const (
	// PartitionAWS is the commercial partition (amazonaws.com).
	PartitionAWS = "aws"
	// PartitionChina is the China partition (amazonaws.com.cn): cn-north-1, cn-northwest-1.
	PartitionChina = "aws-cn"
	// PartitionGovCloud is the AWS GovCloud (US) partition.
	PartitionGovCloud = "aws-us-gov"
)

// PartitionForRegion gives the partition a region belongs to: aws-cn for cn-*,
// aws-us-gov for us-gov-*, and aws for everything else. It does not check that
// the region exists.
func PartitionForRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return PartitionChina
	case strings.HasPrefix(region, "us-gov-"):
		return PartitionGovCloud
	}
	return PartitionAWS
}

// knownPartition reports whether p is a partition this package accepts.
func knownPartition(p string) bool {
	return p == PartitionAWS || p == PartitionChina || p == PartitionGovCloud
}

// CheckRegion refuses a region override that disagrees with the channel's ARN:
// the channel exists only in arn.Region. An empty region means no override and
// is fine. The error names both regions and matches [ErrRegionMismatch].
func CheckRegion(arn ARN, region string) error {
	if region == "" || region == arn.Region {
		return nil
	}
	return newError(ErrRegionMismatch,
		"region %s does not match region %s of channel ARN %s: use %s or leave the region unset",
		quote(region), quote(arn.Region), quote(arn.String()), arn.Region)
}
