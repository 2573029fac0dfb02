// Package emulatortest starts a KVS emulator for a test: on 127.0.0.1:0,
// stopped by t.Cleanup, with an aws.Config that reaches it.
package emulatortest
