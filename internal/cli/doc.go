// Package cli is the kvsrtc command tree: one file per command, each with an
// options struct and a run function, and the one exit-code table (exitcode.go).
package cli
