package mkv

// H.264 helpers, the same as package media's (the emulator may not import
// client packages, internal/archtest).

import (
	"errors"
	"fmt"
)

const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
)

// isKeyframe reports whether an Annex-B access unit holds an IDR slice.
func isKeyframe(au []byte) bool {
	for _, n := range splitAnnexB(au) {
		if n[0]&0x1f == nalIDR {
			return true
		}
	}
	return false
}

// bitReader reads bits MSB first from an RBSP (emulation prevention bytes
// already removed).
type bitReader struct {
	b   []byte
	pos int // in bits
}

var errShortSPS = errors.New("sps too short")

func (r *bitReader) bit() (uint, error) {
	if r.pos >= len(r.b)*8 {
		return 0, errShortSPS
	}
	v := uint(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v, nil
}

func (r *bitReader) bits(n int) (uint, error) {
	var v uint
	for range n {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() (uint, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, errors.New("exp-golomb code too long")
		}
	}
	v, err := r.bits(zeros)
	return (1<<zeros - 1) + v, err
}

func (r *bitReader) se() (int, error) {
	v, err := r.ue()
	if v%2 == 1 {
		return int(v/2) + 1, err
	}
	return -int(v / 2), err
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

func spsDimensions(sps []byte) (int, int, error) {
	if len(sps) < 4 || sps[0]&0x1f != nalSPS {
		return 0, 0, errors.New("not an sps")
	}
	r := &bitReader{b: unescapeRBSP(sps[4:])} // after header, profile, flags, level
	profile := sps[1]
	if _, err := r.ue(); err != nil { // seq_parameter_set_id
		return 0, 0, err
	}
	chroma := uint(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		var err error
		if chroma, err = r.ue(); err != nil {
			return 0, 0, err
		}
		if chroma == 3 {
			if _, err := r.bit(); err != nil { // separate_colour_plane_flag
				return 0, 0, err
			}
		}
		if _, err := r.ue(); err != nil { // bit_depth_luma_minus8
			return 0, 0, err
		}
		if _, err := r.ue(); err != nil { // bit_depth_chroma_minus8
			return 0, 0, err
		}
		if _, err := r.bit(); err != nil { // qpprime_y_zero_transform_bypass_flag
			return 0, 0, err
		}
		present, err := r.bit() // seq_scaling_matrix_present_flag
		if err != nil {
			return 0, 0, err
		}
		if present == 1 {
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				f, err := r.bit()
				if err != nil {
					return 0, 0, err
				}
				if f == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					if err := skipScalingList(r, size); err != nil {
						return 0, 0, err
					}
				}
			}
		}
	}
	if _, err := r.ue(); err != nil { // log2_max_frame_num_minus4
		return 0, 0, err
	}
	pocType, err := r.ue()
	if err != nil {
		return 0, 0, err
	}
	switch pocType {
	case 0:
		if _, err := r.ue(); err != nil {
			return 0, 0, err
		}
	case 1:
		if _, err := r.bit(); err != nil {
			return 0, 0, err
		}
		if _, err := r.se(); err != nil {
			return 0, 0, err
		}
		if _, err := r.se(); err != nil {
			return 0, 0, err
		}
		n, err := r.ue()
		if err != nil {
			return 0, 0, err
		}
		if n > 255 {
			return 0, 0, errors.New("too many ref frames in poc cycle")
		}
		for range n {
			if _, err := r.se(); err != nil {
				return 0, 0, err
			}
		}
	}
	if _, err := r.ue(); err != nil { // max_num_ref_frames
		return 0, 0, err
	}
	if _, err := r.bit(); err != nil { // gaps_in_frame_num_value_allowed_flag
		return 0, 0, err
	}
	wmbs, err := r.ue()
	if err != nil {
		return 0, 0, err
	}
	hmaps, err := r.ue()
	if err != nil {
		return 0, 0, err
	}
	frameMbsOnly, err := r.bit()
	if err != nil {
		return 0, 0, err
	}
	if frameMbsOnly == 0 {
		if _, err := r.bit(); err != nil { // mb_adaptive_frame_field_flag
			return 0, 0, err
		}
	}
	if _, err := r.bit(); err != nil { // direct_8x8_inference_flag
		return 0, 0, err
	}
	width := int(wmbs+1) * 16
	height := int(2-frameMbsOnly) * int(hmaps+1) * 16
	crop, err := r.bit()
	if err != nil {
		return 0, 0, err
	}
	if crop == 1 {
		var c [4]uint
		for i := range c {
			if c[i], err = r.ue(); err != nil {
				return 0, 0, err
			}
		}
		cropX, cropY := 1, 2-int(frameMbsOnly)
		switch chroma {
		case 1:
			cropX, cropY = 2, 2*(2-int(frameMbsOnly))
		case 2:
			cropX = 2
		}
		width -= cropX * int(c[0]+c[1])
		height -= cropY * int(c[2]+c[3])
	}
	if width <= 0 || height <= 0 || width > 1<<16 || height > 1<<16 {
		return 0, 0, fmt.Errorf("bad picture size %dx%d", width, height)
	}
	return width, height, nil
}

