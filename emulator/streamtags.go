package emulator

import (
	"fmt"
	"maps"
	"slices"
)

// The stream tag operations (TagStream, UntagStream, ListTagsForStream) of
// the control plane. Streams have their own tag calls: TagResource and its
// siblings are for signaling channels (botocore model kinesisvideo
// 2017-09-30; boto3's list_tags_for_stream got UnknownOperationException
// before these existed). Registered before controlplane.go's init
// lower-cases the paths (/tagStream, /untagStream, /listTagsForStream).
var _ = registerStreamTagOps()

func registerStreamTagOps() bool {
	controlOps["TagStream"] = operation{"TagStream", (*call).tagStream}
	controlOps["UntagStream"] = operation{"UntagStream", (*call).untagStream}
	controlOps["ListTagsForStream"] = operation{"ListTagsForStream", (*call).listTagsForStream}
	return true
}

// streamTarget validates a StreamARN-or-StreamName input (exactly one, as
// describeStream), authorizes action on it and returns the stream.
func (c *call) streamTarget(v *validator, name, arn *string, action string) (streamRecord, *apiError) {
	v.str("streamName", name, 1, 256, reChannelName, patChannelName)
	v.str("streamARN", arn, 1, 1024, reARN, patARN)
	if err := v.err(); err != nil {
		return streamRecord{}, err
	}
	switch {
	case name == nil && arn == nil:
		return streamRecord{}, errInvalidArgument("Either StreamName or StreamARN must be specified.")
	case name != nil && arn != nil:
		return streamRecord{}, errInvalidArgument("Specify either StreamName or StreamARN, not both.")
	}
	if arn != nil {
		if err := c.authorize(action, *arn, streamAuthz); err != nil {
			return streamRecord{}, err
		}
		return c.lookupStream(*arn)
	}
	if err := c.authorize(action, c.streamResource(*name), streamAuthz); err != nil {
		return streamRecord{}, err
	}
	s, ok := c.e.streams.getByName(c.cred.Account, *name)
	if !ok {
		return streamRecord{}, errStreamNotFound()
	}
	return s, nil
}

// validateTagMap checks a ResourceTags map (1–50 entries, the TagKey and
// TagValue patterns), keys in order so the message is stable.
func validateTagMap(v *validator, field string, tags map[string]string) {
	if n := len(tags); n < 1 || n > maxTags {
		v.add(field, n, fmt.Sprintf("have length between 1 and %d", maxTags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		val := tags[k]
		v.str(field+".key", &k, 1, 128, reTagKey, patTagKey)
		v.str(field+".value", &val, 0, 256, reTagValue, patTagValue)
	}
}

func (c *call) tagStream() (any, *apiError) {
	var in struct {
		StreamARN  *string           `json:"StreamARN"`
		StreamName *string           `json:"StreamName"`
		Tags       map[string]string `json:"Tags"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("tags", in.Tags != nil)
	if in.Tags != nil {
		validateTagMap(&v, "tags", in.Tags)
	}
	s, aerr := c.streamTarget(&v, in.StreamName, in.StreamARN, "kinesisvideo:TagStream")
	if aerr != nil {
		return nil, aerr
	}
	return c.updateStreamTags(s.ARN, func(tags map[string]string) *apiError {
		maps.Copy(tags, in.Tags)
		if len(tags) > maxTags {
			return &apiError{Status: 400, Code: "TagsPerResourceExceededLimitException",
				Message: fmt.Sprintf("The stream would have %d tags; the limit is %d.", len(tags), maxTags)}
		}
		return nil
	})
}

func (c *call) untagStream() (any, *apiError) {
	var in struct {
		StreamARN  *string  `json:"StreamARN"`
		StreamName *string  `json:"StreamName"`
		TagKeyList []string `json:"TagKeyList"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("tagKeyList", in.TagKeyList != nil)
	if in.TagKeyList != nil && (len(in.TagKeyList) < 1 || len(in.TagKeyList) > maxTags) {
		v.add("tagKeyList", len(in.TagKeyList), fmt.Sprintf("have length between 1 and %d", maxTags))
	}
	for i := range in.TagKeyList {
		v.str(fmt.Sprintf("tagKeyList.%d.member", i+1), &in.TagKeyList[i], 1, 128, reTagKey, patTagKey)
	}
	s, aerr := c.streamTarget(&v, in.StreamName, in.StreamARN, "kinesisvideo:UntagStream")
	if aerr != nil {
		return nil, aerr
	}
	return c.updateStreamTags(s.ARN, func(tags map[string]string) *apiError {
		for _, k := range in.TagKeyList {
			delete(tags, k)
		}
		return nil
	})
}

func (c *call) listTagsForStream() (any, *apiError) {
	var in struct {
		NextToken  *string `json:"NextToken"`
		StreamARN  *string `json:"StreamARN"`
		StreamName *string `json:"StreamName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.str("nextToken", in.NextToken, 0, 1024, reNextToken, patNextToken)
	s, aerr := c.streamTarget(&v, in.StreamName, in.StreamARN, "kinesisvideo:ListTagsForStream")
	if aerr != nil {
		return nil, aerr
	}
	// At most 50 tags: one page, no NextToken (as ListTagsForResource).
	return struct {
		Tags map[string]string `json:"Tags,omitempty"`
	}{s.Tags}, nil
}

// updateStreamTags applies edit to a copy of the stream's tags and stores
// the result unless edit refuses it.
func (c *call) updateStreamTags(arn string, edit func(map[string]string) *apiError) (any, *apiError) {
	st := c.e.streams
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.byARN[arn]
	if !ok || r.Account != c.cred.Account {
		return nil, errStreamNotFound()
	}
	next := maps.Clone(r.Tags)
	if next == nil {
		next = map[string]string{}
	}
	if aerr := edit(next); aerr != nil {
		return nil, aerr
	}
	updated := r.clone()
	updated.Tags = next
	if len(next) == 0 {
		updated.Tags = nil
	}
	if err := st.persist(&updated); err != nil {
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not store the stream", Lower: true}
	}
	st.index(&updated)
	return struct{}{}, nil
}
