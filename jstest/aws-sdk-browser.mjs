// aws-sdk-browser.mjs is the entry of the browser bundle of the unmodified
// AWS JS SDK v3 clients that kvsrtc's browser tests load in Chromium. The Go
// package browsertest builds it at test time with the pinned esbuild:
//
//   esbuild aws-sdk-browser.mjs --bundle --format=iife --global-name=AWSKVS \
//     --platform=browser --outfile=<dir>/aws-sdk.js
//
// and the page uses window.AWSKVS.KinesisVideoClient and friends.

export {
  KinesisVideoClient,
  CreateSignalingChannelCommand,
  DescribeSignalingChannelCommand,
  ListSignalingChannelsCommand,
  GetSignalingChannelEndpointCommand,
  DeleteSignalingChannelCommand,
} from "@aws-sdk/client-kinesis-video";
export {
  KinesisVideoSignalingClient,
  GetIceServerConfigCommand,
} from "@aws-sdk/client-kinesis-video-signaling";
