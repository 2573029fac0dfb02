package mkv

// H.264 helpers: package media's (a leaf: it imports no package of ours,
// so the emulator may use it; internal/archtest).

import "github.com/kvsrtc/kvsrtc/media"

const nalIDR = 5

// isKeyframe reports whether an Annex-B access unit holds an IDR slice.
func isKeyframe(au []byte) bool {
	for _, n := range media.SplitAnnexB(au) {
		if n[0]&0x1f == nalIDR {
			return true
		}
	}
	return false
}
