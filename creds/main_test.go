package creds

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the credentials
// cache fetches on a goroutine, and HTTP clients keep connections alive.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
