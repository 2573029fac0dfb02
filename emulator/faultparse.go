package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultSyntax describes the text form of a Fault, for help texts. The
// same form is taken by `kvsrtc emulator --fault` and by the admin API.
const FaultSyntax = `KIND[:FIELD]... where KIND is one of
  delay, drop, duplicate, reorder   relayed signaling frames (rules)
  refuse                            the next connects or REST calls (a rule)
  goaway, close, reconnect-ice, expire-turn, clock, kill   (at once)
and FIELD is any of
  wss                      frames on the signaling WebSocket (the default)
  to-master | to-viewer    direction of the frames (default both)
  0.1                      probability a matching frame is hit (default 1)
  200ms                    delay; reorder's longest hold (1s); clock's shift
  count=N                  frames hit / calls refused (default all / 1)
  channel=NAME|ARN         one channel (default all)
  action=SDP_OFFER         SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE only
  connect | rest           what refuse refuses (WSS upgrades or HTTPS calls)
  op=GetIceServerConfig    refuse only this operation
  403                      refuse's HTTP status: 400 403 404 429 500 503
  code=X, message=Y        refuse's error code and message
  client=ID                the viewer kill cuts (default the master)
Examples: drop:wss:to-master:0.1  delay:to-viewer:300ms  reorder:action=ICE_CANDIDATE
  refuse:connect:count=3:403  refuse:rest:op=GetIceServerConfig:429  clock:-10m
  kill:channel=demo  kill:client=viewer-1  goaway:channel=demo  expire-turn`

// ParseFault parses the text form of a fault (FaultSyntax), e.g.
// "drop:wss:to-master:0.1". The result is checked as Inject checks it.
func ParseFault(s string) (Fault, error) {
	bad := func(format string, args ...any) (Fault, error) {
		return Fault{}, fmt.Errorf("%w: %q: %s", ErrBadFault, s, fmt.Sprintf(format, args...))
	}
	tokens := strings.Split(strings.TrimSpace(s), ":")
	var f Fault
	for i, name := range faultNames {
		if i > 0 && strings.EqualFold(tokens[0], name) {
			f.Kind = FaultKind(i)
		}
	}
	if f.Kind == FaultUnknown {
		return bad("unknown kind %q; want one of %s", tokens[0], strings.Join(faultNames[1:], ", "))
	}
	for i := 1; i < len(tokens); i++ {
		tok := tokens[i]
		key, val, isKV := strings.Cut(tok, "=")
		if isKV {
			if key == "channel" && strings.HasPrefix(val, "arn") {
				// An ARN has 6 colon-separated parts; rejoin them.
				for strings.Count(val, ":") < 5 && i+1 < len(tokens) {
					i++
					val += ":" + tokens[i]
				}
			}
			switch key {
			case "count":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 {
					return bad("count %q: want a whole number, 0 or more", val)
				}
				f.Count = n
			case "channel":
				f.ChannelARN = val
			case "action":
				f.Action = strings.ToUpper(val)
			case "op":
				f.Operation = val
			case "code":
				f.Code = val
			case "message":
				f.Message = val
			case "client":
				f.ClientID = val
			default:
				return bad("unknown field %q", key)
			}
			continue
		}
		switch strings.ToLower(tok) {
		case "wss", "":
			continue
		case "to-master":
			f.Direction = ToMaster
			continue
		case "to-viewer":
			f.Direction = ToViewer
			continue
		case "any":
			f.Direction = AnyDirection
			continue
		case "connect", "connects":
			f.Target = RefuseConnects
			continue
		case "rest":
			f.Target = RefuseREST
			continue
		}
		if d, err := time.ParseDuration(tok); err == nil && strings.IndexFunc(tok, isUnit) >= 0 {
			f.Delay = d
			continue
		}
		if n, err := strconv.Atoi(tok); err == nil && n >= 100 {
			f.Status = n
			continue
		}
		if p, err := strconv.ParseFloat(tok, 64); err == nil {
			if p <= 0 || p > 1 {
				return bad("probability %v: want a number in (0, 1]", p)
			}
			f.Probability = p
			continue
		}
		return bad("field %q: not a direction, duration, probability, status or key=value", tok)
	}
	if _, err := f.normalize(); err != nil {
		return Fault{}, fmt.Errorf("%q: %w", s, err)
	}
	return f, nil
}

func isUnit(r rune) bool {
	return r == 's' || r == 'm' || r == 'h' || r == 'u' || r == 'n' || r == 'µ'
}
