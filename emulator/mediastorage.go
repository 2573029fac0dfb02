package emulator

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
	if *m.Status == "ENABLED" && m.StreamARN == nil {
		return nil, errInvalidArgument("A StreamARN is required to enable media storage.")
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
