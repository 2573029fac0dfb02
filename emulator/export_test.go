package emulator

// SetBeforeRegister makes the relay call f between a connection's 101 and
// its registration, so tests can hold a registration back.
func SetBeforeRegister(e *Emulator, f func(role, clientID string)) { e.relay.beforeRegister = f }

// ThrottledReads is how many times a WSS connection waited for its frame
// budget.
func ThrottledReads(e *Emulator) int64 { return e.relay.throttledReads.Load() }

// OpenConns is how many HTTPS/WSS connections count against the caps.
func OpenConns(e *Emulator) int { return e.conns.open() }

// FramesRead is how many WSS frames the relay has read.
func FramesRead(e *Emulator) int64 { return e.relay.framesRead.Load() }
