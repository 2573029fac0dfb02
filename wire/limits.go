package wire

// Limits of the signaling protocol.
const (
	// MaxPayloadBytes is the largest messagePayload, counted in bytes of base64
	// text, that the service accepts from a client and relays (§4.4 "up to 10K",
	// §4.5, §7 DOC-LIM "payload 10K", §8 item 5).
	MaxPayloadBytes = 10000

	// MaxIDLength is the longest client id, recipientClientId, senderClientId or
	// correlationId (§4.1 "1–256 characters", §4.4, §4.5; the C SDK's
	// MAX_SIGNALING_CLIENT_ID_LEN).
	MaxIDLength = 256

	// MaxDescriptionLength is the longest statusResponse description this package
	// encodes. §4.5 says "up to 1K"; 1000 satisfies both readings of that.
	MaxDescriptionLength = 1000
)
