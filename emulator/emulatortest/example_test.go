package emulatortest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// An emulator in a program (a test uses emulatortest.Start and
// emulatortest.Channel, which stop and fail through testing.TB): create a
// channel, wait for a master with the connection events.
func ExampleCreateChannel() {
	ctx := context.Background()
	e, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	arn, err := emulatortest.CreateChannel(ctx, e, "doorbell")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(arn.Name, arn.Region, arn.Account)

	// Nobody is connected yet: WaitConnected gives up with the context.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = e.WaitConnected(short, arn.String(), channel.RoleMaster, "")
	fmt.Println(err != nil)
	// Output:
	// doorbell us-west-2 123456789012
	// true
}
