package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// A table of malformed requests: each gets a 4xx with the service's error
// type, and the emulator keeps serving valid requests after each.
func TestMalformedRequests(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	c := newClient(e, noRetry)
	arn := createChannel(t, c, "target")
	long := strings.Repeat("a", 257)
	const ia, nf = "InvalidArgumentException", "ResourceNotFoundException"
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
		inMsg  string
		mutate func(*http.Request)
	}{
		{"bad JSON", "/createSignalingChannel", `{"ChannelName":`, 400, ia, "parse", nil},
		{"JSON array", "/createSignalingChannel", `[]`, 400, ia, "", nil},
		{"trailing data", "/describeSignalingChannel", `{"ChannelName":"target"} {}`, 400, ia, "after the JSON", nil},
		{"unknown field", "/createSignalingChannel", `{"ChannelName":"x","Bogus":1}`, 400, ia, "Bogus", nil},
		{"missing name", "/createSignalingChannel", `{}`, 400, ia, "channelName", nil},
		{"empty name", "/createSignalingChannel", `{"ChannelName":""}`, 400, ia, "length", nil},
		{"name too long", "/createSignalingChannel", `{"ChannelName":"` + long + `"}`, 400, ia, "length between 1 and 256", nil},
		{"name bad chars", "/createSignalingChannel", `{"ChannelName":"a b"}`, 400, ia, "regular expression", nil},
		{"name wrong type", "/createSignalingChannel", `{"ChannelName":42}`, 400, ia, "wrong JSON type", nil},
		{"bad channel type", "/createSignalingChannel", `{"ChannelName":"x","ChannelType":"MESH"}`, 400, ia, "enum", nil},
		{"full mesh", "/createSignalingChannel", `{"ChannelName":"x","ChannelType":"FULL_MESH"}`, 400, ia, "FULL_MESH", nil},
		{"ttl too small", "/createSignalingChannel", `{"ChannelName":"x","SingleMasterConfiguration":{"MessageTtlSeconds":4}}`, 400, ia, "between 5 and 120", nil},
		{"ttl too large", "/createSignalingChannel", `{"ChannelName":"x","SingleMasterConfiguration":{"MessageTtlSeconds":121}}`, 400, ia, "between 5 and 120", nil},
		{"ttl not a number", "/createSignalingChannel", `{"ChannelName":"x","SingleMasterConfiguration":{"MessageTtlSeconds":"60"}}`, 400, ia, "", nil},
		{"tag without value", "/createSignalingChannel", `{"ChannelName":"x","Tags":[{"Key":"k"}]}`, 400, ia, "value", nil},
		{"tag key too long", "/createSignalingChannel", `{"ChannelName":"x","Tags":[{"Key":"` + strings.Repeat("k", 129) + `","Value":"v"}]}`, 400, ia, "128", nil},
		{"describe neither", "/describeSignalingChannel", `{}`, 400, ia, "Either", nil},
		{"describe both", "/describeSignalingChannel", `{"ChannelName":"target","ChannelARN":"` + arn + `"}`, 400, ia, "not both", nil},
		{"ARN pattern", "/describeSignalingChannel", `{"ChannelARN":"arn:aws:s3:::bucket"}`, 400, ia, "regular expression", nil},
		{"ARN too long", "/describeSignalingChannel", `{"ChannelARN":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/` + strings.Repeat("n", 1000) + `/1"}`, 400, ia, "length", nil},
		{"unknown ARN", "/describeSignalingChannel", `{"ChannelARN":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/nope/1700000000000"}`, 404, nf, "not found", nil},
		{"other account's ARN", "/describeSignalingChannel", `{"ChannelARN":"` + strings.Replace(arn, "123456789012", "999999999999", 1) + `"}`, 404, nf, "", nil},
		{"list max results 0", "/listSignalingChannels", `{"MaxResults":0}`, 400, ia, "between 1 and 10000", nil},
		{"list bad token", "/listSignalingChannels", `{"NextToken":"@@"}`, 400, ia, "regular expression", nil},
		{"list forged token", "/listSignalingChannels", `{"NextToken":"Zm9v"}`, 400, ia, "NextToken", nil},
		{"list bad operator", "/listSignalingChannels", `{"ChannelNameCondition":{"ComparisonOperator":"ENDS_WITH","ComparisonValue":"a"}}`, 400, ia, "enum", nil},
		{"update without version", "/updateSignalingChannel", `{"ChannelARN":"` + arn + `"}`, 400, ia, "currentVersion", nil},
		{"update bad version chars", "/updateSignalingChannel", `{"ChannelARN":"` + arn + `","CurrentVersion":"v-1"}`, 400, ia, "regular expression", nil},
		{"endpoint bad role", "/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Role":"OWNER"}}`, 400, ia, "enum", nil},
		{"endpoint no protocols", "/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Protocols":[]}}`, 400, ia, "between 1 and 5", nil},
		{"endpoint bad protocol", "/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Protocols":["UDP"]}}`, 400, ia, "enum", nil},
		{"endpoint missing ARN", "/getSignalingChannelEndpoint", `{}`, 400, ia, "channelARN", nil},
		{"untag empty list", "/UntagResource", `{"ResourceARN":"` + arn + `","TagKeyList":[]}`, 400, ia, "between 1 and 50", nil},
		{"tag missing tags", "/TagResource", `{"ResourceARN":"` + arn + `"}`, 400, ia, "tags", nil},
		{"oversize body", "/createSignalingChannel", `{"ChannelName":"` + strings.Repeat("x", 1<<20) + `"}`, 400, ia, "exceeds", nil},
		{"unknown operation", "/createStreamOfThings", `{}`, 404, "UnknownOperationException", "", nil},
		{"data plane on control host", "/v1/get-ice-server-config", `{"ChannelARN":"` + arn + `"}`, 404, "UnknownOperationException", "", nil},
		{"ICE bad client id", "/r-00000000/v1/get-ice-server-config", `{"ChannelARN":"` + arn + `","ClientId":"a b"}`, 400, ia, "regular expression", nil},
		{"ICE bad service", "/r-00000000/v1/get-ice-server-config", `{"ChannelARN":"` + arn + `","Service":"STUN"}`, 400, ia, "enum", nil},
		{"ICE unknown channel", "/r-00000000/v1/get-ice-server-config", `{"ChannelARN":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/nope/1700000000000"}`, 404, nf, "", nil},
		{"body changed after signing", "/describeSignalingChannel", `{"ChannelName":"target"}`, 403, "InvalidSignatureException", "does not match", func(r *http.Request) {
			r.Header.Set("Content-Type", "text/plain")
		}},
		{"truncated Authorization", "/describeSignalingChannel", `{"ChannelName":"target"}`, 403, "IncompleteSignatureException", "Signature", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}},
		{"wrong service scope", "/describeSignalingChannel", `{"ChannelName":"target"}`, 403, "InvalidSignatureException", "correct service", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/kinesisvideo/", "/s3/", 1))
		}},
		{"unsupported algorithm", "/describeSignalingChannel", `{"ChannelName":"target"}`, 403, "IncompleteSignatureException", "algorithm", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
		}},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := signedPost(t, e, tt.path, []byte(tt.body), tt.mutate)
			gotCode, _, _ := strings.Cut(h.Get("X-Amzn-Errortype"), ":")
			if status != tt.status || gotCode != tt.code {
				t.Fatalf("want %d %s, got %d %q: %s", tt.status, tt.code, status, h.Get("X-Amzn-Errortype"), body)
			}
			var m map[string]string
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("error body is not a JSON object: %s", body)
			}
			msg := m["Message"] + m["message"]
			if !strings.Contains(msg, tt.inMsg) {
				t.Fatalf("message %q does not mention %q", msg, tt.inMsg)
			}
			if _, err := c.DescribeSignalingChannel(context.Background(), &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("target")}); err != nil {
				t.Fatalf("next valid request: %v", err)
			}
		})
	}
}
