// Package sessiontest wires a session to an emulator in one call, for tests
// of code built on session: credentials, the CA-trusting HTTP client, the
// emulator's STUN server and a loopback SettingEngine.
//
//	e := emulatortest.Start(t, emulator.Options{})
//	arn := emulatortest.Channel(t, e, "demo")
//	m, err := session.NewMaster(session.MasterOptions{Options: sessiontest.Options(e, arn), Video: src})
//
// It lives apart from emulatortest because the emulator and its helpers may
// not import client packages (internal/archtest).
package sessiontest

import (
	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// Resolver returns a resolver for the emulator with a cold cache: its
// aws.Config, and the emulator's STUN server in the ICE list (without it
// the list would name the real AWS STUN host). optFns change its options.
func Resolver(e *emulator.Emulator, optFns ...func(*resolve.Options)) *resolve.Resolver {
	return resolve.New(emulatortest.Config(e), resolve.Options{STUNURL: e.STUNURL()}, optFns...)
}

// Options returns session options for channel arn on the emulator: a new
// Resolver, the emulator's credentials, an HTTP client that trusts its CA
// and ICE kept on loopback (emulatortest.Loopback). Each call has its own
// resolver, so a master and a viewer in one test do not share a cache.
func Options(e *emulator.Emulator, arn channel.ARN) session.Options {
	cfg := emulatortest.Config(e)
	return session.Options{
		ChannelARN:    arn,
		Resolver:      Resolver(e),
		Credentials:   cfg.Credentials,
		HTTPClient:    emulatortest.HTTPClient(e),
		SettingEngine: emulatortest.Loopback,
	}
}
