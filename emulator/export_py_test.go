package emulator

// ServiceHosts are the control-plane host names HostsLine maps to the
// emulator in the service-shaped mode.
func ServiceHosts(e *Emulator) []string { return e.serviceHosts() }
