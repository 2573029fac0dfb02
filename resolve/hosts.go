package resolve

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
)

// ControlPlaneURL is the kinesisvideo control-plane URL for region as the
// SDK's own endpoint rules build it (kinesisvideo.NewDefaultEndpointResolverV2),
// e.g. https://kinesisvideo.cn-north-1.amazonaws.com.cn, with the FIPS and
// dual-stack variants when asked. It makes no call.
func ControlPlaneURL(region string, fips, dualStack bool) (string, error) {
	if region == "" {
		return "", fmt.Errorf("resolve control-plane URL: %w", ErrNoRegion)
	}
	ep, err := kinesisvideo.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), kinesisvideo.EndpointParameters{
		Region:       aws.String(region),
		UseFIPS:      aws.Bool(fips),
		UseDualStack: aws.Bool(dualStack),
	})
	if err != nil {
		return "", fmt.Errorf("resolve control-plane URL for region %s: %w", region, err)
	}
	return ep.URI.String(), nil
}

// STUNURL is the KVS STUN server of region (spec §3.3), built from the host
// [ControlPlaneURL] resolves, so the DNS suffix follows the SDK's partition
// data and switches: stun:stun.kinesisvideo.<region>.<dns suffix>:443, e.g.
// stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443. With fips the host is
// stun.kinesisvideo-fips.… and the scheme stuns (as the JS SDK's FipsUtils);
// with dualStack the suffix is the partition's dual-stack one (api.aws).
func STUNURL(region string, fips, dualStack bool) (string, error) {
	cp, err := ControlPlaneURL(region, fips, dualStack)
	if err != nil {
		return "", err
	}
	host := strings.TrimPrefix(cp, "https://")
	host, _, _ = strings.Cut(host, "/")
	scheme := "stun"
	if fips {
		scheme = "stuns"
	}
	return scheme + ":stun." + host + ":443", nil
}
