package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// apiError is an error answer in the service's shape (spec §1.4): status,
// X-Amzn-ErrorType "<Code>:<doc URL>", and a JSON body with the message.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Lower sends {"message":…} (SigV4 front end, lowercase-modeled
	// errors) instead of the modeled {"Message":…}.
	Lower bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

const (
	docControlPlane = "https://kinesisvideo.amazonaws.com/doc/2017-09-30/"
	docDataPlane    = "https://kinesisvideo.amazonaws.com/doc/2019-12-04/"
)

func errInvalidArgument(format string, args ...any) *apiError {
	return &apiError{Status: 400, Code: "InvalidArgumentException", Message: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *apiError {
	return &apiError{Status: 404, Code: "ResourceNotFoundException", Message: fmt.Sprintf(format, args...)}
}

func errInUse(format string, args ...any) *apiError {
	return &apiError{Status: 400, Code: "ResourceInUseException", Message: fmt.Sprintf(format, args...)}
}

func errChannelNotFound() *apiError {
	return errNotFound("The requested channel is not found or not active.")
}

func errUnknownOperation() *apiError {
	// §1.1: a data-plane operation on the control-plane host, or any
	// unknown path (boto/boto3 #2909).
	return &apiError{Status: 404, Code: "UnknownOperationException", Lower: true}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError, doc string) {
	w.Header().Set("X-Amzn-ErrorType", e.Code+":"+doc)
	var body []byte
	switch {
	case e.Message == "":
		body = []byte("{}")
	case e.Lower:
		body, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{e.Message})
	default:
		body, _ = json.Marshal(struct {
			Message string `json:"Message"`
		}{e.Message})
	}
	writeJSON(w, e.Status, body)
}

// validator collects model-constraint violations and reports them the way
// AWS's front end does: "1 validation error detected: Value 'x' at
// 'channelName' failed to satisfy constraint: Member must …".
type validator struct{ errs []string }

func (v *validator) add(field string, value any, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value '%v' at '%s' failed to satisfy constraint: Member must %s", value, field, constraint))
}

func (v *validator) required(field string, present bool) {
	if !present {
		v.errs = append(v.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", field))
	}
}

func (v *validator) str(field string, s *string, min, max int, re *regexp.Regexp, pattern string) {
	if s == nil {
		return
	}
	if n := len([]rune(*s)); n < min || n > max {
		v.add(field, clip(*s), fmt.Sprintf("have length between %d and %d", min, max))
		return
	}
	if re != nil && !re.MatchString(*s) {
		v.add(field, clip(*s), "satisfy regular expression pattern: "+pattern)
	}
}

func (v *validator) enum(field string, s *string, values ...string) {
	if s == nil {
		return
	}
	for _, x := range values {
		if *s == x {
			return
		}
	}
	v.add(field, clip(*s), "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func (v *validator) intRange(field string, n *int, min, max int) {
	if n != nil && (*n < min || *n > max) {
		v.add(field, *n, fmt.Sprintf("have value between %d and %d", min, max))
	}
}

func (v *validator) err() *apiError {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return errInvalidArgument("1 validation error detected: %s", v.errs[0])
	default:
		return errInvalidArgument("%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Model patterns (spec §1.2; BC-KV shapes). Anchored: the model's are
// whole-value patterns.
var (
	reChannelName = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	reARN         = regexp.MustCompile(`^arn:[a-z\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$`)
	reVersion     = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
	reNextToken   = regexp.MustCompile(`^[a-zA-Z0-9+/=]*$`)
	reTagKey      = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	reTagValue    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	reClientID    = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	reBase64      = regexp.MustCompile(`^[a-zA-Z0-9+/=]+$`)
)

const (
	patChannelName = "[a-zA-Z0-9_.-]+"
	patARN         = `arn:[a-z\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+`
	patVersion     = "[a-zA-Z0-9]+"
	patNextToken   = "[a-zA-Z0-9+/=]*"
	patTagKey      = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
	patTagValue    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	patClientID    = "[a-zA-Z0-9_.-]+"
	patBase64      = "[a-zA-Z0-9+/=]+"
)
