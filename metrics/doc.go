// Package metrics exposes kvsrtc masters and emulators to Prometheus.
//
// Use [NewMaster] for a collector of one session.Master: call
// [Master.Instrument] on its MasterOptions before session.NewMaster (it
// chains the session's hooks: a pion stats interceptor, OnPeerConnection,
// OnSignalingStateChange, OnPeer, OnFrameSent), then [Master.Attach] the
// Master and register the collector. Values are read on scrape, the
// idiomatic way for state another component owns (a prometheus.Collector):
// the session's own Stats, Peers and Timeline, pion's RTCP receiver-report
// statistics and the selected ICE candidate pair.
//
// Metrics, all prefixed kvsrtc_ and labelled channel="<name>":
//
//	viewers, viewers_total
//	viewer_sent_bytes_total, viewer_sent_packets_total, viewer_sent_frames_total{kind}
//	viewer_bitrate_bits_per_second, viewer_frames_per_second (since the previous scrape)
//	viewer_packets_lost, viewer_fraction_lost, viewer_round_trip_time_seconds, viewer_nacks_total
//	sessions{path="relay"|"direct"}
//	signaling_connected, signaling_reconnects_total, signaling_messages_total{direction},
//	signaling_errors_total, ice_refreshes_total, frames_packetized_total{kind}
//	phase_duration_seconds{phase} histogram, phase named as the C SDK names it
//	  (getTokenCallTime, getEndpointCallTime, getIceConfigCallTime, connectCallTime,
//	  offerToAnswerTime, iceHolePunchingTime, dtlsSessionSetupTime, timeToFirstFrame)
//
// Per-viewer series (label viewer="<client id>") exist while the viewer is
// connected. [Health] gathers masters for /healthz: healthy when signaling
// is connected and media is not stalled (a viewer connected but no frame
// sent within StallAfter). [Handler] serves /metrics (text or OpenMetrics)
// and /healthz; [Listen] runs it.
//
// [NewEmulator] is the emulator's collector: requests per operation and
// signaling connections per role (kvsrtc_emulator_*). It reads the
// emulator's public API; the emulator itself never imports this package.
package metrics
