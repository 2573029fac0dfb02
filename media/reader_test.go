package media

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"testing"
	"time"
)

func nalTypes(f Frame) []int {
	var ts []int
	for _, n := range SplitAnnexB(f.Data) {
		ts = append(ts, int(n[0]&0x1f))
	}
	return ts
}

func TestDemoH264Frames(t *testing.T) {
	r, err := NewAnnexBReader(DemoH264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	fs := readAll(t, r)
	if len(fs) != 150 {
		t.Fatalf("got %d frames, want 150 (5 s at 30 fps)", len(fs))
	}
	for i, f := range fs {
		if f.Seq != i {
			t.Errorf("frame %d: seq %d", i, f.Seq)
		}
		want := time.Duration(float64(i) * float64(time.Second) / 30)
		if f.Timestamp != want || f.Duration != time.Second/30 {
			t.Errorf("frame %d: ts %v dur %v, want %v %v", i, f.Timestamp, f.Duration, want, time.Second/30)
		}
		if !bytes.HasPrefix(f.Data, startCode) {
			t.Errorf("frame %d does not start with a 4-byte start code", i)
		}
		types := nalTypes(f)
		if key := i%30 == 0; f.Keyframe != key {
			t.Errorf("frame %d: keyframe %v, want %v", i, f.Keyframe, key)
		}
		if f.Keyframe {
			// SPS and PPS come first with every IDR (repeat-headers).
			if len(types) < 3 || types[0] != nalSPS || types[1] != nalPPS || types[len(types)-1] != nalIDR {
				t.Errorf("keyframe %d: NAL types %v, want SPS, PPS, [SEI,] IDR", i, types)
			}
			w, h, err := SPSDimensions(SplitAnnexB(f.Data)[0])
			if err != nil || w != 640 || h != 480 {
				t.Errorf("keyframe %d: SPS size %dx%d, %v; want 640x480", i, w, h, err)
			}
		} else if !slices.Equal(types, []int{nalSlice}) {
			t.Errorf("frame %d: NAL types %v, want [1]", i, types)
		}
	}
}

// annexB joins NAL units with the given start codes (cycled).
func annexB(codes [][]byte, nals ...[]byte) []byte {
	var b []byte
	for i, n := range nals {
		b = append(b, codes[i%len(codes)]...)
		b = append(b, n...)
	}
	return b
}

func TestAnnexBGrouping(t *testing.T) {
	var (
		aud   = []byte{0x09, 0xf0}
		sps   = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda}
		pps   = []byte{0x68, 0xce, 0x3c, 0x80}
		sei   = []byte{0x06, 0x05, 0x01, 0xaa, 0x80}
		idr0  = []byte{0x65, 0x88, 0x84} // first_mb_in_slice = 0
		idr1  = []byte{0x65, 0x40, 0x84} // first_mb_in_slice != 0
		p0    = []byte{0x41, 0x9a, 0x02}
		p1    = []byte{0x41, 0x20, 0x02}
		four  = [][]byte{{0, 0, 0, 1}}
		three = [][]byte{{0, 0, 1}}
		mixed = [][]byte{{0, 0, 0, 1}, {0, 0, 1}}
	)
	tests := []struct {
		name  string
		in    []byte
		types [][]int
		keys  []bool
	}{
		{"sps pps idr then p", annexB(four, sps, pps, idr0, p0, p0),
			[][]int{{7, 8, 5}, {1}, {1}}, []bool{true, false, false}},
		{"3-byte start codes", annexB(three, sps, pps, idr0, p0),
			[][]int{{7, 8, 5}, {1}}, []bool{true, false}},
		{"mixed start codes", annexB(mixed, sps, pps, idr0, p0),
			[][]int{{7, 8, 5}, {1}}, []bool{true, false}},
		{"aud and sei travel with the next slice", annexB(four, aud, sps, pps, sei, idr0, aud, sei, p0, aud, p0),
			[][]int{{9, 7, 8, 6, 5}, {9, 6, 1}, {9, 1}}, []bool{true, false, false}},
		{"multi-slice pictures", annexB(four, sps, pps, idr0, idr1, idr1, p0, p1, p0),
			[][]int{{7, 8, 5, 5, 5}, {1, 1}, {1}}, []bool{true, false, false}},
		{"repeated parameter sets start a frame", annexB(four, sps, pps, idr0, p0, sps, pps, idr0),
			[][]int{{7, 8, 5}, {1}, {7, 8, 5}}, []bool{true, false, true}},
		{"trailing parameter sets dropped", annexB(four, idr0, sps, pps),
			[][]int{{5}}, []bool{true}},
		{"slices only", annexB(four, p0, p0),
			[][]int{{1}, {1}}, []bool{false, false}},
		{"empty", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewAnnexBReader(bytes.NewReader(tt.in), 25)
			if err != nil {
				t.Fatal(err)
			}
			var types [][]int
			var keys []bool
			for {
				f, err := r.ReadFrame()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.Duration != 40*time.Millisecond || f.Timestamp != time.Duration(len(types))*40*time.Millisecond {
					t.Errorf("frame %d: ts %v dur %v at 25 fps", len(types), f.Timestamp, f.Duration)
				}
				types = append(types, nalTypes(f))
				keys = append(keys, f.Keyframe)
			}
			if !slices.EqualFunc(types, tt.types, slices.Equal) || !slices.Equal(keys, tt.keys) {
				t.Errorf("got %v keys %v, want %v keys %v", types, keys, tt.types, tt.keys)
			}
		})
	}
}

