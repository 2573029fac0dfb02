package emulator

import "fmt"

type smConfig struct {
	MessageTtlSeconds *int `json:"MessageTtlSeconds"`
}

type mediaStorageConfiguration struct {
	StreamARN *string `json:"StreamARN,omitempty"`
	Status    *string `json:"Status"`
}

func (c *call) describeMediaStorageConfiguration() (any, *apiError) {
	var in struct {
		ChannelName *string `json:"ChannelName"`
		ChannelARN  *string `json:"ChannelARN"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	ch, err := c.channelByNameOrARN(in.ChannelName, in.ChannelARN, "kinesisvideo:DescribeMediaStorageConfiguration")
	if err != nil {
		return nil, err
	}
	status := ch.StorageStatus
	if status == "" {
		status = "DISABLED"
	}
	out := mediaStorageConfiguration{Status: &status}
	if ch.StorageStreamARN != "" {
		out.StreamARN = &ch.StorageStreamARN
	}
	return struct {
		MediaStorageConfiguration mediaStorageConfiguration `json:"MediaStorageConfiguration"`
	}{out}, nil
}

func (c *call) updateMediaStorageConfiguration() (any, *apiError) {
	var in struct {
		ChannelARN                *string                    `json:"ChannelARN"`
		MediaStorageConfiguration *mediaStorageConfiguration `json:"MediaStorageConfiguration"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.required("mediaStorageConfiguration", in.MediaStorageConfiguration != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	if m := in.MediaStorageConfiguration; m != nil {
		v.required("mediaStorageConfiguration.status", m.Status != nil)
		v.enum("mediaStorageConfiguration.status", m.Status, "ENABLED", "DISABLED")
		v.str("mediaStorageConfiguration.streamARN", m.StreamARN, 1, 1024, reARN, patARN)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:UpdateMediaStorageConfiguration", *in.ChannelARN, false); err != nil {
		return nil, err
	}
	m := in.MediaStorageConfiguration
	if *m.Status == "ENABLED" {
		if m.StreamARN == nil {
			return nil, errInvalidArgument("A StreamARN is required to enable media storage.")
		}
		// The model's rules for ENABLED (DOC-API UpdateMediaStorageConfiguration):
		// the stream must exist and retain data (NoDataRetentionException).
		s, aerr := c.lookupStream(*m.StreamARN)
		if aerr != nil {
			return nil, aerr
		}
		if s.RetentionHours == 0 {
			return nil, &apiError{Status: 400, Code: "NoDataRetentionException",
				Message: fmt.Sprintf("The stream %s has no data retention (DataRetentionInHours is 0); WebRTC ingestion needs a stream that retains data.", s.Name)}
		}
		// UNCONFIRMED: one channel per stream; another channel storing into
		// it makes the stream in use.
		if other, ok := c.e.store.channelStoringInto(s.ARN); ok && c.e.store.nameOf(*in.ChannelARN) != other {
			return nil, errInUse("The stream %s is already the media storage of signaling channel %s.", s.Name, other)
		}
	}
	aerr := c.updateChannel(*in.ChannelARN, func(ch *channelRecord) *apiError {
		ch.StorageStatus = *m.Status
		ch.StorageStreamARN = ""
		if m.StreamARN != nil {
			ch.StorageStreamARN = *m.StreamARN
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

// nameOf returns the name of the channel with arn, or "".
func (s *store) nameOf(arn string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.byARN[arn]; ok {
		return c.Name
	}
	return ""
}