func skipScalingList(r *bitReader, size int) error {
	last, next := 8, 8
	for range size {
		if next != 0 {
			delta, err := r.se()
			if err != nil {
				return err
			}
			next = (last + delta + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return nil
}

// splitAnnexB returns the NAL units of an Annex-B buffer, without start
// codes. Bytes before the first start code are ignored; trailing zero bytes
// of a NAL unit are trimmed. The returned slices alias b.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	i := 0
	for i+2 < len(b) {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nals = appendNAL(nals, b[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		nals = appendNAL(nals, b[start:])
	}
	return nals
}

func appendNAL(nals [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return nals
	}
	return append(nals, n)
}

// annexBToAVC converts an Annex-B access unit to the length-prefixed form
// (4-byte big-endian lengths) that MP4 and Matroska store.
func annexBToAVC(b []byte) []byte {
	nals := splitAnnexB(b)
	n := 0
	for _, nal := range nals {
		n += 4 + len(nal)
	}
	out := make([]byte, 0, n)
	for _, nal := range nals {
		l := len(nal)
		out = append(out, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		out = append(out, nal...)
	}
	return out
}

// parameterSets returns the first SPS and PPS NAL units in an Annex-B access
// unit, or nil for each that is missing.
func parameterSets(b []byte) (sps, pps []byte) {
	for _, n := range splitAnnexB(b) {
		switch n[0] & 0x1f {
		case nalSPS:
			if sps == nil {
				sps = n
			}
		case nalPPS:
			if pps == nil {
				pps = n
			}
		}
	}
	return sps, pps
}

// avcDecoderConfig builds an avcDecoderConfigurationRecord ("avcC", ISO/IEC
// 14496-15 5.3.3.1) from one SPS and one PPS, with 4-byte NAL lengths. It is
// the CodecPrivate of a Matroska V_MPEG4/ISO/AVC track.
func avcDecoderConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || sps[0]&0x1f != nalSPS {
		return nil, errors.New("avcC: bad SPS")
	}
	if len(pps) < 1 || pps[0]&0x1f != nalPPS {
		return nil, errors.New("avcC: bad PPS")
	}
	if len(sps) > 0xffff || len(pps) > 0xffff {
		return nil, errors.New("avcC: parameter set too long")
	}
	b := []byte{
		1,                      // configurationVersion
		sps[1], sps[2], sps[3], // profile, compatibility, level
		0xfc | 3, // lengthSizeMinusOne = 3
		0xe0 | 1, // one SPS
		byte(len(sps) >> 8), byte(len(sps)),
	}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	b = append(b, pps...)
	return b, nil
}
