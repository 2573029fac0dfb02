// Package browsertest is kvsrtc's browser test suite: unmodified AWS clients
// in a real Chromium against the emulator, kvsrtc master and viewer, and
// kvsrtc web. It has no API; run it with go test (./test.sh runs it).
//
// Everything runs in a network namespace with only loopback up: TestMain
// re-executes the test binary under `unshare --net` (root needed), so the
// emulator, the kvsrtc processes and Chromium share 127.0.0.1 and no packet
// leaves the machine. Chromium (Debian's, driven by playwright-core through
// jstest/browser-run.mjs) gets a new empty profile, flags for a closed
// network, and trusts the emulator's CA through an NSS database under its
// own $HOME (certutil from libnss3-tools); certificate checks stay on.
//
// Each run keeps screenshots, recordings and the time-to-first-frame
// summary under ./artifacts/<time> (or $KVSRTC_ARTIFACTS); the test log
// names the directory.
package browsertest
