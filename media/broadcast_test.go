package media

import (
	"sync"
	"testing"
	"time"
)

// synth returns frame i of a synthetic stream with a keyframe every gop.
func synth(i, gop int) Frame {
	return Frame{Data: []byte{byte(i)}, Seq: i, Keyframe: i%gop == 0}
}

func TestBroadcasterLateSubscriberStartsAtKeyframe(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{QueueSize: 8})
	defer b.Close()
	early, cancelEarly := b.Subscribe()
	defer cancelEarly()
	for i := range 45 { // keyframes at 0 and 30
		b.Publish(synth(i, 30))
		if f := recv(t, early); f.Seq != i {
			t.Fatalf("early subscriber: got seq %d, want %d", f.Seq, i)
		}
	}
	late, cancel := b.Subscribe()
	defer cancel()
	for want := 30; want < 45; want++ { // the cached GOP
		f := recv(t, late)
		if f.Seq != want || (want == 30) != f.Keyframe {
			t.Fatalf("late subscriber: got seq %d key %v, want seq %d", f.Seq, f.Keyframe, want)
		}
	}
	b.Publish(synth(45, 30))
	if f := recv(t, late); f.Seq != 45 {
		t.Fatalf("live frame after GOP: seq %d, want 45", f.Seq)
	}
}

func TestBroadcasterSubscriberBeforeKeyframeWaits(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{})
	defer b.Close()
	b.Publish(Frame{Seq: 0, Keyframe: false}) // stream joined mid-GOP: nothing to cache
	ch, cancel := b.Subscribe()
	defer cancel()
	b.Publish(Frame{Seq: 1})
	b.Publish(Frame{Seq: 2, Keyframe: true})
	if f := recv(t, ch); f.Seq != 2 || !f.Keyframe {
		t.Fatalf("first frame seq %d key %v, want the keyframe 2", f.Seq, f.Keyframe)
	}
}

func TestBroadcasterGOPOverflow(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{MaxGOPFrames: 5})
	defer b.Close()
	for i := range 8 { // one keyframe, then a GOP longer than the cache
		b.Publish(synth(i, 100))
	}
	if st := b.Stats(); st.GOPFrames != 0 {
		t.Fatalf("GOP cache holds %d frames after overflow", st.GOPFrames)
	}
	ch, cancel := b.Subscribe()
	defer cancel()
	b.Publish(synth(8, 100))
	b.Publish(synth(100, 100))
	if f := recv(t, ch); f.Seq != 100 {
		t.Fatalf("first frame after overflow: seq %d, want keyframe 100", f.Seq)
	}
}

func TestBroadcasterSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{QueueSize: 4})
	slow, cancelSlow := b.Subscribe() // never reads until the end
	fast, cancelFast := b.Subscribe()
	defer cancelSlow()

	var got []int
	acks := make(chan int)
	var wg sync.WaitGroup
	wg.Go(func() {
		for f := range fast {
			got = append(got, f.Seq)
			acks <- f.Seq
		}
	})
	const n = 100
	for i := range n { // keyframe every 10; Publish must never block
		b.Publish(synth(i, 10))
		waitAck(t, acks, i)
	}
	// The slow subscriber holds its first 4 frames and has dropped the rest.
	for want := range 4 {
		if f := recv(t, slow); f.Seq != want {
			t.Fatalf("slow: seq %d, want %d", f.Seq, want)
		}
	}
	// With room again it skips the rest of the GOP and resumes at a keyframe.
	b.Publish(synth(n, 10)) // keyframe
	b.Publish(synth(n+1, 10))
	waitAck(t, acks, n)
	waitAck(t, acks, n+1)
	if f := recv(t, slow); f.Seq != n || !f.Keyframe {
		t.Fatalf("slow resumed at seq %d key %v, want keyframe %d", f.Seq, f.Keyframe, n)
	}
	st := b.Stats()
	cancelFast()
	wg.Wait()
	if len(got) != n+2 {
		t.Fatalf("fast subscriber got %d frames, want %d", len(got), n+2)
	}
	for i, s := range got {
		if s != i {
			t.Fatalf("fast subscriber frame %d has seq %d", i, s)
		}
	}
	if st.Dropped != n-4 || st.Published != n+2 {
		t.Errorf("stats %+v, want %d dropped", st, n-4)
	}
	b.Close()
}

func waitAck(t *testing.T, acks <-chan int, want int) {
	t.Helper()
	select {
	case got := <-acks:
		if got != want {
			t.Fatalf("fast subscriber got seq %d, want %d", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("fast subscriber did not get seq %d within 5s", want)
	}
}

func TestBroadcasterCancelAndClose(t *testing.T) {
	b := NewBroadcaster(BroadcasterOptions{})
	ch, cancel := b.Subscribe()
	ch2, cancel2 := b.Subscribe()
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
	b.Publish(synth(0, 1))
	b.Close()
	b.Close()
	if f, ok := <-ch2; !ok || f.Seq != 0 {
		t.Fatal("queued frame lost at Close")
	}
	if _, ok := <-ch2; ok {
		t.Fatal("channel open after Close")
	}
	cancel2() // after Close: no panic
	ch3, cancel3 := b.Subscribe()
	defer cancel3()
	if _, ok := <-ch3; ok {
		t.Fatal("Subscribe after Close returned an open channel")
	}
	if st := b.Stats(); st.Subscribers != 0 {
		t.Fatalf("%d subscribers after Close", st.Subscribers)
	}
}

func BenchmarkBroadcast10(b *testing.B) {
	br := NewBroadcaster(BroadcasterOptions{QueueSize: 256})
	var wg sync.WaitGroup
	for range 10 {
		ch, cancel := br.Subscribe()
		defer cancel()
		wg.Go(func() {
			for range ch {
			}
		})
	}
	data := make([]byte, 1200)
	i := 0
	for b.Loop() {
		br.Publish(Frame{Data: data, Seq: i, Keyframe: i%30 == 0})
		i++
	}
	b.StopTimer()
	st := br.Stats()
	br.Close()
	wg.Wait()
	b.ReportMetric(float64(st.Delivered)/float64(st.Published), "delivered/frame")
	b.ReportMetric(float64(st.Dropped)/float64(st.Published), "dropped/frame")
}
