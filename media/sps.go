package media

import (
	"errors"
	"fmt"
)

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

// SPSDimensions returns the cropped picture size that an H.264 sequence
// parameter set NAL unit (header byte included) describes.
func SPSDimensions(sps []byte) (width, height int, err error) {
	w, h, err := spsDimensions(sps)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: h264 sps: %w", ErrInvalidStream, err)
	}
	return w, h, nil
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

// VP8Dimensions returns the picture size in a VP8 key frame's header.
func VP8Dimensions(frame []byte) (width, height int, err error) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, fmt.Errorf("%w: vp8: not a key frame", ErrInvalidStream)
	}
	width = int(frame[6]) | int(frame[7]&0x3f)<<8
	height = int(frame[8]) | int(frame[9]&0x3f)<<8
	return width, height, nil
}

// ProfileLevelID returns the RFC 6184 profile-level-id (six hex digits:
// profile_idc, constraint flags, level_idc) of an H.264 SPS NAL unit
// (header byte included), with the constraint byte normalised as libwebrtc
// classifies profiles (api/video_codecs/h264_profile_level_id.cc): a
// baseline SPS with constraint_set1 is constrained baseline, "42e0"; other
// baseline "4200"; main "4d00"; high "6400"; other profiles keep their byte.
// SDP answerers match the profile and constraint bytes exactly (pion
// internal/fmtp/h264.go), so an encoder's 42c0xx must be offered as 42e0xx.
func ProfileLevelID(sps []byte) (string, error) {
	if len(sps) < 4 || sps[0]&0x1f != nalSPS {
		return "", fmt.Errorf("%w: h264 sps: not an sps", ErrInvalidStream)
	}
	profile, flags, level := sps[1], sps[2], sps[3]
	switch profile {
	case 66:
		if flags&0x40 != 0 { // constraint_set1: also decodable as main
			flags = 0xe0
		} else {
			flags = 0
		}
	case 77, 100:
		flags = 0
	}
	return fmt.Sprintf("%02x%02x%02x", profile, flags, level), nil
}
