package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

// StorageViewerOptions make a Viewer watch through the storage service
// (JoinStorageSessionAsViewer, spec §6) instead of offering to the master:
// the service's media server offers it the recording session's media over
// its WSS. The master must be ingesting (MasterOptions.Storage).
type StorageViewerOptions struct {
	// RetryInterval between JoinStorageSessionAsViewer calls while no offer
	// comes. Default DefaultJoinRetryInterval.
	RetryInterval time.Duration
	// MaxJoins bounds the calls made for one offer before Run fails with
	// ErrNoStorageOffer; zero: no bound.
	MaxJoins int
	// OnEvent, if set, receives the storage timeline (Checked, Join,
	// JoinError, NoOffer, Offer, Connected, Ended).
	OnEvent func(StorageEvent)
}

// storageEvent reports one step of a storage viewer's timeline.
func (v *Viewer) storageEvent(ev StorageEvent) {
	ev.At = time.Now()
	ev.Since = ev.At.Sub(v.tl.Start())
	if o := v.opts.Storage; o != nil && o.OnEvent != nil {
		o.OnEvent(ev)
	}
}

// runStorage is Run for a storage viewer: join as a viewer until the
// service's offer comes, answer it, receive until the media limit, Close or
// ctx; when the service ends the session, join again.
func (v *Viewer) runStorage(ctx context.Context, l *link) error {
	o := *v.opts.Storage
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultJoinRetryInterval
	}
	ms, err := v.opts.Resolver.CheckMediaStorage(ctx, v.opts.ChannelARN)
	if err != nil {
		return err
	}
	v.storageEvent(StorageEvent{Kind: StorageEventChecked, Stream: ms.StreamARN})
	attempts := 0
	join := func() error {
		for {
			attempts++
			t := time.Now()
			err := v.opts.Resolver.JoinStorageSessionAsViewer(ctx, ms.WebRTC, v.opts.ChannelARN, v.opts.ClientID)
			if err == nil {
				v.storageEvent(StorageEvent{Kind: StorageEventJoin, Attempt: attempts, Took: time.Since(t)})
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.storageEvent(StorageEvent{Kind: StorageEventJoinError, Attempt: attempts, Took: time.Since(t), Err: err})
			if !retryableJoin(err) {
				return err
			}
			if o.MaxJoins > 0 && attempts >= o.MaxJoins {
				return fmt.Errorf("%w after %d JoinStorageSessionAsViewer calls: %w", ErrNoStorageOffer, attempts, err)
			}
			w := time.NewTimer(o.RetryInterval)
			select {
			case <-ctx.Done():
				w.Stop()
				return ctx.Err()
			case <-w.C:
			}
		}
	}
	if err := join(); err != nil {
		return err
	}
	retry := time.NewTimer(o.RetryInterval)
	defer retry.Stop()
	var p *peer
	var ended <-chan struct{}
	var connected <-chan struct{}
	var offerAt time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-v.stop:
			return nil
		case <-l.failed:
			return l.err()
		case <-retry.C:
			if p != nil {
				continue
			}
			if o.MaxJoins > 0 && attempts >= o.MaxJoins {
				return fmt.Errorf("%w after %d JoinStorageSessionAsViewer calls (%s apart)", ErrNoStorageOffer, attempts, o.RetryInterval)
			}
			v.storageEvent(StorageEvent{Kind: StorageEventNoOffer, Attempt: attempts})
			if err := join(); err != nil {
				return err
			}
			retry.Reset(o.RetryInterval)
		case <-connected:
			connected = nil
			v.storageEvent(StorageEvent{Kind: StorageEventConnected, Took: time.Since(offerAt)})
		case <-ended:
			v.storageEvent(StorageEvent{Kind: StorageEventEnded, Current: true, Err: p.err()})
			_ = p.pc.Close()
			p, ended, connected = nil, nil, nil
			attempts = 0
			if err := join(); err != nil {
				return err
			}
			retry.Reset(o.RetryInterval)
		case msg, ok := <-l.sig.Messages():
			if !ok {
				return errors.New("signaling closed")
			}
			switch msg.MessageType {
			case wire.MessageTypeSDPOffer:
				sd, err := msg.SessionDescription()
				if err != nil {
					return fmt.Errorf("storage offer: %w", err)
				}
				if p != nil { // a newer session's offer replaces the current one
					_ = p.pc.Close()
				}
				offerAt = time.Now()
				v.storageEvent(StorageEvent{Kind: StorageEventOffer, Attempt: attempts})
				retry.Stop()
				if p, err = v.answerStorage(ctx, l, sd); err != nil {
					return err
				}
				ended, connected = p.ended, p.connected
			case wire.MessageTypeICECandidate:
				c, err := msg.ICECandidate()
				if err != nil || p == nil {
					continue
				}
				if err := p.addCandidate(c); err != nil {
					v.opts.Logger.Debug("remote candidate refused", "err", err)
				}
			case wire.MessageTypeStatusResponse:
				v.opts.Logger.Warn("signaling refused a message", "status", fmt.Sprint(msg.StatusResponse))
			}
		}
	}
}

// answerStorage builds the peer for the service's offer and answers it.
func (v *Viewer) answerStorage(ctx context.Context, l *link, offer wire.SessionDescription) (*peer, error) {
	trickle := !v.opts.NoTrickle
	p, err := newPeer(v.api, rtcConfig(&v.opts.Options, l.ice.fresh(ctx, v.opts.Logger.Warn)), v.tl, v.opts.Logger, trickle)
	if err != nil {
		return nil, err
	}
	p.watch(channel.RoleViewer, &v.opts.Options, v.opts.ClientID, v.ready.fire)
	v.mu.Lock()
	v.p = p
	v.mu.Unlock()
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		handleDataChannel(&v.opts.Options, v.opts.ClientID, "", dc)
		v.mu.Lock()
		v.dc = dc
		v.mu.Unlock()
	})
	v.receive(p)
	// The media the storage session sends: what its offer sends on.
	if err := v.startRecording(offer.SDP); err != nil {
		_ = p.pc.Close()
		return nil, err
	}
	if err := p.setRemote(offer); err != nil {
		_ = p.pc.Close()
		return nil, fmt.Errorf("apply storage offer: %w", err)
	}
	t := time.Now()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		var wsd wire.SessionDescription
		if wsd, err = p.localDescription(ctx, answer, trickle); err == nil {
			_, err = l.sig.SendAnswer(ctx, "", wsd)
		}
	}
	if err != nil {
		_ = p.pc.Close()
		return nil, fmt.Errorf("answer the storage offer: %w", err)
	}
	v.tl.Mark(StepAnswer, t)
	sent := make(chan struct{})
	close(sent)
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		p.sendCandidates(ctx, sent, func(ctx context.Context, c wire.ICECandidateInit) error {
			_, err := l.sig.SendICECandidate(ctx, "", c)
			return err
		})
	}()
	return p, nil
}
