package wire_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kvsrtc/kvsrtc/wire"
)

// Seed corpora also live in testdata/fuzz/<Name>/; the f.Add seeds below are the
// frames of the real clients and the service (§4.4, §4.5, §13, §1.4).

var validID = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,256}$`)

func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"action":"SDP_OFFER","messagePayload":"` + b64 + `","recipientClientId":"viewer-1","correlationId":"1697058567743"}`,
		`{"action":"ICE_CANDIDATE","RecipientClientId":"","MessagePayload":"YWJj","CorrelationId":"c"}`,
		"{\n\t\"action\": \"SDP_OFFER\",\n\t\"RecipientClientId\": \"ProducerMaster\",\n\t\"MessagePayload\": \"YQ==\",\n\t\"IceServerList\": [{\"Password\": \"p\", \"Ttl\": 300, \"Uris\": [\"turn:h\"], \"Username\": \"u\"}]\n}",
		`{"action":"GO_AWAY","messagePayload":"YQ"}`,
		`{"action":"SDP_OFFER","messagePayload":"a b","correlationId":"a/b"}`,
		`[]`, `null`, `{"action":1}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.DecodeClientMessage(data)
		if m.CorrelationID != "" && !validID.MatchString(m.CorrelationID) {
			t.Fatalf("returned an invalid CorrelationID %q (err %v)", m.CorrelationID, err)
		}
		if err != nil {
			if n := len(err.Error()); n > 250 {
				t.Fatalf("error text of %d bytes: %v", n, err)
			}
			return
		}
		enc, err := wire.EncodeClientMessage(m)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", m, err)
		}
		back, err := wire.DecodeClientMessage(enc)
		if err != nil || back != m {
			t.Fatalf("round trip of %s = %+v, %v; want %+v", enc, back, err, m)
		}
	})
}

func FuzzDecodeServerMessage(f *testing.F) {
	for _, s := range []string{
		`{"messageType":"GO_AWAY"}`,
		`{"messageType":"RECONNECT_ICE_SERVER"}`,
		`{"messagePayload":"` + b64 + `","messageType":"ICE_CANDIDATE","senderClientId":"ConsumerViewer"}`,
		`{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"1697058567743","errorType":"InvalidArgumentException","statusCode":"400","success":false}}`,
		`{"senderClientId":"v","messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c","statusCode":400,"description":"d\u2028\n"}}`,
		`{"messageType":"NEW"}`, `{"messageType":"SDP_OFFER","messagePayload":"%"}`, `{}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.DecodeServerMessage(data)
		if err != nil {
			if n := len(err.Error()); n > 250 {
				t.Fatalf("error text of %d bytes: %v", n, err)
			}
			return
		}
		if m.MessageType == wire.MessageTypeUnknown {
			t.Fatalf("no error but MessageTypeUnknown")
		}
		enc, err := wire.EncodeServerMessage(m)
		if err != nil {
			return // the decoder is more lenient than the encoder (ids, numeric codes)
		}
		back, err := wire.DecodeServerMessage(enc)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip of %s = %+v, %v; want %+v", enc, back, err, m)
		}
	})
}

func FuzzDecodeRESTError(f *testing.F) {
	const doc = ":https://kinesisvideo.amazonaws.com/doc/2017-09-30/"
	f.Add(404, "ResourceNotFoundException"+doc, []byte(`{"Message":"The requested channel is not found or not active."}`))
	f.Add(403, "", []byte(`{"message":"Signature expired: 20231107T044734Z is now earlier than 20231107T045305Z (20231107T045805Z - 5 min.)"}`))
	f.Add(403, "UnrecognizedClientException", []byte(`{ "message": "The security token included in the request is invalid." }`))
	f.Add(400, "", []byte(`{"__type":"com.amazonaws.kinesisvideo#ClientLimitExceededException","message":"m"}`))
	f.Add(400, "a:b#c", []byte(`{"code":"x#y#z:w"}`))
	f.Add(502, "", []byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
	f.Add(403, "", []byte("GET /?X-Amz-Signature=abc&X-Amz-Security-Token=tok"))
	f.Add(500, "", []byte{})
	f.Fuzz(func(t *testing.T, status int, code string, body []byte) {
		h := http.Header{}
		if code != "" {
			h.Set("X-Amzn-ErrorType", code)
		}
		e := wire.DecodeRESTError(status, h, body)
		if e == nil || e.StatusCode != status {
			t.Fatalf("DecodeRESTError = %#v", e)
		}
		if !utf8.ValidString(e.Message) {
			t.Fatalf("message is not UTF-8: %q", e.Message)
		}
		if !strings.HasPrefix(e.Error(), e.Code) {
			t.Fatalf("Error() = %q does not start with the code %q", e.Error(), e.Code)
		}
		// A presigned URL in the body never comes back with its token, whether
		// the body is text or a JSON message.
		const secret = "QUJDREVGR0hJSktMTU5PUA"
		for _, b := range [][]byte{
			append(append([]byte(nil), body...), "&X-Amz-Security-Token="+secret...),
			[]byte(`{"message":"` + strings.ReplaceAll(strings.ReplaceAll(string(body), `\`, ``), `"`, ``) + `&X-Amz-Security-Token=` + secret + `"}`),
		} {
			if e := wire.DecodeRESTError(status, h, b); strings.Contains(e.Message, "Token="+secret) {
				t.Fatalf("token leaked from %q: %q", b, e.Message)
			}
		}
	})
}

// FuzzRedactURL puts a known secret after each secret key in arbitrary text and
// checks that it never survives.
func FuzzRedactURL(f *testing.F) {
	f.Add("wss://h/?X-Amz-Algorithm=AWS4-HMAC-SHA256", "&X-Amz-Date=1", "FakeSessionToken")
	f.Add("x=1/", "", "abcdef")
	f.Add("http://u:p@ss@", "h/", "SECRETPW")
	f.Fuzz(func(t *testing.T, prefix, suffix, secret string) {
		if len(secret) < 4 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return
		}
		for _, key := range []string{"X-Amz-Signature", "X-Amz-Security-Token", "x-amz-security-token", "credential", "password", "ClientSecret"} {
			in := prefix + "&" + key + "=" + secret + "&" + suffix
			out := wire.RedactURL(in)
			if strings.Contains(out, key+"="+secret) {
				t.Fatalf("RedactURL(%q) = %q keeps the secret", in, out)
			}
		}
		in := "wss://user:" + secret + "@" + suffix
		if out := wire.RedactURL(in); strings.Contains(out, ":"+secret+"@") {
			t.Fatalf("RedactURL(%q) = %q keeps the password", in, out)
		}
	})
}
