package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestGCFloor: the floor is raised for the client commands, moves the
// collector's heap goal past it, and is left out when GOGC or GOMEMLIMIT
// is set or for the emulator.
func TestGCFloor(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"viewer", nil, []string{"viewer", "--channel-name", "x"}, true},
		{"no args", nil, nil, true},
		{"GOGC", map[string]string{"GOGC": "200"}, []string{"viewer"}, false},
		{"GOMEMLIMIT", map[string]string{"GOMEMLIMIT": "1GiB"}, []string{"master"}, false},
		{"emulator", nil, []string{"emulator"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			gcFloor = nil
			defer func() { gcFloor = nil }()
			raiseGCFloor(tc.args)
			if got := gcFloor != nil; got != tc.want {
				t.Fatalf("floor raised %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			runtime.GC()
			s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
			metrics.Read(s)
			if goal := s[0].Value.Uint64(); goal < gcFloorBytes {
				t.Fatalf("heap goal %d bytes with the floor, want ≥ %d", goal, gcFloorBytes)
			}
			runtime.KeepAlive(gcFloor)
		})
	}
}
