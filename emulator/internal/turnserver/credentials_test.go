package turnserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// newOffline builds a Server for credential checks without sockets.
func newOffline(secret []byte, now func() time.Time) *Server {
	o := Options{Secret: secret, Now: now}.withDefaults()
	return &Server{opts: o, log: o.Logger}
}

const testARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"

func TestCredentialsFormat(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	clock := newFakeClock()
	s := newOffline(secret, clock.Now)

	user, pass, expires := s.Credentials(300*time.Second, "v1:"+testARN)

	wantExp := clock.Now().Add(300 * time.Second)
	if !expires.Equal(wantExp) {
		t.Errorf("expires = %v, want %v", expires, wantExp)
	}
	secs, b64, ok := strings.Cut(user, ":")
	if !ok {
		t.Fatalf("username %q has no colon", user)
	}
	if secs != strconv.FormatInt(wantExp.Unix(), 10) {
		t.Errorf("expiry part = %q, want %d", secs, wantExp.Unix())
	}
	id, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || string(id) != "v1:"+testARN {
		t.Errorf("user id part decodes to %q, %v; want %q", id, err, "v1:"+testARN)
	}
	raw, err := base64.StdEncoding.DecodeString(pass)
	if err != nil || len(raw) != sha256.Size {
		t.Fatalf("password is %d bytes of base64 (err %v), want %d", len(raw), err, sha256.Size)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(user))
	if !hmac.Equal(raw, mac.Sum(nil)) {
		t.Error("password is not HMAC-SHA256(secret, username)")
	}
	if len(user) > 256 || len(pass) > 256 {
		t.Errorf("username %d / password %d chars, KVS clients take at most 256", len(user), len(pass))
	}
}

func TestCredentialsRoundDown(t *testing.T) {
	clock := newFakeClock()
	clock.Set(clock.Now().Add(700 * time.Millisecond))
	s := newOffline([]byte("k"), clock.Now)
	_, _, expires := s.Credentials(time.Minute, "u")
	if want := clock.Now().Add(time.Minute).Truncate(time.Second); !expires.Equal(want) {
		t.Errorf("expires = %v, want %v (whole seconds, rounded down)", expires, want)
	}
}

func TestVerify(t *testing.T) {
	clock := newFakeClock()
	s := newOffline([]byte("secret"), clock.Now)
	user, pass, expires := s.Credentials(time.Minute, "v1:"+testARN)
	other := newOffline([]byte("other secret"), clock.Now)
	_, otherPass, _ := other.Credentials(time.Minute, "v1:"+testARN)

	tests := []struct {
		name     string
		username string
		password string
		now      time.Time
		want     error
	}{
		{"valid", user, pass, clock.Now(), nil},
		{"valid at expiry", user, pass, expires, nil},
		{"expired one second later", user, pass, expires.Add(time.Second), ErrCredentialsExpired},
		{"expired a nanosecond later", user, pass, expires.Add(time.Nanosecond), ErrCredentialsExpired},
		{"wrong password", user, "AAAA" + pass[4:], clock.Now(), ErrWrongPassword},
		{"other secret", user, otherPass, clock.Now(), ErrWrongPassword},
		{"empty password", user, "", clock.Now(), ErrWrongPassword},
		{"no colon", "1700000000", pass, clock.Now(), ErrMalformedUsername},
		{"empty user id", "1700000000:", pass, clock.Now(), ErrMalformedUsername},
		{"empty expiry", ":dXNlcg==", pass, clock.Now(), ErrMalformedUsername},
		{"signed expiry", "+99999999999:dXNlcg==", pass, clock.Now(), ErrMalformedUsername},
		{"negative expiry", "-1:dXNlcg==", pass, clock.Now(), ErrMalformedUsername},
		{"expiry overflows", "99999999999999999999:dXNlcg==", pass, clock.Now(), ErrMalformedUsername},
		{"user id not base64", "99999999999:not base64!", pass, clock.Now(), ErrMalformedUsername},
		{"user id unpadded", "99999999999:dXNlcg", pass, clock.Now(), ErrMalformedUsername},
		{"too long", "99999999999:" + strings.Repeat("A", 600), pass, clock.Now(), ErrMalformedUsername},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Set(tt.now)
			err := s.Verify(tt.username, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// TestAuthenticate checks pion's AuthHandler directly: the key it returns
// for a good username, realm checking, and that expiry only gates Allocate.
func TestAuthenticate(t *testing.T) {
	clock := newFakeClock()
	s := newOffline([]byte("secret"), clock.Now)
	user, pass, expires := s.Credentials(time.Minute, "v1:"+testARN)
	wantKey := turn.GenerateAuthKey(user, DefaultRealm, pass)

	tests := []struct {
		name     string
		username string
		realm    string
		method   stun.Method
		now      time.Time
		ok       bool
	}{
		{"allocate", user, DefaultRealm, stun.MethodAllocate, clock.Now(), true},
		{"allocate expired", user, DefaultRealm, stun.MethodAllocate, expires.Add(time.Second), false},
		{"refresh expired", user, DefaultRealm, stun.MethodRefresh, expires.Add(time.Hour), true},
		{"permission expired", user, DefaultRealm, stun.MethodCreatePermission, expires.Add(time.Hour), true},
		{"wrong realm", user, "other", stun.MethodAllocate, clock.Now(), false},
		{"malformed refresh", "nope", DefaultRealm, stun.MethodRefresh, clock.Now(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Set(tt.now)
			before := s.AuthFailures()
			id, key, ok := s.authenticate(&turn.RequestAttributes{
				Username: tt.username, Realm: tt.realm, Method: tt.method,
			})
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if got := s.AuthFailures() - before; got != 1 {
					t.Errorf("AuthFailures grew by %d, want 1", got)
				}
				return
			}
			if id != "v1:"+testARN {
				t.Errorf("user id = %q, want %q", id, "v1:"+testARN)
			}
			if !hmac.Equal(key, wantKey) {
				t.Error("key is not the long-term key of username, realm, password")
			}
		})
	}
}

func TestOptionsNotChanged(t *testing.T) {
	secret := []byte("caller's secret")
	opts := Options{Secret: secret}
	o := opts.withDefaults()
	o.Secret[0] = 'X'
	if string(secret) != "caller's secret" || opts.IP != "" || opts.Now != nil {
		t.Error("withDefaults changed the caller's options")
	}
}

func BenchmarkCredentials(b *testing.B) {
	s := newOffline([]byte("0123456789abcdef0123456789abcdef"), time.Now)
	for b.Loop() {
		s.Credentials(300*time.Second, "v1:"+testARN)
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newOffline([]byte("0123456789abcdef0123456789abcdef"), time.Now)
	user, pass, _ := s.Credentials(300*time.Second, "v1:"+testARN)
	for b.Loop() {
		if err := s.Verify(user, pass); err != nil {
			b.Fatal(err)
		}
	}
}
