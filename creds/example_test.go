package creds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// A device that gets short-lived credentials, its region and its channel
// from its own backend (a credentials URL) instead of keeping keys: Load
// fetches once, so a broken URL fails here, and refreshes before expiry.
// The backend here is a local stand-in that hands out an emulator's
// credential.
func ExampleLoad_credentialsURL() {
	ctx := context.Background()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "porch")
	if err != nil {
		log.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := e.Credential()
		json.NewEncoder(w).Encode(map[string]string{"ak": c.AccessKeyID, "sk": c.SecretAccessKey, "region": e.Region(), "arn": arn.String()})
	}))
	defer backend.Close()

	res, err := creds.Load(ctx, creds.Options{CredentialsURL: backend.URL, CABundle: e.CABundlePath()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("region", res.Region, "channel given:", res.ChannelARN == arn.String())

	cfg := res.Config
	cfg.BaseEndpoint = aws.String(e.URL()) // AWS: leave unset
	out, err := kinesisvideo.NewFromConfig(cfg).DescribeSignalingChannel(ctx,
		&kinesisvideo.DescribeSignalingChannelInput{ChannelARN: aws.String(res.ChannelARN)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(out.ChannelInfo.ChannelName), out.ChannelInfo.ChannelStatus)
	// Output:
	// region us-west-2 channel given: true
	// porch ACTIVE
}
