package emulator

// GoAway sends GO_AWAY to every connection of the channel (all channels
// when channelARN is empty) without closing them, as the service does a
// minute before it ends a connection. It returns how many it reached.
func (e *Emulator) GoAway(channelARN string) int {
	return e.relay.sendToChannel(channelARN, goAwayFrame, false)
}

// ReconnectICEServer sends RECONNECT_ICE_SERVER to every connection of the
// channel (§4.5), as the service does when a TURN relay is going away.
func (e *Emulator) ReconnectICEServer(channelARN string) int {
	return e.relay.sendToChannel(channelARN, reconnectFrame, false)
}

// DropConnections closes every connection of the channel with 1001 "Going
// away", as the service does at the idle timeout or the connection limit.
func (e *Emulator) DropConnections(channelARN string) int {
	return e.relay.sendToChannel(channelARN, nil, true)
}

// Connections reports who is connected to a channel: whether a master is,
// and the viewers' client ids.
func (e *Emulator) Connections(channelARN string) (master bool, viewers []string) {
	e.relay.mu.Lock()
	defer e.relay.mu.Unlock()
	cs := e.relay.channels[channelARN]
	if cs == nil {
		return false, nil
	}
	for id := range cs.viewers {
		viewers = append(viewers, id)
	}
	return cs.master != nil, viewers
}
