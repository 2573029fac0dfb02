// Package soak is the soak and fault suite of kvsrtc: a master and ten
// viewers run through an emulator with compressed timers (a short WSS
// lifetime so GO_AWAY comes often, a short idle timeout, short TURN
// credentials) while faults are injected every few seconds and the
// emulator itself is stopped and started again on the same port and data
// directory. It checks that media never stops for longer than a bound,
// that every viewer comes back, and that goroutines, file descriptors and
// RSS are flat at the end.
//
// The package has no code of its own; its test is the suite. It runs in
// the normal test command with a short default (one round of every fault,
// about a minute); KVSRTC_SOAK=10m runs rounds for that long.
package soak
