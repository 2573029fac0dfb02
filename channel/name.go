package channel

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest channel name and the longest client ID, in bytes.
const MaxNameLen = 256

// nameChars is what the ChannelName and ClientId patterns allow.
const nameChars = "letters, digits, '_', '.' or '-'"

// ValidName reports whether name follows the ChannelName rules: 1 to 256 of
// [a-zA-Z0-9_.-]. The error matches [ErrInvalidName].
func ValidName(name string) error {
	if p := nameProblem(name); p != "" {
		if name == "" {
			return newError(ErrInvalidName, "channel name %s", p)
		}
		return newError(ErrInvalidName, "channel name %s %s", quote(name), p)
	}
	return nil
}

// ValidClientID reports whether id may be used as a viewer's X-Amz-ClientId:
// 1 to 256 of [a-zA-Z0-9_.-], not starting with AWS_ in any case. The error
// matches [ErrInvalidClientID].
func ValidClientID(id string) error {
	if p := nameProblem(id); p != "" {
		if id == "" {
			return newError(ErrInvalidClientID, "client ID %s", p)
		}
		return newError(ErrInvalidClientID, "client ID %s %s", quote(id), p)
	}
	if len(id) >= 4 && strings.EqualFold(id[:4], "AWS_") {
		return newError(ErrInvalidClientID, "client ID %s starts with %q: the prefix AWS_ is reserved, in any case", quote(id), id[:4])
	}
	return nil
}

// nameProblem describes what breaks the [a-zA-Z0-9_.-]{1,256} rule, as a phrase
// to follow the quoted value, or "" when s is fine.
func nameProblem(s string) string {
	if s == "" {
		return "is empty: want 1 to 256 " + nameChars
	}
	if len(s) > MaxNameLen {
		return fmt.Sprintf("is %d bytes long: want at most %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Sprintf("has %q at byte %d: want only %s", r, i, nameChars)
		}
	}
	return ""
}

func isNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '_' || c == '.' || c == '-':
		return true
	}
	return false
}
