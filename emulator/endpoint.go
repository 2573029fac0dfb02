package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
)

type resourceEndpoint struct {
	Protocol         string `json:"Protocol"`
	ResourceEndpoint string `json:"ResourceEndpoint"`
}

// endpointID is the 8-hex id of a channel's resource endpoint of one kind:
// deterministic, so endpoints stay valid across restarts (§5.4), and
// independent between kinds as the service's are (§13).
func (e *Emulator) endpointID(ch channelRecord, kind string) string {
	sum := sha256.Sum256([]byte(ch.Account + "|" + e.opts.Region + "|" + ch.Name + "|" + kind))
	return hex.EncodeToString(sum[:4])
}

func (c *call) getSignalingChannelEndpoint() (any, *apiError) {
	var in struct {
		ChannelARN                               *string `json:"ChannelARN"`
		SingleMasterChannelEndpointConfiguration *struct {
			Protocols []string `json:"Protocols"`
			Role      *string  `json:"Role"`
		} `json:"SingleMasterChannelEndpointConfiguration"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	// UNCONFIRMED defaults (§1.3 item 6): MASTER and [WSS, HTTPS].
	role, protocols := "MASTER", []string{"WSS", "HTTPS"}
	if cfg := in.SingleMasterChannelEndpointConfiguration; cfg != nil {
		v.enum("singleMasterChannelEndpointConfiguration.role", cfg.Role, "MASTER", "VIEWER")
		if cfg.Role != nil {
			role = *cfg.Role
		}
		if cfg.Protocols != nil {
			if n := len(cfg.Protocols); n < 1 || n > 5 {
				v.add("singleMasterChannelEndpointConfiguration.protocols", n, "have length between 1 and 5")
			}
			for i := range cfg.Protocols {
				v.enum(fmt.Sprintf("singleMasterChannelEndpointConfiguration.protocols.%d.member", i+1), &cfg.Protocols[i], "WSS", "HTTPS", "WEBRTC")
			}
			protocols = cfg.Protocols
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:GetSignalingChannelEndpoint", *in.ChannelARN, false); err != nil {
		return nil, err
	}
	ch, aerr := c.lookup(*in.ChannelARN)
	if aerr != nil {
		return nil, aerr
	}
	e := c.e
	list := make([]resourceEndpoint, 0, len(protocols))
	wsScheme, httpScheme := "wss", "https"
	if e.opts.InsecureHTTP {
		wsScheme, httpScheme = "ws", "http"
	}
	for _, p := range protocols {
		var ep string
		switch p {
		case "HTTPS":
			ep = e.endpointURL(httpScheme, "r-"+e.endpointID(ch, "r"))
		case "WSS":
			kind := "m"
			if role == "VIEWER" {
				kind = "v"
			}
			ep = e.endpointURL(wsScheme, kind+"-"+e.endpointID(ch, kind))
		case "WEBRTC":
			// §1.3 item 6: only for channels configured for ingestion.
			if ch.StorageStatus != "ENABLED" {
				return nil, errInvalidArgument("The WEBRTC protocol is only applicable for channels that are configured for ingestion (media storage ENABLED).")
			}
			ep = e.endpointURL(httpScheme, "w-"+e.endpointID(ch, "w"))
		}
		list = append(list, resourceEndpoint{Protocol: p, ResourceEndpoint: ep})
	}
	if e.opts.ShuffleEndpoints {
		mrand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	}
	return struct {
		ResourceEndpointList []resourceEndpoint `json:"ResourceEndpointList"`
	}{list}, nil
}
