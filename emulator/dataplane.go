package emulator

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
	"github.com/kvsrtc/kvsrtc/wire"
)

// dataOps are the data-plane operations (service kinesis-video-signaling,
// API 2019-12-04), served under an HTTPS resource endpoint /r-<id> (§3).
var dataOps = map[string]operation{
	"/v1/get-ice-server-config":      {"GetIceServerConfig", (*call).getIceServerConfig},
	"/v1/send-alexa-offer-to-master": {"SendAlexaOfferToMaster", (*call).sendAlexaOfferToMaster},
}

type iceServer struct {
	// Keys in the service's order (§13): Password, Ttl, Uris, Username.
	Password string   `json:"Password"`
	TTL      int      `json:"Ttl"`
	URIs     []string `json:"Uris"`
	Username string   `json:"Username"`
}

// iceServersPerResponse is how many servers GetIceServerConfig returns:
// two distinct ones (turn.go), as the service (§13).
const iceServersPerResponse = 2

func (c *call) getIceServerConfig() (any, *apiError) {
	var in struct {
		ChannelARN *string `json:"ChannelARN"`
		ClientID   *string `json:"ClientId"`
		Service    *string `json:"Service"`
		Username   *string `json:"Username"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	// §3.1: the JS examples send only ChannelARN; ClientId and Service are
	// optional.
	v.str("clientId", in.ClientID, 1, 256, reClientID, patClientID)
	v.enum("service", in.Service, "TURN")
	v.str("username", in.Username, 1, 256, nil, "")
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:GetIceServerConfig", *in.ChannelARN, true); err != nil {
		return nil, err
	}
	if _, err := c.lookup(*in.ChannelARN); err != nil {
		return nil, err
	}
	ttl := c.e.opts.IceTTL
	servers := make([]iceServer, 0, iceServersPerResponse)
	for _, srv := range []*turnserver.Server{c.e.turn, c.e.turn2} {
		user, pass, _ := srv.Credentials(ttl, "v1:"+*in.ChannelARN)
		servers = append(servers, iceServer{Password: pass, TTL: int(ttl / time.Second), URIs: turnURIs(srv), Username: user})
	}
	// §3.1: IceServerList must be the first (and only) top-level key.
	return struct {
		IceServerList []iceServer `json:"IceServerList"`
	}{servers}, nil
}

func (c *call) sendAlexaOfferToMaster() (any, *apiError) {
	var in struct {
		ChannelARN     *string `json:"ChannelARN"`
		SenderClientID *string `json:"SenderClientId"`
		MessagePayload *string `json:"MessagePayload"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.required("senderClientId", in.SenderClientID != nil)
	v.required("messagePayload", in.MessagePayload != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	v.str("senderClientId", in.SenderClientID, 1, 256, reClientID, patClientID)
	v.str("messagePayload", in.MessagePayload, 1, 10000, reBase64, patBase64)
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := base64.StdEncoding.DecodeString(*in.MessagePayload); err != nil {
		return nil, errInvalidArgument("MessagePayload is not valid base64")
	}
	if err := c.authorize("kinesisvideo:SendAlexaOfferToMaster", *in.ChannelARN, true); err != nil {
		return nil, err
	}
	if _, err := c.lookup(*in.ChannelARN); err != nil {
		return nil, err
	}
	return c.e.relay.alexaOffer(c.r.Context(), *in.ChannelARN, *in.SenderClientID, *in.MessagePayload)
}

// alexaOffer delivers an SDP_OFFER from sender to the channel's master and
// waits for the master's SDP_ANSWER to sender (§3.2). With no answer in
// time it returns 200 with no Answer, as the service was seen doing (§13).
func (r *relay) alexaOffer(ctx context.Context, arn, sender, payload string) (any, *apiError) {
	type answer struct {
		Answer string `json:"Answer,omitempty"`
	}
	frame, err := wire.EncodeServerMessage(wire.ServerMessage{SenderClientID: sender, MessageType: wire.MessageTypeSDPOffer, MessagePayload: payload})
	if err != nil {
		return nil, errInvalidArgument("MessagePayload: %v", err)
	}
	wait := make(chan string, 1)
	r.mu.Lock()
	cs := r.state(arn)
	cs.alexa[sender] = wait
	master := cs.master
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if cs.alexa[sender] == wait {
			delete(cs.alexa, sender)
		}
		r.mu.Unlock()
	}()
	if master == nil {
		return answer{}, nil
	}
	master.send(frame)
	timer := time.NewTimer(r.e.opts.Limits.AlexaAnswerTimeout)
	defer timer.Stop()
	select {
	case a := <-wait:
		return answer{Answer: a}, nil
	case <-timer.C:
		return answer{}, nil
	case <-ctx.Done():
		return answer{}, nil
	}
}
