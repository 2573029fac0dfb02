package emulator

import (
	"os"
	"path/filepath"
	"strings"
)

// mediaRoot is where stored media lives: <data>/media, or a directory in
// the emulator's temporary dir when it keeps no data.
func (e *Emulator) mediaRoot() string {
	dir := e.opts.DataDir
	if dir == "" {
		dir = e.tmpDir
	}
	return filepath.Join(dir, "media")
}

// streamMediaDir is the directory of one stream's fragments:
// <media>/<account>/<name>/<creation ms>, so a stream deleted and created
// again under its name does not see the old media.
func (e *Emulator) streamMediaDir(streamARN string) string {
	// arn:<p>:kinesisvideo:<region>:<account>:stream/<name>/<ms>
	parts := strings.SplitN(streamARN, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 3 {
		return ""
	}
	return filepath.Join(e.mediaRoot(), parts[4], res[1], res[2])
}

// deleteStreamMedia removes a deleted stream's media ("Deletes a Kinesis
// video stream and the data contained in the stream", DOC-API DeleteStream).
func (e *Emulator) deleteStreamMedia(streamARN string) {
	if dir := e.streamMediaDir(streamARN); dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			e.log.Warn("delete stream media", "stream", streamARN, "err", err)
		}
	}
}
