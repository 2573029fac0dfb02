package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// operation is a named API operation.
type operation struct {
	name string
	run  func(*call) (any, *apiError)
}

var (
	reRegion  = regexp.MustCompile(`^[a-z0-9-]+$`)
	reAccount = regexp.MustCompile(`^[0-9]{12}$`)
)

// Limits of the model and the service's quotas (spec §1.2, §7).
const (
	defaultTTL          = 60
	minTTL, maxTTL      = 5, 120
	maxTags             = 50
	defaultListLimit    = 500
	channelLimitLarge   = 10000 // us-east-1, us-west-2
	channelLimitDefault = 5000
)

// controlOps are the control-plane operations (service kinesisvideo,
// API 2017-09-30), keyed by their path (spec §1.3).
var controlOps = map[string]operation{
	"CreateSignalingChannel":            {"CreateSignalingChannel", (*call).createSignalingChannel},
	"DescribeSignalingChannel":          {"DescribeSignalingChannel", (*call).describeSignalingChannel},
	"ListSignalingChannels":             {"ListSignalingChannels", (*call).listSignalingChannels},
	"UpdateSignalingChannel":            {"UpdateSignalingChannel", (*call).updateSignalingChannel},
	"DeleteSignalingChannel":            {"DeleteSignalingChannel", (*call).deleteSignalingChannel},
	"GetSignalingChannelEndpoint":       {"GetSignalingChannelEndpoint", (*call).getSignalingChannelEndpoint},
	"TagResource":                       {"TagResource", (*call).tagResource},
	"UntagResource":                     {"UntagResource", (*call).untagResource},
	"ListTagsForResource":               {"ListTagsForResource", (*call).listTagsForResource},
	"DescribeMediaStorageConfiguration": {"DescribeMediaStorageConfiguration", (*call).describeMediaStorageConfiguration},
	"UpdateMediaStorageConfiguration":   {"UpdateMediaStorageConfiguration", (*call).updateMediaStorageConfiguration},
}

func init() {
	// The paths are lower camel case except the three tag operations (§1.3
	// item 9): /createSignalingChannel but /TagResource.
	for name, op := range controlOps {
		if !strings.HasSuffix(name, "Resource") {
			delete(controlOps, name)
			controlOps[strings.ToLower(name[:1])+name[1:]] = op
		}
	}
}

// channelInfo is the ChannelInfo shape, members in model order (§1.3 item 2:
// the C SDK's parser wants ChannelInfo first and SingleMasterConfiguration
// holding only MessageTtlSeconds).
type channelInfo struct {
	ChannelName               string       `json:"ChannelName"`
	ChannelARN                string       `json:"ChannelARN"`
	ChannelType               string       `json:"ChannelType"`
	ChannelStatus             string       `json:"ChannelStatus"`
	CreationTime              epochSeconds `json:"CreationTime"`
	SingleMasterConfiguration struct {
		MessageTtlSeconds int `json:"MessageTtlSeconds"`
	} `json:"SingleMasterConfiguration"`
	Version string `json:"Version"`
}

// epochSeconds is a restJson1 timestamp: a JSON number of epoch seconds
// (§1.2: Go v2 rejects strings), here with millisecond precision.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func infoOf(c channelRecord) channelInfo {
	ci := channelInfo{ChannelName: c.Name, ChannelARN: c.ARN, ChannelType: c.Type, ChannelStatus: c.Status,
		CreationTime: epochSeconds(c.CreationTime), Version: c.Version}
	ci.SingleMasterConfiguration.MessageTtlSeconds = c.TTLSeconds
	return ci
}

func (c *call) channelResource(name string) string {
	return fmt.Sprintf("arn:%s:kinesisvideo:%s:%s:channel/%s/*", c.e.partition, c.e.opts.Region, c.cred.Account, name)
}

// lookup finds the caller's channel by ARN; channels of other accounts
// and regions do not exist for the caller.
func (c *call) lookup(arn string) (channelRecord, *apiError) {
	ch, ok := c.e.store.get(arn)
	if !ok || ch.Account != c.cred.Account {
		return channelRecord{}, errChannelNotFound()
	}
	return ch, nil
}

