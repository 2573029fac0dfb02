package turnserver

import (
	"testing"
	"time"
)

// TestTrackerWaitBounded checks that wait gives up on a reader that never
// sees its terminal error, instead of hanging Close.
func TestTrackerWaitBounded(t *testing.T) {
	tr := newTracker()
	tr.addReader() // a loop reader that exited without a read error
	if err := tr.wait(10 * time.Millisecond); err == nil {
		t.Fatal("wait returned nil with a reader still counted")
	}
	tr.readerDone()
	if err := tr.wait(time.Minute); err != nil {
		t.Fatalf("wait with nothing running: %v", err)
	}
}
