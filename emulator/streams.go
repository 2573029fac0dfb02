package emulator

import (
	"fmt"
	"regexp"
	"sort"
	"time"
)

// The stream operations of the control plane (service kinesisvideo, API
// 2017-09-30): the streams UpdateMediaStorageConfiguration points at. They
// are registered before controlplane.go's init lower-cases the paths.
var _ = registerStreamOps()

func registerStreamOps() bool {
	controlOps["CreateStream"] = operation{"CreateStream", (*call).createStream}
	controlOps["DescribeStream"] = operation{"DescribeStream", (*call).describeStream}
	controlOps["ListStreams"] = operation{"ListStreams", (*call).listStreams}
	controlOps["DeleteStream"] = operation{"DeleteStream", (*call).deleteStream}
	return true
}

var (
	reMediaType = regexp.MustCompile(`^[\w\-\.\+]+/[\w\-\.\+]+(,[\w\-\.\+]+/[\w\-\.\+]+)*$`)
	reKmsKeyID  = regexp.MustCompile(`^.+$`)
)

const (
	patMediaType = `[\w\-\.\+]+/[\w\-\.\+]+(,[\w\-\.\+]+/[\w\-\.\+]+)*`
	patKmsKeyID  = `.+`
)

// streamInfo is the StreamInfo shape, members in model order.
type streamInfo struct {
	DeviceName           string       `json:"DeviceName,omitempty"`
	StreamName           string       `json:"StreamName"`
	StreamARN            string       `json:"StreamARN"`
	MediaType            string       `json:"MediaType,omitempty"`
	KmsKeyID             string       `json:"KmsKeyId"`
	Version              string       `json:"Version"`
	Status               string       `json:"Status"`
	CreationTime         epochSeconds `json:"CreationTime"`
	DataRetentionInHours int          `json:"DataRetentionInHours"`
}

func streamInfoOf(r streamRecord) streamInfo {
	return streamInfo{DeviceName: r.DeviceName, StreamName: r.Name, StreamARN: r.ARN, MediaType: r.MediaType,
		KmsKeyID: r.KmsKeyID, Version: r.Version, Status: r.Status, CreationTime: epochSeconds(r.CreationTime),
		DataRetentionInHours: r.RetentionHours}
}

func (c *call) streamResource(name string) string {
	return fmt.Sprintf("arn:%s:kinesisvideo:%s:%s:stream/%s/*", c.e.partition, c.e.opts.Region, c.cred.Account, name)
}

func errStreamNotFound() *apiError {
	return errNotFound("The requested stream is not found or not active.")
}

// lookupStream finds the caller's stream by ARN; streams of other accounts
// do not exist for the caller.
func (c *call) lookupStream(arn string) (streamRecord, *apiError) {
	s, ok := c.e.streams.get(arn)
	if !ok || s.Account != c.cred.Account {
		return streamRecord{}, errStreamNotFound()
	}
	return s, nil
}

// The stream operations' model gives them NotAuthorizedException (401), not
// the channels' AccessDeniedException: authorize's data-plane form.
const streamAuthz = true

