package wire_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

func TestDecodeRESTError(t *testing.T) {
	const doc = ":https://kinesisvideo.amazonaws.com/doc/2017-09-30/"
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   wire.APIError
	}{
		{
			name:   "emulator form: header with url suffix, capitalised Message",
			status: 404,
			header: map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException" + doc, "X-Amzn-RequestId": "req-1"},
			body:   `{"Message":"The requested channel is not found or not active."}`,
			want:   wire.APIError{Code: "ResourceNotFoundException", Message: "The requested channel is not found or not active.", StatusCode: 404, RequestID: "req-1"},
		},
		{
			name:   "sigv4 front end: lowercase message, spaced body",
			status: 403,
			header: map[string]string{"x-amzn-errortype": "UnrecognizedClientException"},
			body:   `{ "message": "The security token included in the request is invalid." }`,
			want:   wire.APIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", StatusCode: 403},
		},
		{
			name:   "header wins over body code (aws-sdk-go-v2 deserializers)",
			status: 400,
			header: map[string]string{"X-Amzn-ErrorType": "ClientLimitExceededException" + doc},
			body:   `{"__type":"InvalidArgumentException","code":"ResourceInUseException","message":"m"}`,
			want:   wire.APIError{Code: "ClientLimitExceededException", Message: "m", StatusCode: 400},
		},
		{
			name:   "body code without header",
			status: 400,
			body:   `{"code":"ResourceInUseException","__type":"InvalidArgumentException","message":"in use"}`,
			want:   wire.APIError{Code: "ResourceInUseException", Message: "in use", StatusCode: 400},
		},
		{
			name:   "body Code in any case",
			status: 400,
			body:   `{"CODE":"VersionMismatchException"}`,
			want:   wire.APIError{Code: "VersionMismatchException", StatusCode: 400},
		},
		{
			name:   "__type with namespace and suffix",
			status: 400,
			body:   `{"__type":"com.amazonaws.kinesisvideo#InvalidArgumentException:http://internal.amazon.com/coral/","Message":"bad"}`,
			want:   wire.APIError{Code: "InvalidArgumentException", Message: "bad", StatusCode: 400},
		},
		{
			name:   "colon cut before hash",
			status: 400,
			header: map[string]string{"X-Amzn-ErrorType": "a:b#c"},
			want:   wire.APIError{Code: "a", StatusCode: 400},
		},
		{
			name:   "hash in header",
			status: 400,
			header: map[string]string{"X-Amzn-ErrorType": "aws.protocoltests#FooError"},
			body:   `{}`,
			want:   wire.APIError{Code: "FooError", StatusCode: 400},
		},
		{
			name:   "body code sanitised twice like the sdk",
			status: 400,
			body:   `{"code":"x#y#Z"}`,
			want:   wire.APIError{Code: "Z", StatusCode: 400},
		},
		{
			name:   "empty body, no header",
			status: 500,
			want:   wire.APIError{Code: "UnknownError", StatusCode: 500},
		},
		{
			name:   "blank body",
			status: 403,
			header: map[string]string{"X-Amzn-ErrorType": "AccessDeniedException"},
			body:   " \n",
			want:   wire.APIError{Code: "AccessDeniedException", StatusCode: 403},
		},
		{
			name:   "json null",
			status: 400,
			body:   `null`,
			want:   wire.APIError{Code: "UnknownError", StatusCode: 400},
		},
		{
			name:   "trailing data after the object is ignored like json.Decoder",
			status: 400,
			body:   `{"message":"first"} {"message":"second"}`,
			want:   wire.APIError{Code: "UnknownError", Message: "first", StatusCode: 400},
		},
		{
			name:   "both message casings, last wins",
			status: 400,
			body:   `{"message":"a","Message":"b"}`,
			want:   wire.APIError{Code: "UnknownError", Message: "b", StatusCode: 400},
		},
		{
			name:   "request id from x-amz-request-id",
			status: 400,
			header: map[string]string{"X-Amz-Request-Id": "r2"},
			want:   wire.APIError{Code: "UnknownError", StatusCode: 400, RequestID: "r2"},
		},
		{
			name:   "html from a proxy keeps the header code",
			status: 502,
			header: map[string]string{"X-Amzn-ErrorType": "InternalFailure"},
			body:   "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
			want:   wire.APIError{Code: "InternalFailure", Message: "502 Bad Gateway 502 Bad Gateway", StatusCode: 502},
		},
		{
			name:   "plain text",
			status: 503,
			body:   "Service Unavailable\x00\x1b[31m\xff",
			want:   wire.APIError{Code: "UnknownError", Message: "Service Unavailable [31m", StatusCode: 503},
		},
		{
			name:   "json of the wrong shape is an excerpt",
			status: 400,
			body:   `{"message":5}`,
			want:   wire.APIError{Code: "UnknownError", Message: `{"message":5}`, StatusCode: 400},
		},
		{
			name:   "json array is an excerpt",
			status: 400,
			body:   `["x"]`,
			want:   wire.APIError{Code: "UnknownError", Message: `["x"]`, StatusCode: 400},
		},
		{
			name:   "long text is cut",
			status: 500,
			body:   strings.Repeat("é", 500),
			want:   wire.APIError{Code: "UnknownError", Message: strings.Repeat("é", 120) + "...", StatusCode: 500},
		},
		{
			name:   "token in a canonical request is masked",
			status: 403,
			header: map[string]string{"X-Amzn-ErrorType": "InvalidSignatureException"},
			body:   `{"message":"The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/describeSignalingChannel\n\nhost:kinesisvideo.us-west-2.amazonaws.com\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n'"}`,
			want: wire.APIError{Code: "InvalidSignatureException", StatusCode: 403,
				Message: "The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/describeSignalingChannel\n\nhost:kinesisvideo.us-west-2.amazonaws.com\nx-amz-security-token:****\n'"},
		},
		{
			name:   "signature in plain text is masked",
			status: 403,
			body:   `denied: GET /?X-Amz-Signature=deadbeef&X-Amz-Security-Token=SECRETTOKEN`,
			want:   wire.APIError{Code: "UnknownError", Message: `denied: GET /?X-Amz-Signature=****&X-Amz-Security-Token=****`, StatusCode: 403},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got := wire.DecodeRESTError(tt.status, h, []byte(tt.body))
			if got == nil || *got != tt.want {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeRESTErrorNilHeader(t *testing.T) {
	got := wire.DecodeRESTError(400, nil, nil)
	if got.Code != "UnknownError" || got.StatusCode != 400 {
		t.Errorf("got %#v", got)
	}
}

func TestAPIErrorError(t *testing.T) {
	tests := []struct {
		e    wire.APIError
		want string
	}{
		{wire.APIError{Code: "ResourceNotFoundException", Message: "not found", StatusCode: 404, RequestID: "r1"}, "ResourceNotFoundException: not found (status 404, request id r1)"},
		{wire.APIError{Code: "AccessDeniedException", StatusCode: 403}, "AccessDeniedException (status 403)"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// sdkError has the method set of aws-sdk-go-v2's smithy.APIError.
type sdkError struct{}

func (sdkError) Error() string        { return "sdk" }
func (sdkError) ErrorCode() string    { return "ExpiredTokenException" }
func (sdkError) ErrorMessage() string { return "" }

func TestErrorCode(t *testing.T) {
	api := &wire.APIError{Code: "ClientLimitExceededException", StatusCode: 400}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), ""},
		{"api error", api, "ClientLimitExceededException"},
		{"wrapped", fmt.Errorf("get signaling channel endpoint: %w", api), "ClientLimitExceededException"},
		{"sdk error", fmt.Errorf("op: %w", sdkError{}), "ExpiredTokenException"},
	}
	for _, tt := range tests {
		if got := wire.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, got, tt.want)
		}
	}
	var target *wire.APIError
	if !errors.As(fmt.Errorf("w: %w", api), &target) || target.HTTPStatusCode() != 400 || target.ErrorMessage() != "" {
		t.Errorf("errors.As = %#v", target)
	}
}