func newVersion() string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		b[i] = alnum[n.Int64()]
	}
	return string(b)
}

func (c *call) createSignalingChannel() (any, *apiError) {
	var in struct {
		ChannelName               *string   `json:"ChannelName"`
		ChannelType               *string   `json:"ChannelType"`
		SingleMasterConfiguration *smConfig `json:"SingleMasterConfiguration"`
		Tags                      []tag     `json:"Tags"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelName", in.ChannelName != nil)
	v.str("channelName", in.ChannelName, 1, 256, reChannelName, patChannelName)
	v.enum("channelType", in.ChannelType, "SINGLE_MASTER", "FULL_MESH")
	if in.SingleMasterConfiguration != nil {
		v.intRange("singleMasterConfiguration.messageTtlSeconds", in.SingleMasterConfiguration.MessageTtlSeconds, minTTL, maxTTL)
	}
	if in.Tags != nil {
		validateTags(&v, "tags", in.Tags, 0)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:CreateSignalingChannel", c.channelResource(*in.ChannelName), false); err != nil {
		return nil, err
	}
	if in.ChannelType != nil && *in.ChannelType == "FULL_MESH" {
		// UNCONFIRMED (§1.2, §10 item 10): the docs say only SINGLE_MASTER
		// is supported.
		return nil, errInvalidArgument("ChannelType FULL_MESH is not supported; use SINGLE_MASTER")
	}
	limit := channelLimitDefault
	if r := c.e.opts.Region; r == "us-east-1" || r == "us-west-2" {
		limit = channelLimitLarge
	}
	if c.e.store.count(c.cred.Account) >= limit {
		return nil, &apiError{Status: 400, Code: "AccountChannelLimitExceededException",
			Message: fmt.Sprintf("The account has reached its limit of %d signaling channels in %s.", limit, c.e.opts.Region)}
	}
	ttl := defaultTTL
	if in.SingleMasterConfiguration != nil && in.SingleMasterConfiguration.MessageTtlSeconds != nil {
		ttl = *in.SingleMasterConfiguration.MessageTtlSeconds
	}
	created := c.now.Truncate(time.Millisecond)
	ch := channelRecord{
		Account: c.cred.Account,
		Name:    *in.ChannelName,
		// §1.5: the suffix is the creation instant in epoch milliseconds,
		// 13 digits; CreationTime carries the same instant (§13).
		ARN: fmt.Sprintf("arn:%s:kinesisvideo:%s:%s:channel/%s/%013d",
			c.e.partition, c.e.opts.Region, c.cred.Account, *in.ChannelName, created.UnixMilli()),
		Type:         "SINGLE_MASTER",
		Status:       "ACTIVE", // §1.3: ACTIVE at once; no client polls for it
		CreationTime: created,
		TTLSeconds:   ttl,
		Version:      newVersion(),
	}
	if len(in.Tags) > 0 {
		ch.Tags = map[string]string{}
		for _, t := range in.Tags {
			ch.Tags[*t.Key] = *t.Value
		}
	}
	ok, err := c.e.store.create(ch)
	if err != nil {
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not store the channel", Lower: true}
	}
	if !ok {
		return nil, errInUse("The signaling channel %s already exists.", ch.Name)
	}
	return struct {
		ChannelARN string `json:"ChannelARN"`
	}{ch.ARN}, nil
}

// channelByNameOrARN resolves the ChannelName/ChannelARN pair of Describe*.
func (c *call) channelByNameOrARN(name, arn *string, action string) (channelRecord, *apiError) {
	var v validator
	v.str("channelName", name, 1, 256, reChannelName, patChannelName)
	v.str("channelARN", arn, 1, 1024, reARN, patARN)
	if err := v.err(); err != nil {
		return channelRecord{}, err
	}
	switch {
	case name == nil && arn == nil:
		// UNCONFIRMED (§1.3 item 2): neither given.
		return channelRecord{}, errInvalidArgument("Either ChannelName or ChannelARN must be specified.")
	case name != nil && arn != nil:
		return channelRecord{}, errInvalidArgument("Specify either ChannelName or ChannelARN, not both.")
	}
	resource := ""
	if arn != nil {
		resource = *arn
	} else {
		resource = c.channelResource(*name)
	}
	if err := c.authorize(action, resource, false); err != nil {
		return channelRecord{}, err
	}
	if arn != nil {
		return c.lookup(*arn)
	}
	ch, ok := c.e.store.getByName(c.cred.Account, *name)
	if !ok {
		return channelRecord{}, errChannelNotFound()
	}
	return ch, nil
}

func (c *call) describeSignalingChannel() (any, *apiError) {
	var in struct {
		ChannelName *string `json:"ChannelName"`
		ChannelARN  *string `json:"ChannelARN"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	ch, err := c.channelByNameOrARN(in.ChannelName, in.ChannelARN, "kinesisvideo:DescribeSignalingChannel")
	if err != nil {
		return nil, err
	}
	return struct {
		ChannelInfo channelInfo `json:"ChannelInfo"`
	}{infoOf(ch)}, nil
}

func (c *call) listSignalingChannels() (any, *apiError) {
	var in struct {
		MaxResults           *int           `json:"MaxResults"`
		NextToken            *string        `json:"NextToken"`
		ChannelNameCondition *nameCondition `json:"ChannelNameCondition"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	pg, err := c.listInput(in.MaxResults, in.NextToken, in.ChannelNameCondition, "channelNameCondition", "after:",
		"kinesisvideo:ListSignalingChannels", false)
	if err != nil {
		return nil, err
	}
	page, more := c.e.store.list(c.cred.Account, pg.prefix, pg.after, pg.limit)
	out := struct {
		ChannelInfoList []channelInfo `json:"ChannelInfoList"`
		NextToken       string        `json:"NextToken,omitempty"`
	}{ChannelInfoList: []channelInfo{}}
	for _, ch := range page {
		out.ChannelInfoList = append(out.ChannelInfoList, infoOf(ch))
	}
	if more {
		out.NextToken = pg.token(page[len(page)-1].Name)
	}
	return out, nil
}

// nameCondition is the models' ChannelNameCondition and StreamNameCondition.
type nameCondition struct {
	ComparisonOperator *string `json:"ComparisonOperator"`
	ComparisonValue    *string `json:"ComparisonValue"`
}

// listPage is the page a List* call asks for.
type listPage struct {
	prefix, after string // names beginning with prefix, after this one
	limit         int
	tag           string // what this list's NextTokens begin with
}

// token is the NextToken for a page that ended at name last.
func (p listPage) token(last string) string {
	return base64.StdEncoding.EncodeToString([]byte(p.tag + last))
}

// listInput checks a List* call's MaxResults, NextToken and name condition
// (field is its member name in error messages), authorizes action, then
// reads the NextToken (one this list returned: tag names the list), and
// returns the page they ask for.
func (c *call) listInput(maxResults *int, nextToken *string, cond *nameCondition, field, tag, action string, dataPlane bool) (listPage, *apiError) {
	var v validator
	v.intRange("maxResults", maxResults, 1, 10000)
	v.str("nextToken", nextToken, 0, 1024, reNextToken, patNextToken)
	pg := listPage{limit: defaultListLimit, tag: tag}
	if cond != nil {
		v.enum(field+".comparisonOperator", cond.ComparisonOperator, "BEGINS_WITH")
		v.str(field+".comparisonValue", cond.ComparisonValue, 1, 256, reChannelName, patChannelName)
		if cond.ComparisonValue != nil {
			pg.prefix = *cond.ComparisonValue
		}
	}
	if err := v.err(); err != nil {
		return listPage{}, err
	}
	if err := c.authorize(action, "*", dataPlane); err != nil {
		return listPage{}, err
	}
	if nextToken != nil && *nextToken != "" {
		b, err := base64.StdEncoding.DecodeString(*nextToken)
		if err != nil || !strings.HasPrefix(string(b), tag) {
			return listPage{}, errInvalidArgument("NextToken is not a token this service returned")
		}
		pg.after = strings.TrimPrefix(string(b), tag)
	}
	if maxResults != nil {
		pg.limit = *maxResults
	}
	return pg, nil
}

func (c *call) updateSignalingChannel() (any, *apiError) {
	var in struct {
		ChannelARN                *string   `json:"ChannelARN"`
		CurrentVersion            *string   `json:"CurrentVersion"`
		SingleMasterConfiguration *smConfig `json:"SingleMasterConfiguration"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.required("currentVersion", in.CurrentVersion != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	v.str("currentVersion", in.CurrentVersion, 1, 64, reVersion, patVersion)
	if in.SingleMasterConfiguration != nil {
		v.intRange("singleMasterConfiguration.messageTtlSeconds", in.SingleMasterConfiguration.MessageTtlSeconds, minTTL, maxTTL)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:UpdateSignalingChannel", *in.ChannelARN, false); err != nil {
		return nil, err
	}
	aerr := c.updateChannel(*in.ChannelARN, func(ch *channelRecord) *apiError {
		if ch.Version != *in.CurrentVersion {
			return &apiError{Status: 400, Code: "VersionMismatchException",
				Message: fmt.Sprintf("The version %s does not match the current version of the channel.", *in.CurrentVersion)}
		}
		if in.SingleMasterConfiguration != nil && in.SingleMasterConfiguration.MessageTtlSeconds != nil {
			ch.TTLSeconds = *in.SingleMasterConfiguration.MessageTtlSeconds
		}
		ch.Version = newVersion()
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

// updateChannel runs fn on the caller's stored channel and persists the
// result; fn's apiError aborts. A missing channel is ResourceNotFound.
func (c *call) updateChannel(arn string, fn func(*channelRecord) *apiError) *apiError {
	var aerr *apiError
	_, found, err := c.e.store.update(arn, func(ch *channelRecord) error {
		if ch.Account != c.cred.Account {
			aerr = errChannelNotFound()
		} else {
			aerr = fn(ch)
		}
		if aerr != nil {
			return aerr
		}
		return nil
	})
	switch {
	case !found:
		return errChannelNotFound()
	case aerr != nil:
		return aerr
	case err != nil:
		return &apiError{Status: 500, Code: "InternalFailure", Message: "could not store the channel", Lower: true}
	}
	return nil
}

func (c *call) deleteSignalingChannel() (any, *apiError) {
	var in struct {
		ChannelARN     *string `json:"ChannelARN"`
		CurrentVersion *string `json:"CurrentVersion"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var v validator
	v.required("channelARN", in.ChannelARN != nil)
	v.str("channelARN", in.ChannelARN, 1, 1024, reARN, patARN)
	v.str("currentVersion", in.CurrentVersion, 1, 64, reVersion, patVersion)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.authorize("kinesisvideo:DeleteSignalingChannel", *in.ChannelARN, false); err != nil {
		return nil, err
	}
	if _, err := c.lookup(*in.ChannelARN); err != nil {
		return nil, err
	}
	var aerr *apiError
	found, err := c.e.store.delete(*in.ChannelARN, func(ch *channelRecord) error {
		if in.CurrentVersion != nil && ch.Version != *in.CurrentVersion {
			aerr = &apiError{Status: 400, Code: "VersionMismatchException",
				Message: fmt.Sprintf("The version %s does not match the current version of the channel.", *in.CurrentVersion)}
			return aerr
		}
		return nil
	})
	switch {
	case !found:
		return nil, errChannelNotFound()
	case aerr != nil:
		return nil, aerr
	case err != nil:
		return nil, &apiError{Status: 500, Code: "InternalFailure", Message: "could not delete the channel", Lower: true}
	}
	c.e.relay.forget(*in.ChannelARN)
	return struct{}{}, nil
}
