package emulator

// StreamMediaDir is where the stream's fragments are stored, for tests that
// write fragments as the storage peer does.
func StreamMediaDir(e *Emulator, streamARN string) string { return e.streamMediaDir(streamARN) }
