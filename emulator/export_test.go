package emulator

// SetBeforeRegister makes the relay call f between a connection's 101 and
// its registration, so tests can hold a registration back.
func SetBeforeRegister(e *Emulator, f func(role, clientID string)) { e.relay.beforeRegister = f }
