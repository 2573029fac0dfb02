// Package channel names Kinesis Video Streams signaling channels: their ARNs,
// names, partitions and the roles a client can take on them. It uses only the
// standard library, so any package in kvsrtc (and the emulator) may import it.
//
// Use [ParseARN] to turn a user's channel ARN into an [ARN] and get an error that
// says which field is wrong, what was expected and what was found. [ARN.String]
// gives the canonical form back; ParseARN(a.String()) round-trips. Use
// [ARN.Validate] on an ARN built by hand (the emulator does this when it mints
// ARNs).
//
// Use [PartitionForRegion] to learn which partition a region belongs to, and
// [CheckRegion] to refuse a region override that disagrees with the channel's ARN.
//
// [Role] is MASTER or VIEWER; [ParseRole] reads it from a flag. [ValidName] and
// [ValidClientID] check channel names and viewer client IDs before they go on
// the wire.
//
// # Caveats
//
// The partition rule is the minimal one the service needs (cn-* is aws-cn,
// us-gov-* is aws-us-gov, everything else is aws); ISO partitions are refused.
// Endpoint host names are not built here: they come from the AWS SDK's endpoint
// resolver or from a custom endpoint.
//
// All errors from this package match one of the sentinels with [errors.Is]:
// [ErrInvalidARN], [ErrInvalidName], [ErrInvalidClientID], [ErrInvalidRole] or
// [ErrRegionMismatch]. [ARN] errors are also an [*ARNError] that names the field.
package channel
