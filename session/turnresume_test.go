package session

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// TestTURNTLSResumes: a second TLS connection to the same turns: server
// resumes the session the first one got a ticket for (turnTLSSessions), and
// is still verified against the HTTPClient's CA.
func TestTURNTLSResumes(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	o := &Options{HTTPClient: emulatortest.HTTPClient(e), WaitTURNPermissions: true}
	tt := newTURNTLS(o)
	addr := e.TURN().TLSAddr().String()
	tt.tls[addr] = true
	dial := func() *tls.Conn {
		t.Helper()
		c, err := tt.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc := c.(*tls.Conn)
		// A Binding request and its answer: the client reads the ticket
		// the server sent after the handshake on the way.
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := tc.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		if _, err := tc.Read(buf); err != nil {
			t.Fatal(err)
		}
		return tc
	}
	first := dial()
	defer first.Close()
	if first.ConnectionState().DidResume {
		t.Fatal("the first connection cannot resume")
	}
	second := dial()
	defer second.Close()
	if !second.ConnectionState().DidResume {
		t.Fatal("the second connection to the same TURN server did not resume")
	}

	// A server the CA does not vouch for is refused, resumed or not.
	bad := newTURNTLS(&Options{WaitTURNPermissions: true}) // system pool only
	bad.tls[addr] = true
	if c, err := bad.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a TURN server outside the trusted CAs was accepted")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("refusal %v, want it to name the certificate", err)
	}
}