func (c *call) createStream() (any, *apiError) {
	var in struct {
		DeviceName                 *string           `json:"DeviceName"`
		StreamName                 *string           `json:"StreamName"`
		MediaType                  *string           `json:"MediaType"`
		KmsKeyID                   *string           `json:"KmsKeyId"`
		DataRetentionInHours       *int              `json:"DataRetentionInHours"`
		Tags                       map[string]string `json:"Tags"`
		StreamStorageConfiguration *struct {
			DefaultStorageTier *string `json:"DefaultStorageTier"`
		} `json:"StreamStorageConfiguration"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("streamName", in.StreamName != nil)
	v.str("streamName", in.StreamName, 1, 256, reChannelName, patChannelName)
	v.str("deviceName", in.DeviceName, 1, 128, reChannelName, patChannelName)
	v.str("mediaType", in.MediaType, 1, 128, reMediaType, patMediaType)
	v.str("kmsKeyId", in.KmsKeyID, 1, 2048, reKmsKeyID, patKmsKeyID)
	v.intRange("dataRetentionInHours", in.DataRetentionInHours, 0, 87600) // 10 years, the documented maximum
	if in.Tags != nil {
		if n := len(in.Tags); n < 1 || n > maxTags {
			v.add("tags", n, fmt.Sprintf("have length between 1 and %d", maxTags))
		}
		keys := make([]string, 0, len(in.Tags))
		for k := range in.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := in.Tags[k]
			v.str("tags.key", &k, 1, 128, reTagKey, patTagKey)
			v.str("tags.value", &val, 0, 256, reTagValue, patTagValue)
		}
	}
	if sc := in.StreamStorageConfiguration; sc != nil {
		v.required("streamStorageConfiguration.defaultStorageTier", sc.DefaultStorageTier != nil)
		v.enum("streamStorageConfiguration.defaultStorageTier", sc.DefaultStorageTier, "HOT", "WARM")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:CreateStream", c.streamResource(*in.StreamName), streamAuthz); err != nil {
		return nil, err
	}
	created := c.now.Truncate(time.Millisecond)
	s := streamRecord{
		Account: c.cred.Account,
		Name:    *in.StreamName,
		// Same shape as a channel's (§1.5): stream/<name>/<creation ms>.
		ARN: fmt.Sprintf("arn:%s:kinesisvideo:%s:%s:stream/%s/%013d",
			c.e.partition, c.e.opts.Region, c.cred.Account, *in.StreamName, created.UnixMilli()),
		// The service encrypts with its own key when none is given.
		KmsKeyID:     fmt.Sprintf("arn:%s:kms:%s:%s:alias/aws/kinesisvideo", c.e.partition, c.e.opts.Region, c.cred.Account),
		Status:       "ACTIVE", // as channels: no client waits for CREATING to end
		CreationTime: created,
		Version:      newVersion(),
		Tags:         in.Tags,
	}
	if in.DeviceName != nil {
		s.DeviceName = *in.DeviceName
	}
	if in.MediaType != nil {
		s.MediaType = *in.MediaType
	}
	if in.KmsKeyID != nil {
		s.KmsKeyID = *in.KmsKeyID
	}
	if in.DataRetentionInHours != nil {
		s.RetentionHours = *in.DataRetentionInHours
	}
	ok, err := c.e.streams.create(s)
	if err != nil {
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not store the stream", Lower: true}
	}
	if !ok {
		return nil, errInUse("The stream %s already exists.", s.Name)
	}
	return struct {
		StreamARN string `json:"StreamARN"`
	}{s.ARN}, nil
}

func (c *call) describeStream() (any, *apiError) {
	var in struct {
		StreamName *string `json:"StreamName"`
		StreamARN  *string `json:"StreamARN"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.str("streamName", in.StreamName, 1, 256, reChannelName, patChannelName)
	v.str("streamARN", in.StreamARN, 1, 1024, reARN, patARN)
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case in.StreamName == nil && in.StreamARN == nil:
		return nil, errInvalidArgument("Either StreamName or StreamARN must be specified.")
	case in.StreamName != nil && in.StreamARN != nil:
		return nil, errInvalidArgument("Specify either StreamName or StreamARN, not both.")
	}
	resource := ""
	if in.StreamARN != nil {
		resource = *in.StreamARN
	} else {
		resource = c.streamResource(*in.StreamName)
	}
	if err := c.authorize("kinesisvideo:DescribeStream", resource, streamAuthz); err != nil {
		return nil, err
	}
	var s streamRecord
	if in.StreamARN != nil {
		var aerr *apiError
		if s, aerr = c.lookupStream(*in.StreamARN); aerr != nil {
			return nil, aerr
		}
	} else {
		var ok bool
		if s, ok = c.e.streams.getByName(c.cred.Account, *in.StreamName); !ok {
			return nil, errStreamNotFound()
		}
	}
	return struct {
		StreamInfo streamInfo `json:"StreamInfo"`
	}{streamInfoOf(s)}, nil
}

func (c *call) listStreams() (any, *apiError) {
	var in struct {
		MaxResults          *int           `json:"MaxResults"`
		NextToken           *string        `json:"NextToken"`
		StreamNameCondition *nameCondition `json:"StreamNameCondition"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	pg, err := c.listInput(in.MaxResults, in.NextToken, in.StreamNameCondition, "streamNameCondition", "stream:",
		"kinesisvideo:ListStreams", streamAuthz)
	if err != nil {
		return nil, err
	}
	page, more := c.e.streams.list(c.cred.Account, pg.prefix, pg.after, pg.limit)
	out := struct {
		StreamInfoList []streamInfo `json:"StreamInfoList"`
		NextToken      string       `json:"NextToken,omitempty"`
	}{StreamInfoList: []streamInfo{}}
	for _, s := range page {
		out.StreamInfoList = append(out.StreamInfoList, streamInfoOf(s))
	}
	if more {
		out.NextToken = pg.token(page[len(page)-1].Name)
	}
	return out, nil
}

func (c *call) deleteStream() (any, *apiError) {
	var in struct {
		StreamARN      *string `json:"StreamARN"`
		CurrentVersion *string `json:"CurrentVersion"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("streamARN", in.StreamARN != nil)
	v.str("streamARN", in.StreamARN, 1, 1024, reARN, patARN)
	v.str("currentVersion", in.CurrentVersion, 1, 64, reVersion, patVersion)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:DeleteStream", *in.StreamARN, streamAuthz); err != nil {
		return nil, err
	}
	if _, err := c.lookupStream(*in.StreamARN); err != nil {
		return nil, err
	}
	// UNCONFIRMED: the model lists ResourceInUseException; the emulator
	// refuses to delete a stream a channel stores into (ENABLED).
	if ch, ok := c.e.store.channelStoringInto(*in.StreamARN); ok {
		return nil, errInUse("The stream is the media storage of signaling channel %s; disable it first (UpdateMediaStorageConfiguration).", ch)
	}
	var aerr *apiError
	found, err := c.e.streams.delete(*in.StreamARN, func(s *streamRecord) error {
		if in.CurrentVersion != nil && s.Version != *in.CurrentVersion {
			aerr = &apiError{Status: 400, Code: "VersionMismatchException",
				Message: fmt.Sprintf("The version %s does not match the current version of the stream.", *in.CurrentVersion)}
			return aerr
		}
		return nil
	})
	switch {
	case !found:
		return nil, errStreamNotFound()
	case aerr != nil:
		return nil, aerr
	case err != nil:
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not delete the stream", Lower: true}
	}
	c.e.deleteStreamMedia(*in.StreamARN)
	return struct{}{}, nil
}

// channelStoringInto returns the name of a channel whose media storage is
// ENABLED into streamARN.
func (s *store) channelStoringInto(streamARN string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.byARN {
		if c.StorageStatus == "ENABLED" && c.StorageStreamARN == streamARN {
			return c.Name, true
		}
	}
	return "", false
}
