// Package doorbell is a small app built on session, to show how such an
// app is tested (doorbell_test.go): a master that streams a camera and
// answers "ring" on the data channel with "ding <n>" to the viewer that
// rang.
package doorbell

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// Bell is the doorbell's master.
type Bell struct {
	m     *session.Master
	rings atomic.Int64
}

// New returns a Bell on the channel of opts, streaming video.
func New(opts session.Options, video *media.Source) (*Bell, error) {
	b := &Bell{}
	opts.OnMessage = func(from string, msg session.DataMessage) {
		if string(msg.Data) != "ring" {
			return
		}
		n := b.rings.Add(1)
		_ = msg.ReplyText(fmt.Sprintf("ding %d", n)) // to the viewer that rang only
	}
	m, err := session.NewMaster(session.MasterOptions{Options: opts, Video: video})
	if err != nil {
		return nil, err
	}
	b.m = m
	return b, nil
}

// Run serves viewers until ctx ends.
func (b *Bell) Run(ctx context.Context) error { return b.m.Run(ctx) }

// Ready is closed once the bell is connected to signaling.
func (b *Bell) Ready() <-chan struct{} { return b.m.Ready() }

// Rings counts the rings answered.
func (b *Bell) Rings() int64 { return b.rings.Load() }

// Close stops the bell.
func (b *Bell) Close() error { return b.m.Close() }
