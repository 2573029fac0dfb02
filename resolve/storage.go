package resolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/aws/smithy-go"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

// storageServiceID names the WebRTC storage service in operation errors, as
// the SDK's kinesisvideowebrtcstorage client would (it is not served here).
const storageServiceID = "Kinesis Video WebRTC Storage"

// ErrStorageNotReady reports a channel that cannot ingest: its media
// storage is DISABLED, or its stream is missing or keeps no data.
var ErrStorageNotReady = errors.New("channel not set up for WebRTC ingestion")

// MediaStorage is a channel's media storage as the service describes it,
// with its stream.
type MediaStorage struct {
	// Enabled is Status ENABLED.
	Enabled bool
	// StreamARN is the stream media is stored into.
	StreamARN string
	// StreamName and RetentionHours describe the stream (when it exists).
	StreamName     string
	RetentionHours int
	// WebRTC is the channel's WEBRTC endpoint (when Enabled).
	WebRTC string
}

// CheckMediaStorage describes the channel's media storage and its stream,
// and returns the WEBRTC endpoint JoinStorageSession is called on. A
// channel that cannot ingest is an error wrapping ErrStorageNotReady that
// says what to change (spec §6: ENABLED with a stream that retains data).
func (r *Resolver) CheckMediaStorage(ctx context.Context, arn channel.ARN) (MediaStorage, error) {
	what := "check media storage of channel/" + arn.Name
	d, err := r.client.DescribeMediaStorageConfiguration(ctx, &kinesisvideo.DescribeMediaStorageConfigurationInput{ChannelARN: aws.String(arn.String())}, inRegion(arn.Region))
	if err != nil {
		return MediaStorage{}, fmt.Errorf("%s: %w", what, Classify(err, "kinesisvideo:DescribeMediaStorageConfiguration", arn.String()))
	}
	var ms MediaStorage
	if c := d.MediaStorageConfiguration; c != nil {
		ms.Enabled = c.Status == types.MediaStorageConfigurationStatusEnabled
		ms.StreamARN = aws.ToString(c.StreamARN)
	}
	fix := fmt.Sprintf("aws kinesisvideo update-media-storage-configuration --channel-arn %s --media-storage-configuration Status=ENABLED,StreamARN=<stream ARN>", arn)
	if !ms.Enabled {
		return ms, fmt.Errorf("%s: %w: media storage is DISABLED; enable it into a stream: %s", what, ErrStorageNotReady, fix)
	}
	s, err := r.client.DescribeStream(ctx, &kinesisvideo.DescribeStreamInput{StreamARN: aws.String(ms.StreamARN)}, inRegion(arn.Region))
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return ms, fmt.Errorf("%s: %w: its stream %s does not exist; create one (aws kinesisvideo create-stream --stream-name <name> --data-retention-in-hours 24) and point the channel at it: %s", what, ErrStorageNotReady, ms.StreamARN, fix)
	case err != nil:
		return ms, fmt.Errorf("%s: describe stream %s: %w", what, ms.StreamARN, Classify(err, "kinesisvideo:DescribeStream", ms.StreamARN))
	}
	if si := s.StreamInfo; si != nil {
		ms.StreamName = aws.ToString(si.StreamName)
		ms.RetentionHours = int(aws.ToInt32(si.DataRetentionInHours))
	}
	if ms.RetentionHours == 0 {
		return ms, fmt.Errorf("%s: %w: stream %s keeps no data (DataRetentionInHours 0); WebRTC ingestion needs retention: aws kinesisvideo update-data-retention", what, ErrStorageNotReady, ms.StreamName)
	}
	g, err := r.client.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn.String()),
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWebrtc}, Role: types.ChannelRoleMaster}}, inRegion(arn.Region))
	if err != nil {
		return ms, fmt.Errorf("%s: WEBRTC endpoint: %w", what, Classify(err, "kinesisvideo:GetSignalingChannelEndpoint", arn.String()))
	}
	for _, ep := range g.ResourceEndpointList {
		if ep.Protocol == types.ChannelProtocolWebrtc {
			ms.WebRTC = aws.ToString(ep.ResourceEndpoint)
		}
	}
	if err := r.checkScheme("WEBRTC", ms.WebRTC); err != nil {
		return ms, fmt.Errorf("%s: %w", what, err)
	}
	return ms, nil
}

// JoinStorageSession asks the storage service to send the channel's
// connected master an SDP offer (spec §6). It is asynchronous: success
// means the call was taken, not that an offer will come; callers retry
// when none does. endpoint is the WEBRTC endpoint. Not retried here (the
// call is not idempotent: each sends an offer), except once for clock skew.
func (r *Resolver) JoinStorageSession(ctx context.Context, endpoint string, arn channel.ARN) error {
	return r.joinStorage(ctx, endpoint, "joinStorageSession", "JoinStorageSession", arn, struct {
		ChannelArn string `json:"channelArn"`
	}{arn.String()})
}

// JoinStorageSessionAsViewer asks the storage service to send the viewer
// clientID, connected to the channel's WSS, an SDP offer.
func (r *Resolver) JoinStorageSessionAsViewer(ctx context.Context, endpoint string, arn channel.ARN, clientID string) error {
	if err := channel.ValidClientID(clientID); err != nil {
		return fmt.Errorf("join storage session as viewer: %w", err)
	}
	return r.joinStorage(ctx, endpoint, "joinStorageSessionAsViewer", "JoinStorageSessionAsViewer", arn, struct {
		ChannelArn string `json:"channelArn"`
		ClientID   string `json:"clientId"`
	}{arn.String(), clientID})
}

func (r *Resolver) joinStorage(ctx context.Context, endpoint, path, op string, arn channel.ARN, in any) error {
	fail := func(err error) error {
		return &smithy.OperationError{ServiceID: storageServiceID, OperationName: op, Err: err}
	}
	if err := r.checkScheme("WEBRTC", endpoint); err != nil {
		return fail(err)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fail(fmt.Errorf("WEBRTC endpoint: %w", err))
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if r.cfg.Credentials == nil {
		return fail(fmt.Errorf("%w: no credentials configured", ErrAuth))
	}
	offset := r.clock.Offset()
	for attempt := 0; ; attempt++ {
		_, _, skew, hasSkew, err := r.sendICE(ctx, u.JoinPath(path).String(), body, hash, arn.Region, offset)
		if hasSkew {
			r.clock.set(skew)
		}
		if err == nil {
			return nil
		}
		if attempt == 0 && hasSkew && isSkewCode(wire.ErrorCode(err)) && absDuration(skew-offset) > skewThreshold {
			offset = skew
			continue
		}
		return fmt.Errorf("join storage session for channel/%s: %w", arn.Name, Classify(fail(err), "kinesisvideo:"+op, arn.String()))
	}
}
