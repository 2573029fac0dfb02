package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// APIError is an error response of a KVS REST API (restJson1, §1.4).
type APIError struct {
	// Code is the error code, such as "ResourceNotFoundException", or
	// "UnknownError" when the response names none (as aws-sdk-go-v2 does).
	Code string
	// Message is the service's message, with signatures and tokens masked. It
	// is empty when the service sent none.
	Message string
	// StatusCode is the HTTP status, such as 404.
	StatusCode int
	// RequestID is the x-amzn-RequestId header, when present.
	RequestID string
}

// Error returns "<Code>: <Message> (status <n>, request id <id>)", leaving out
// what is empty.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	b.WriteString(" (status ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteByte(')')
	return b.String()
}

// ErrorCode returns e.Code. With ErrorMessage it matches the method set
// aws-sdk-go-v2's smithy.APIError uses, so the same helpers serve both.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage returns e.Message.
func (e *APIError) ErrorMessage() string { return e.Message }

// HTTPStatusCode returns e.StatusCode, like aws-sdk-go-v2's ResponseError.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// ErrorCode returns the service error code found in err's chain, or "". It
// recognises *APIError and any error with an ErrorCode() string method, which
// includes every service error of aws-sdk-go-v2.
func ErrorCode(err error) string {
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}

// unknownErrorCode is aws-sdk-go-v2's code for a response that names none.
const unknownErrorCode = "UnknownError"

// DecodeRESTError reads an error response the way aws-sdk-go-v2 does (its
// generated restJson1 deserializers, e.g. service/kinesisvideo v1.34.0
// deserializers.go, and aws/protocol/restjson.GetErrorInfo):
//
//  1. The code is the X-Amzn-ErrorType header, sanitised.
//  2. Only when that header is absent does the body's code win: a member named
//     code (any case), else __type, sanitised twice as the SDK does.
//  3. Sanitising drops everything from the first ':' and then everything up to
//     the first '#': "ns#ResourceNotFoundException:https://..." becomes
//     "ResourceNotFoundException".
//  4. The message is the body member message, in any case ("message",
//     "Message").
//  5. With no code at all the code is "UnknownError".
//
// Note that §1.4 of the protocol notes says the body overrides the header; the
// SDK code does the opposite (so do the JavaScript SDK v3 and botocore), and
// this function follows the code. An empty body is fine. Where the SDK fails
// with a DeserializationError, because the body is not a JSON object (an HTML
// page from a proxy, plain text) or has members of the wrong type, this function
// keeps the header's code and uses a short excerpt of the body as the message:
// printable text only, tags dropped, at most 120 characters, secrets masked.
// Unlike the SDK it leaves Message empty, not "UnknownError", when there is none.
func DecodeRESTError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{Code: unknownErrorCode, StatusCode: status}
	headerCode := header.Get("X-Amzn-ErrorType")
	if headerCode != "" {
		e.Code = sanitizeErrorCode(headerCode)
	}
	for _, h := range []string{"X-Amzn-Requestid", "X-Amz-Request-Id"} {
		if v := header.Get(h); v != "" {
			e.RequestID = v
			break
		}
	}

	var info struct {
		Code    string
		Type    string `json:"__type"`
		Message string
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	switch err := dec.Decode(&info); {
	case err == nil:
	case errors.Is(err, io.EOF):
		return e // empty or blank body
	default:
		e.Message = excerpt(body)
		return e
	}
	jsonCode := info.Code
	if jsonCode == "" {
		jsonCode = info.Type
	}
	if jsonCode != "" && headerCode == "" {
		e.Code = sanitizeErrorCode(sanitizeErrorCode(jsonCode))
	}
	e.Message = redactText(info.Message)
	return e
}

// sanitizeErrorCode is restjson.SanitizeErrorCode of aws-sdk-go-v2.
func sanitizeErrorCode(code string) string {
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return code
}

// excerpt makes a short, printable, secret-free message out of a body that is
// not JSON.
func excerpt(body []byte) string {
	const (
		scanLimit = 4096 // bytes of body looked at
		runeLimit = 120  // runes kept
	)
	if len(body) > scanLimit {
		body = body[:scanLimit]
	}
	html := bytes.HasPrefix(bytes.TrimLeftFunc(body, unicode.IsSpace), []byte("<"))
	var b strings.Builder
	inTag, space := false, false
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		switch {
		case html && r == '<':
			inTag, space = true, true
			continue
		case html && inTag:
			if r == '>' {
				inTag = false
			}
			continue
		case r == utf8.RuneError && size == 1, unicode.IsSpace(r), !unicode.IsPrint(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	s := redactText(b.String())
	if utf8.RuneCountInString(s) > runeLimit {
		n := 0
		for i := range s {
			if n == runeLimit {
				s = s[:i] + "..."
				break
			}
			n++
		}
	}
	return s
}
