// Command kvsrtc gets from AWS credentials to a live Kinesis Video Streams
// WebRTC session, and runs a local emulator of the KVS signaling service.
package main

import (
	"os"

	"github.com/kvsrtc/kvsrtc/internal/cli"
)

func main() {
	raiseGCFloor(os.Args[1:])
	os.Exit(cli.Main(os.Args[1:]))
}
