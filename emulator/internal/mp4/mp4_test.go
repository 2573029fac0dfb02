package mp4

import "testing"

// Opus packet durations from the TOC byte (RFC 6716 3.1).
func TestOpusSamples(t *testing.T) {
	cases := []struct {
		name string
		pkt  []byte
		want int
	}{
		{"empty", nil, 960},
		{"CELT 20 ms, one frame", []byte{31 << 3}, 960},
		{"CELT 10 ms, two frames", []byte{30<<3 | 1}, 960},
		{"SILK 60 ms", []byte{3 << 3}, 2880},
		{"hybrid 10 ms", []byte{12 << 3}, 480},
		{"CELT 2.5 ms, code 3 with 4 frames", []byte{16<<3 | 3, 4}, 480},
	}
	for _, tc := range cases {
		if got := opusSamples(tc.pkt); got != tc.want {
			t.Errorf("%s: %d samples, want %d", tc.name, got, tc.want)
		}
	}
}
