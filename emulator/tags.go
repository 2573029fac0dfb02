package emulator

import (
	"fmt"
)

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

func validateTags(v *validator, field string, tags []tag, min int) {
	if len(tags) < min || len(tags) > maxTags {
		v.add(field, len(tags), fmt.Sprintf("have length between %d and %d", min, maxTags))
	}
	for i, t := range tags {
		f := fmt.Sprintf("%s.%d.member", field, i+1)
		v.required(f+".key", t.Key != nil)
		v.required(f+".value", t.Value != nil)
		v.str(f+".key", t.Key, 1, 128, reTagKey, patTagKey)
		v.str(f+".value", t.Value, 0, 256, reTagValue, patTagValue)
	}
}

func (c *call) tagResource() (any, *apiError) {
	var in struct {
		ResourceARN *string `json:"ResourceARN"`
		Tags        []tag   `json:"Tags"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("resourceARN", in.ResourceARN != nil)
	v.required("tags", in.Tags != nil)
	v.str("resourceARN", in.ResourceARN, 1, 1024, reARN, patARN)
	if in.Tags != nil {
		validateTags(&v, "tags", in.Tags, 1)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:TagResource", *in.ResourceARN, false); err != nil {
		return nil, err
	}
	aerr := c.updateChannel(*in.ResourceARN, func(ch *channelRecord) *apiError {
		next := map[string]string{}
		for k, val := range ch.Tags {
			next[k] = val
		}
		for _, t := range in.Tags {
			next[*t.Key] = *t.Value
		}
		if len(next) > maxTags {
			return &apiError{Status: 400, Code: "TagsPerResourceExceededLimitException",
				Message: fmt.Sprintf("The resource would have %d tags; the limit is %d.", len(next), maxTags)}
		}
		ch.Tags = next
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

func (c *call) untagResource() (any, *apiError) {
	var in struct {
		ResourceARN *string  `json:"ResourceARN"`
		TagKeyList  []string `json:"TagKeyList"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("resourceARN", in.ResourceARN != nil)
	v.required("tagKeyList", in.TagKeyList != nil)
	v.str("resourceARN", in.ResourceARN, 1, 1024, reARN, patARN)
	if in.TagKeyList != nil && (len(in.TagKeyList) < 1 || len(in.TagKeyList) > maxTags) {
		v.add("tagKeyList", len(in.TagKeyList), fmt.Sprintf("have length between 1 and %d", maxTags))
	}
	for i := range in.TagKeyList {
		v.str(fmt.Sprintf("tagKeyList.%d.member", i+1), &in.TagKeyList[i], 1, 128, reTagKey, patTagKey)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:UntagResource", *in.ResourceARN, false); err != nil {
		return nil, err
	}
	aerr := c.updateChannel(*in.ResourceARN, func(ch *channelRecord) *apiError {
		for _, k := range in.TagKeyList {
			delete(ch.Tags, k)
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

func (c *call) listTagsForResource() (any, *apiError) {
	var in struct {
		ResourceARN *string `json:"ResourceARN"`
		NextToken   *string `json:"NextToken"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("resourceARN", in.ResourceARN != nil)
	v.str("resourceARN", in.ResourceARN, 1, 1024, reARN, patARN)
	v.str("nextToken", in.NextToken, 0, 1024, reNextToken, patNextToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:ListTagsForResource", *in.ResourceARN, false); err != nil {
		return nil, err
	}
	ch, aerr := c.lookup(*in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	// At most 50 tags: one page, no NextToken.
	return struct {
		Tags map[string]string `json:"Tags,omitempty"`
	}{ch.Tags}, nil
}
