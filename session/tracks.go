package session

import (
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// defaultProfileLevelID is offered for H.264 before a source has an SPS:
// constrained baseline 3.1, what the KVS samples send.
const defaultProfileLevelID = "42e01f"

// profileLevelID is the profile-level-id of an H.264 source's stream:
// MasterOptions.H264ProfileLevelID, else the SPS of the source's cached
// keyframe, else defaultProfileLevelID.
func (m *Master) profileLevelID(src *media.Source) string {
	if m.opts.H264ProfileLevelID != "" {
		return m.opts.H264ProfileLevelID
	}
	if f, ok := src.Keyframe(); ok {
		if sps, _ := media.ParameterSets(f.Data); sps != nil {
			if id, err := media.ProfileLevelID(sps); err == nil {
				return id
			}
		}
	}
	return defaultProfileLevelID
}

// addUserTracks adds the caller's tracks (MasterOptions.Tracks, then
// NewTracks) to a viewer's connection and returns their senders, whose
// RTCP must be read for the interceptors to work.
func (m *Master) addUserTracks(pc *webrtc.PeerConnection, id string) ([]*webrtc.RTPSender, error) {
	tracks := m.opts.Tracks
	if m.opts.NewTracks != nil {
		more, err := m.opts.NewTracks(id)
		if err != nil {
			return nil, fmt.Errorf("tracks for viewer %s: %w", id, err)
		}
		tracks = append(tracks[:len(tracks):len(tracks)], more...)
	}
	senders := make([]*webrtc.RTPSender, 0, len(tracks))
	for _, t := range tracks {
		s, err := pc.AddTrack(t)
		if err != nil {
			return nil, fmt.Errorf("add track %s: %w", t.ID(), err)
		}
		senders = append(senders, s)
	}
	return senders, nil
}

// readRTCP reads a sender's RTCP until its connection closes: pion's
// interceptors (NACK, reports) see RTCP only when it is read.
func (m *Master) readRTCP(s *webrtc.RTPSender) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			if _, _, err := s.ReadRTCP(); err != nil {
				return
			}
		}
	}()
}
