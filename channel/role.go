package channel

import (
	"fmt"
	"strconv"
)

// Role is the side a client takes on a signaling channel.
type Role int

// Roles. The zero value is RoleUnknown.
const (
	// RoleUnknown is the zero value: no role was chosen.
	RoleUnknown Role = iota
	// RoleMaster is the single peer that answers viewers (ConnectAsMaster).
	RoleMaster
	// RoleViewer is one of up to ten peers that call the master (ConnectAsViewer).
	RoleViewer
)

// ParseRole reads a role as a user or the wire writes it: master, MASTER,
// viewer or VIEWER. The error matches [ErrInvalidRole].
func ParseRole(s string) (Role, error) {
	switch s {
	case "master", "MASTER":
		return RoleMaster, nil
	case "viewer", "VIEWER":
		return RoleViewer, nil
	}
	return RoleUnknown, newError(ErrInvalidRole, "role %s: want master or viewer", quote(s))
}

// String gives the wire form, MASTER or VIEWER (the ChannelRole enum), or
// UNKNOWN for the zero value.
func (r Role) String() string {
	switch r {
	case RoleUnknown:
		return "UNKNOWN"
	case RoleMaster:
		return "MASTER"
	case RoleViewer:
		return "VIEWER"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText gives the wire form. RoleUnknown and out-of-range values are an
// error, so a role that was never set cannot reach the wire.
func (r Role) MarshalText() ([]byte, error) {
	if r != RoleMaster && r != RoleViewer {
		return nil, newError(ErrInvalidRole, "role %s: want master or viewer", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads a role with [ParseRole].
func (r *Role) UnmarshalText(text []byte) error {
	v, err := ParseRole(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

var _ fmt.Stringer = RoleMaster