func TestAnnexBNotH264(t *testing.T) {
	r, err := NewAnnexBReader(bytes.NewReader([]byte("hello, world")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadFrame(); !errors.Is(err, ErrInvalidStream) {
		t.Fatalf("got %v, want ErrInvalidStream", err)
	}
}

func TestDemoVP8Frames(t *testing.T) {
	r, err := NewIVFReader(DemoVP8())
	if err != nil {
		t.Fatal(err)
	}
	if w, h := r.Size(); w != 320 || h != 240 {
		t.Errorf("size %dx%d, want 320x240", w, h)
	}
	fs := readAll(t, r)
	if len(fs) != 150 {
		t.Fatalf("got %d frames, want 150", len(fs))
	}
	for i, f := range fs {
		want := time.Duration(i) * time.Second / 30
		if d := f.Timestamp - want; d < -time.Microsecond || d > time.Microsecond || f.Seq != i {
			t.Errorf("frame %d: ts %v seq %d, want %v", i, f.Timestamp, f.Seq, want)
		}
		if d := f.Duration - time.Second/30; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("frame %d: duration %v", i, f.Duration)
		}
		if key := i%30 == 0; f.Keyframe != key {
			t.Errorf("frame %d: keyframe %v, want %v", i, f.Keyframe, key)
		}
	}
	if w, h, err := VP8Dimensions(fs[0].Data); err != nil || w != 320 || h != 240 {
		t.Errorf("VP8Dimensions = %d, %d, %v", w, h, err)
	}
}

func TestIVFErrors(t *testing.T) {
	demo, _ := io.ReadAll(DemoVP8())
	huge := slices.Clone(demo[:32+12])
	huge[32], huge[33], huge[34], huge[35] = 0xff, 0xff, 0xff, 0xff
	vp9 := slices.Clone(demo)
	copy(vp9[8:12], "VP90")
	tests := []struct {
		name    string
		in      []byte
		open    error // from NewIVFReader
		readErr error // from the first failing ReadFrame
	}{
		{"empty", nil, ErrInvalidStream, nil},
		{"short header", demo[:20], ErrInvalidStream, nil},
		{"vp9", vp9, ErrUnsupported, nil},
		{"4 GiB frame", huge, nil, ErrInvalidStream},
		{"truncated frame", demo[:60], nil, ErrInvalidStream},
		{"header only", demo[:32], nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewIVFReader(bytes.NewReader(tt.in))
			if tt.open != nil {
				if !errors.Is(err, tt.open) {
					t.Fatalf("open: %v, want %v", err, tt.open)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				if _, err = r.ReadFrame(); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.readErr) {
				t.Fatalf("read: %v, want %v", err, tt.readErr)
			}
		})
	}
}

func TestDemoOpusFrames(t *testing.T) {
	r, err := NewOggReader(DemoOpus())
	if err != nil {
		t.Fatal(err)
	}
	if r.Channels() != 2 || r.PreSkip() != 312 {
		t.Errorf("channels %d preskip %d, want 2, 312", r.Channels(), r.PreSkip())
	}
	fs := readAll(t, r)
	if len(fs) != 251 {
		t.Fatalf("got %d packets, want 251", len(fs))
	}
	for i, f := range fs {
		if f.Duration != 20*time.Millisecond || f.Timestamp != time.Duration(i)*20*time.Millisecond || !f.Keyframe || f.Seq != i {
			t.Errorf("packet %d: %+v", i, f)
		}
	}
}

func TestOpusPacketSamples(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want int
	}{
		{"celt 20ms", []byte{0xfc}, 960},
		{"celt 2.5ms", []byte{0x80}, 120},
		{"silk 60ms", []byte{0x18}, 2880},
		{"hybrid 10ms x2", []byte{0x61}, 960},
		{"code 3, 3 frames of 20ms", []byte{0xfb, 0x03}, 2880},
		{"code 3 too long", []byte{0x1b, 0x03}, -1},
		{"code 3 no count", []byte{0xfb}, -1},
		{"empty", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpusPacketSamples(tt.p)
			if tt.want < 0 {
				if err == nil {
					t.Fatalf("got %d, want error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestAVCDecoderConfig(t *testing.T) {
	sps, pps := ParameterSets(demoH264[:4096])
	if sps == nil || pps == nil {
		t.Fatal("no parameter sets at the start of the demo clip")
	}
	c, err := AVCDecoderConfig(sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	if c[0] != 1 || c[1] != sps[1] || c[4] != 0xff || c[5] != 0xe1 || int(c[6])<<8|int(c[7]) != len(sps) {
		t.Errorf("bad avcC header % x", c[:8])
	}
	if want := 8 + len(sps) + 3 + len(pps); len(c) != want {
		t.Errorf("avcC length %d, want %d", len(c), want)
	}
	avc := AnnexBToAVC(annexB([][]byte{{0, 0, 1}}, sps, pps))
	if want := 8 + len(sps) + len(pps); len(avc) != want || int(avc[3]) != len(sps) {
		t.Errorf("AnnexBToAVC: % x", avc)
	}
	if _, err := AVCDecoderConfig(pps, sps); !errors.Is(err, ErrInvalidStream) {
		t.Errorf("swapped parameter sets: %v", err)
	}
}

func FuzzAnnexBReader(f *testing.F) {
	f.Add(demoH264[:3000])
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0, 0, 1, 0x65, 0x88})
	f.Add([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 1})
	f.Add([]byte{0, 0, 0, 1, 0x41, 0x00, 0, 0, 3, 0, 0, 1, 0x41, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewAnnexBReader(bytes.NewReader(in), 30)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i := 0; ; i++ {
			fr, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrInvalidStream) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if fr.Seq != i || len(fr.Data) == 0 || !bytes.HasPrefix(fr.Data, startCode) {
				t.Fatalf("frame %d: seq %d, %d bytes", i, fr.Seq, len(fr.Data))
			}
			total += len(fr.Data)
			if total > 8*len(in)+64 {
				t.Fatalf("frames hold %d bytes from %d bytes of input", total, len(in))
			}
			if sps, pps := ParameterSets(fr.Data); sps != nil {
				_, _, _ = SPSDimensions(sps)
				_, _ = AVCDecoderConfig(sps, pps)
			}
			_ = AnnexBToAVC(fr.Data)
			_ = FrameChecksum(CodecH264, fr.Data)
		}
	})
}

func FuzzIVFReader(f *testing.F) {
	f.Add(demoVP8[:4000])
	f.Add(demoVP8[:32])
	hdr := slices.Clone(demoVP8[:32])
	f.Add(append(hdr, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewIVFReader(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalidStream) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("open: unexpected error %v", err)
			}
			return
		}
		var last time.Duration
		for i := 0; ; i++ {
			fr, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrInvalidStream) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if fr.Seq != i || len(fr.Data) == 0 || fr.Timestamp < last || fr.Duration <= 0 || fr.Duration > math.MaxInt64/2 {
				t.Fatalf("frame %d: %+v", i, fr)
			}
			last = fr.Timestamp
			if fr.Keyframe {
				_, _, _ = VP8Dimensions(fr.Data)
			}
		}
	})
}

func FuzzOggReader(f *testing.F) {
	f.Add(demoOpus[:2000])
	f.Add(demoOpus[:100])
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewOggReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			fr, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrInvalidStream) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if fr.Duration <= 0 || fr.Duration > 120*time.Millisecond {
				t.Fatalf("packet %d: duration %v", i, fr.Duration)
			}
		}
	})
}

func BenchmarkAnnexBReader(b *testing.B) {
	b.SetBytes(int64(len(demoH264)))
	frames := 0
	for b.Loop() {
		r, err := NewAnnexBReader(bytes.NewReader(demoH264), 30)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.ReadFrame(); err != nil {
				break
			}
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
