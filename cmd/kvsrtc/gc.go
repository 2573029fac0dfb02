package main

import "os"

// gcFloorBytes is heap the garbage collector counts as live but nothing
// ever touches: a []byte, so it is not scanned, and its pages, fresh from
// the OS, are never written, so they are not resident.
//
// kvsrtc's live heap is a few MB (a viewer: 2 MB), under which Go's
// collector starts a cycle every 2–4 MB allocated (its 4 MB minimum
// goal): three or four cycles, each with its stop-the-world pauses, inside
// the 20–30 ms from credentials to the first frame. Counting 32 MB more
// as live moves the goal to 2 × (live + 32 MB): a cycle every ~34 MB at
// small heaps, and GOGC's usual 2 × live once the live heap is large, so
// the floor costs at most 32 MB of uncollected garbage. Measured with
// `kvsrtc demo --bench 20` (README, Performance). GOGC or GOMEMLIMIT in
// the environment turns it off: the caller has tuned the collector. So
// does `kvsrtc emulator`: serving thousands of connections its heap is
// large, and the floor would only hold 32 MB more garbage.
const gcFloorBytes = 32 << 20

// gcFloor keeps the floor alive for the process's life.
var gcFloor []byte

// raiseGCFloor allocates the floor for command args unless the
// collector is tuned by the environment.
func raiseGCFloor(args []string) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || (len(args) > 0 && args[0] == "emulator") {
		return
	}
	gcFloor = make([]byte, gcFloorBytes)
}
