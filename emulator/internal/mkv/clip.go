package mkv

import (
	"fmt"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
)

// Clip is stored media read back for another container (GetClip's MP4):
// what Export would write, as samples.
type Clip struct {
	// Start is the service time of the first video frame, a keyframe.
	Start time.Time
	// AVCConfig is the AVCDecoderConfigurationRecord of the first
	// keyframe's SPS and PPS; Width and Height its picture size.
	AVCConfig     []byte
	Width, Height int
	// Channels of the Opus track.
	Channels int
	// Video samples hold 4-byte length-prefixed NAL units (SPS and PPS
	// stay in-band); Audio samples Opus packets.
	Video, Audio []Sample
	// Stats are the export's counts.
	Stats ExportStats
}

// Sample is one frame of a Clip.
type Sample struct {
	// Time since Clip.Start, never negative: audio before the first
	// keyframe is dropped.
	Time time.Duration
	Data []byte
	Key  bool
}

// ReadClip reads the media of frags (all of them) as Export selects it:
// from the first keyframe, overlaps between sessions resolved.
func ReadClip(frags []Fragment) (*Clip, error) {
	c := &Clip{}
	st, err := export(frags, time.Time{}, time.Time{}, func(t time.Time, key []byte, channels int) (frameSink, error) {
		sps, pps := media.ParameterSets(key)
		cfg, err := media.AVCDecoderConfig(sps, pps)
		if err != nil {
			return nil, fmt.Errorf("first keyframe: %w", err)
		}
		w, h, err := media.SPSDimensions(sps)
		if err != nil {
			return nil, fmt.Errorf("first keyframe: sps: %w", err)
		}
		c.Start, c.AVCConfig, c.Width, c.Height, c.Channels = t, cfg, w, h, channels
		return (*clipSink)(c), nil
	})
	if err != nil {
		return nil, err
	}
	c.Stats = st
	return c, nil
}

type clipSink Clip

func (c *clipSink) writeVideo(t time.Time, au []byte, key bool) error {
	c.Video = append(c.Video, Sample{Time: t.Sub(c.Start), Data: media.AnnexBToAVC(au), Key: key})
	return nil
}

func (c *clipSink) writeAudio(t time.Time, data []byte) error {
	c.Audio = append(c.Audio, Sample{Time: t.Sub(c.Start), Data: data, Key: true})
	return nil
}

func (c *clipSink) close() error { return nil }
