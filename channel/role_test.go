package channel

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Role
		msg  string
	}{
		{"master", "master", RoleMaster, ""},
		{"MASTER", "MASTER", RoleMaster, ""},
		{"viewer", "viewer", RoleViewer, ""},
		{"VIEWER", "VIEWER", RoleViewer, ""},
		{"empty", "", RoleUnknown, `role "": want master or viewer`},
		{"mixed case", "Master", RoleUnknown, `role "Master": want master or viewer`},
		{"other", "publisher", RoleUnknown, `role "publisher": want master or viewer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			checkErr(t, err, ErrInvalidRole, tt.msg)
			if got != tt.want {
				t.Errorf("ParseRole(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRoleString(t *testing.T) {
	tests := []struct {
		name string
		r    Role
		want string
	}{
		{"unknown", RoleUnknown, "UNKNOWN"},
		{"master", RoleMaster, "MASTER"},
		{"viewer", RoleViewer, "VIEWER"},
		{"out of range", Role(9), "Role(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRoleJSON(t *testing.T) {
	type msg struct {
		Role Role `json:"role"`
	}
	tests := []struct {
		name string
		r    Role
		json string
		err  bool
	}{
		{"master", RoleMaster, `{"role":"MASTER"}`, false},
		{"viewer", RoleViewer, `{"role":"VIEWER"}`, false},
		{"unknown", RoleUnknown, "", true},
		{"out of range", Role(3), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(msg{tt.r})
			if tt.err {
				if err == nil || !errors.Is(err, ErrInvalidRole) {
					t.Fatalf("Marshal = %s, %v; want an ErrInvalidRole", b, err)
				}
				return
			}
			if err != nil || string(b) != tt.json {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tt.json)
			}
			var back msg
			if err := json.Unmarshal(b, &back); err != nil || back.Role != tt.r {
				t.Fatalf("Unmarshal(%s) = %v, %v", b, back.Role, err)
			}
		})
	}
	var m msg
	if err := json.Unmarshal([]byte(`{"role":"boss"}`), &m); !errors.Is(err, ErrInvalidRole) {
		t.Errorf("Unmarshal of a bad role: %v, want ErrInvalidRole", err)
	}
}
