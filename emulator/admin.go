package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AdminPath is where the emulator serves its admin API, on the same
// listener as the service:
//
//	POST   /_kvsrtc/faults      inject a fault: the body is its text form
//	                             (FaultSyntax) or {"fault":"…"}; answers {"id":N}
//	GET    /_kvsrtc/faults      the fault events so far, as JSON
//	DELETE /_kvsrtc/faults/N    remove rule N
//	DELETE /_kvsrtc/faults      remove every rule
//
// Every request must carry "Authorization: Bearer <AdminToken>" or be
// SigV4-signed (service kinesisvideo) by a credential the emulator
// accepts; others get 403 AccessDeniedException. Errors have the service's
// shape (X-Amzn-ErrorType and {"message":…}).
const AdminPath = "/_kvsrtc/faults"

// AdminURL is the admin API's URL (AdminPath on the emulator's URL).
func (e *Emulator) AdminURL() string { return e.url + AdminPath }

// AdminToken is the bearer token of the admin API: Options.AdminToken, or
// a random one made at Start.
func (e *Emulator) AdminToken() string { return e.adminToken }

func newAdminToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// adminEvent is a FaultEvent as the admin API shows it.
type adminEvent struct {
	ID         FaultID   `json:"id"`
	Kind       string    `json:"kind"`
	Injected   bool      `json:"injected"`
	ChannelARN string    `json:"channelArn,omitempty"`
	Direction  string    `json:"direction,omitempty"`
	Action     string    `json:"action,omitempty"`
	ClientID   string    `json:"clientId,omitempty"`
	Detail     string    `json:"detail"`
	At         time.Time `json:"at"`
}

func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, errInvalidArgument("could not read the request body"), docControlPlane)
		return
	}
	if !e.adminAuthorized(r, body) {
		writeError(w, &apiError{Status: 403, Code: "AccessDeniedException", Lower: true,
			Message: "the admin API needs Authorization: Bearer <token> (printed at start) or a SigV4 signature"}, docControlPlane)
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, AdminPath), "/")
	switch {
	case r.Method == http.MethodPost && rest == "":
		spec := string(bytes.TrimSpace(body))
		var in struct {
			Fault string `json:"fault"`
		}
		if strings.HasPrefix(spec, "{") {
			if err := json.Unmarshal(body, &in); err != nil {
				writeError(w, errInvalidArgument("want {\"fault\":\"…\"} or the fault's text form: %v", err), docControlPlane)
				return
			}
			spec = in.Fault
		}
		f, err := ParseFault(spec)
		var id FaultID
		if err == nil {
			id, err = e.Inject(f)
		}
		if err != nil {
			writeError(w, errInvalidArgument("%v", err), docControlPlane)
			return
		}
		data, _ := json.Marshal(map[string]any{"id": id, "fault": f.String()})
		writeJSON(w, http.StatusOK, data)
	case r.Method == http.MethodGet && rest == "":
		evs := e.Faults()
		out := make([]adminEvent, len(evs))
		for i, ev := range evs {
			out[i] = adminEvent{ID: ev.ID, Kind: ev.Kind.String(), Injected: ev.Injected, ChannelARN: ev.ChannelARN,
				Action: ev.Action, ClientID: ev.ClientID, Detail: ev.Detail, At: ev.At}
			if ev.Direction != AnyDirection {
				out[i].Direction = ev.Direction.String()
			}
		}
		data, _ := json.Marshal(out)
		writeJSON(w, http.StatusOK, data)
	case r.Method == http.MethodDelete && rest == "":
		e.ClearFaults()
		writeJSON(w, http.StatusOK, []byte(`{}`))
	case r.Method == http.MethodDelete:
		n, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			writeError(w, errInvalidArgument("fault id %q: want a number", rest), docControlPlane)
			return
		}
		if !e.RemoveFault(FaultID(n)) {
			writeError(w, errNotFound("no active fault rule %d", n), docControlPlane)
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{}`))
	default:
		writeError(w, errUnknownOperation(), docControlPlane)
	}
}

// adminAuthorized accepts the bearer token (constant-time) or a valid
// SigV4 signature.
func (e *Emulator) adminAuthorized(r *http.Request, body []byte) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(e.adminToken)) == 1
	}
	if r.Header.Get("Authorization") == "" {
		return false
	}
	_, err := e.verifier.VerifyHeader(r, body)
	return err == nil
}
