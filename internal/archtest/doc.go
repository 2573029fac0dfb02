// Package archtest holds the test that keeps kvsrtc's import graph flowing
// one way: CLI → library packages → leaves, and the emulator apart from the
// client packages.
package archtest
