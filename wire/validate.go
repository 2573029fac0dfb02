package wire

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// checkPayload reports whether p is a non-empty messagePayload of at most
// MaxPayloadBytes characters of standard base64, padded or not (§4.6). Unlike
// encoding/base64 it refuses line breaks, which no client sends.
func checkPayload(p string) error {
	if p == "" {
		return ErrMissingPayload
	}
	if len(p) > MaxPayloadBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(p), MaxPayloadBytes)
	}
	return checkBase64(p)
}

// checkBase64 validates standard-alphabet base64 with or without padding. It does
// not allocate. Non-zero trailing bits are accepted, as browsers' atob does.
func checkBase64(p string) error {
	body := p
	pad := 0
	for pad < len(body) && body[len(body)-1-pad] == '=' {
		pad++
	}
	body = body[:len(body)-pad]
	for i := 0; i < len(body); i++ {
		if !isBase64Char(body[i]) {
			return fmt.Errorf("%w: not base64: byte %d is outside the standard alphabet", ErrInvalidPayload, i)
		}
	}
	switch {
	case pad > 2:
		return fmt.Errorf("%w: not base64: too much padding", ErrInvalidPayload)
	case pad > 0 && len(body)%4 != 4-pad:
		return fmt.Errorf("%w: not base64: wrong padding for its length", ErrInvalidPayload)
	case pad == 0 && len(body)%4 == 1:
		return fmt.Errorf("%w: not base64: truncated", ErrInvalidPayload)
	}
	return nil
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// decodeBase64 decodes a payload that checkBase64 accepts.
func decodeBase64(p string) ([]byte, error) {
	if err := checkBase64(p); err != nil {
		return nil, err
	}
	enc := base64.RawStdEncoding
	if len(p) > 0 && p[len(p)-1] == '=' {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(p)
	if err != nil {
		// Unreachable after checkBase64; keep the cause out of the message anyway.
		return nil, fmt.Errorf("%w: not base64", ErrInvalidPayload)
	}
	return b, nil
}

// checkID validates a client id or correlation id against [a-zA-Z0-9_.-]{1,256}
// (§4.4). The message names the member but never repeats its value.
func checkID(member, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidID, member)
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("%w: %s has %d characters, limit %d", ErrInvalidID, member, len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %s has a character outside [a-zA-Z0-9_.-] at offset %d", ErrInvalidID, member, i)
		}
	}
	return nil
}

// appendString appends s to dst as a JSON string. It escapes what encoding/json
// escapes except <, > and &, and replaces invalid UTF-8 with U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
