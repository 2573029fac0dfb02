package wire_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kvsrtc/kvsrtc/wire"
)

// The emulator relays a C SDK viewer's candidate to the master.
func ExampleDecodeClientMessage() {
	frame := []byte("{\n\t\"action\": \"ICE_CANDIDATE\",\n\t\"RecipientClientId\": \"\",\n\t\"MessagePayload\": \"YWJj\"\n}")
	m, err := wire.DecodeClientMessage(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := wire.EncodeServerMessage(wire.ServerMessage{
		MessageType:    m.Action.MessageType(),
		SenderClientID: "ConsumerViewer",
		MessagePayload: m.MessagePayload,
	})
	fmt.Println(string(out))
	// Output: {"messagePayload":"YWJj","messageType":"ICE_CANDIDATE","senderClientId":"ConsumerViewer"}
}

// A failed frame still yields its correlation id, for a STATUS_RESPONSE.
func ExampleDecodeClientMessage_error() {
	frame := []byte(`{"action":"SDP_OFFER","correlationId":"42"}`)
	m, err := wire.DecodeClientMessage(frame)
	fmt.Println(err)
	fmt.Println(m.CorrelationID)
	// Output:
	// decode client message: missing message payload
	// 42
}

func ExampleEncodeServerMessage() {
	goAway, _ := wire.EncodeServerMessage(wire.ServerMessage{MessageType: wire.MessageTypeGoAway})
	fmt.Println(string(goAway))
	// Output: {"messageType":"GO_AWAY"}
}

func ExampleDecodeRESTError() {
	h := http.Header{}
	h.Set("X-Amzn-ErrorType", "ResourceNotFoundException:https://kinesisvideo.amazonaws.com/doc/2017-09-30/")
	h.Set("X-Amzn-RequestId", "5b8b2f6e")
	err := fmt.Errorf("describe signaling channel demo: %w",
		wire.DecodeRESTError(404, h, []byte(`{"Message":"The requested channel is not found or not active."}`)))
	fmt.Println(err)
	fmt.Println(wire.ErrorCode(err))
	var apiErr *wire.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.StatusCode)
	// Output:
	// describe signaling channel demo: ResourceNotFoundException: The requested channel is not found or not active. (status 404, request id 5b8b2f6e)
	// ResourceNotFoundException
	// true 404
}

func ExampleRedactURL() {
	fmt.Println(wire.RedactURL("wss://v-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20230724%2Fus-west-2%2Fkinesisvideo%2Faws4_request" +
		"&X-Amz-Security-Token=AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT%2BFvwqnKwRcOIfrRh3c" +
		"&X-Amz-Signature=77ea5ff8ede2e22aa268a3a068f1ad3a5d92f0fa8a427579f9e6376e97139761"))
	// Output: wss://v-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20230724%2Fus-west-2%2Fkinesisvideo%2Faws4_request&X-Amz-Security-Token=****&X-Amz-Signature=****
}
