package emulator

// ingest is the Emulator's WebRTC ingestion state (spec §6): the streams
// media storage points at and the storage sessions recording into them.
type ingest struct {
	streams *streamStore
	storage storageService
	media   mediaState // media.go
}
