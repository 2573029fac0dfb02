package media

import (
	"testing"
)

func TestProfileLevelID(t *testing.T) {
	tests := []struct {
		name string
		sps  []byte
		want string
	}{
		{"x264 constrained baseline 3.1", []byte{0x67, 66, 0xc0, 0x1f}, "42e01f"},
		{"constrained baseline, set1 only", []byte{0x67, 66, 0x40, 0x1e}, "42e01e"},
		{"baseline", []byte{0x67, 66, 0x80, 0x0d}, "42000d"},
		{"main 4.0", []byte{0x67, 77, 0x40, 0x28}, "4d0028"},
		{"high 5.0", []byte{0x67, 100, 0x00, 0x32}, "640032"},
		{"high 10 keeps its flags", []byte{0x67, 110, 0x10, 0x1f}, "6e101f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProfileLevelID(tt.sps)
			if err != nil || got != tt.want {
				t.Errorf("ProfileLevelID(% x) = %q, %v; want %q", tt.sps, got, err, tt.want)
			}
		})
	}
	if _, err := ProfileLevelID([]byte{0x68, 66, 0, 0x1f}); err == nil {
		t.Error("a PPS gave a profile-level-id")
	}
}

// TestDemoClipProfile pins the demo clip's profile: constrained baseline,
// level 3.0 or 3.1 (what clips/gen.sh asks x264 for).
func TestDemoClipProfile(t *testing.T) {
	r, err := NewAnnexBReader(DemoH264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sps, _ := ParameterSets(f.Data)
	got, err := ProfileLevelID(sps)
	if err != nil {
		t.Fatal(err)
	}
	if got[:4] != "42e0" {
		t.Errorf("demo clip profile-level-id %s, want constrained baseline 42e0xx", got)
	}
	t.Logf("demo clip: profile-level-id=%s", got)
}

func TestBroadcasterKeyframe(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{})
	if _, ok := b.Keyframe(); ok {
		t.Fatal("keyframe before any frame")
	}
	b.Publish(Frame{Seq: 0})
	if _, ok := b.Keyframe(); ok {
		t.Fatal("keyframe from a delta frame")
	}
	b.Publish(Frame{Seq: 1, Keyframe: true})
	b.Publish(Frame{Seq: 2})
	if f, ok := b.Keyframe(); !ok || f.Seq != 1 {
		t.Fatalf("keyframe %+v %v, want seq 1", f, ok)
	}
}
