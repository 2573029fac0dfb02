package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/sigv4"
)

// maxBody bounds request bodies. The model's largest input (50 tags) is a
// few KB; 1 MiB leaves room and refuses abuse.
const maxBody = 1 << 20

// ServeHTTP serves the control plane, the data plane and WSS.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// §8 item 3: Date (the clients' skew reference) and a request id on
	// every response, errors included.
	h.Set("Date", e.now().UTC().Format(http.TimeFormat))
	h.Set("X-Amzn-Requestid", newRequestID())
	if origin := r.Header.Get("Origin"); origin != "" {
		// §8 item 4: CORS for browser clients.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date")
		h.Add("Vary", "Origin")
	}
	if aerr := refusedConn(w, r); aerr != nil {
		writeError(w, aerr, docControlPlane)
		return
	}
	if strings.HasPrefix(r.URL.Path, AdminPath) {
		e.serveAdmin(w, r) // admin.go
		return
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusOK)
		return
	}
	if p := r.URL.Path; r.Method == http.MethodGet && len(p) > 3 && (p[:3] == "/m-" || p[:3] == "/v-") {
		aerr := e.faults.refusal(RefuseConnects, connectOperation(p[1]))
		if aerr != nil {
			e.count(connectOperation(p[1]))
		} else {
			aerr = e.relay.serveWSS(w, r, p[1])
		}
		if aerr != nil {
			e.log.Debug("upgrade refused", "status", aerr.Status, "code", aerr.Code)
			// A refused upgrade ends the connection: a WebSocket client
			// never sends a second request on it, and keeping it open
			// let refused clients pile up (issue 11).
			h.Set("Connection", "close")
			writeError(w, aerr, docDataPlane)
		}
		return
	}
	route, doc := e.route(r)
	if route == nil {
		e.count("Unknown")
		writeError(w, errUnknownOperation(), docControlPlane)
		return
	}
	e.count(route.name)
	aerr := e.faults.refusal(RefuseREST, route.name)
	if aerr == nil {
		aerr = e.serveOperation(r, route)
	}
	if aerr != nil {
		e.log.Debug("refused", "op", route.name, "code", aerr.Code, "status", aerr.Status)
		writeError(w, aerr, doc)
		return
	} else if route.respond != nil {
		route.respond(w)
	}
}

func connectOperation(kind byte) string {
	if kind == 'm' {
		return "ConnectAsMaster"
	}
	return "ConnectAsViewer"
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// call is one authenticated request being served.
type call struct {
	e    *Emulator
	r    *http.Request
	cred Credential
	body []byte
	now  time.Time
}

// route is a resolved operation: how to decode, authorize and run it.
type route struct {
	name    string
	run     func(c *call) (any, *apiError)
	respond func(http.ResponseWriter) // set by serveOperation on success
}

func (e *Emulator) serveOperation(r *http.Request, rt *route) *apiError {
	if r.Method != http.MethodPost {
		return errUnknownOperation()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errInvalidArgument("could not read the request body")
	}
	if len(body) > maxBody {
		return errInvalidArgument("the request body exceeds %d bytes", maxBody)
	}
	sig, err := e.verifier.VerifyHeader(r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return &apiError{Status: http.StatusForbidden, Code: string(se.Code), Message: se.Message, Lower: true}
		}
		return &apiError{Status: http.StatusForbidden, Code: string(sigv4.CodeIncompleteSignature), Message: "malformed signature", Lower: true}
	}
	c := &call{e: e, r: r, cred: e.mustCredential(sig.AccessKeyID), body: body, now: e.now()}
	out, aerr := rt.run(c)
	if aerr != nil {
		return aerr
	}
	if s, ok := out.(streamed); ok { // a media payload (media.go)
		rt.respond = s
		return nil
	}
	data, err := json.Marshal(out)
	if _, ok := out.(noContent); ok {
		data = nil // no output shape: 200 with an empty body
	}
	if err != nil {
		return &apiError{Status: 500, Code: "InternalFailure", Message: "could not encode the response", Lower: true}
	}
	rt.respond = func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, data) }
	return nil
}

// decode reads the JSON body into v: unknown fields, wrong types and bad
// JSON are InvalidArgumentException (§1.1: an empty body means {}).
func (c *call) decode(v any) *apiError {
	body := bytes.TrimSpace(c.body)
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return errInvalidArgument("Value at '%s' has the wrong JSON type: want %s, got %s", te.Field, te.Type, te.Value)
		case errors.As(err, &se):
			return errInvalidArgument("Could not parse the request body: %v at offset %d", se, se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errInvalidArgument("Unrecognized field %s in the request body", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return errInvalidArgument("Could not parse the request body: %v", err)
		}
	}
	if dec.More() {
		return errInvalidArgument("Could not parse the request body: data after the JSON object")
	}
	return nil
}

// authorize checks that the caller may perform action on resource, as IAM
// would, with IAM's message that names the missing action (§12 item 1).
func (c *call) authorize(action, resource string, dataPlane bool) *apiError {
	if allowed(c.cred.Actions, action) {
		return nil
	}
	msg := fmt.Sprintf("User: arn:%s:iam::%s:user/%s is not authorized to perform: %s on resource: %s",
		c.e.partition, c.cred.Account, c.cred.AccessKeyID, action, resource)
	if dataPlane {
		// The signaling model has no AccessDeniedException; its
		// authorization error is NotAuthorizedException (401).
		return &apiError{Status: 401, Code: "NotAuthorizedException", Message: msg}
	}
	// The control-plane model gives AccessDeniedException status 401 (§1.4).
	return &apiError{Status: 401, Code: "AccessDeniedException", Message: msg}
}

func allowed(actions []string, action string) bool {
	if len(actions) == 0 {
		return true
	}
	for _, a := range actions {
		if a == "*" || strings.EqualFold(a, action) {
			return true
		}
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(strings.ToLower(action), strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// route finds the operation for r; doc is the error-type doc URL to use.
func (e *Emulator) route(r *http.Request) (*route, string) {
	p := r.URL.Path
	if op, ok := controlOps[strings.TrimPrefix(p, "/")]; ok {
		return &route{name: op.name, run: op.run}, docControlPlane
	}
	if rt, ok := mediaRoute(r); ok { // a stream's data endpoint (media.go)
		return rt, docMedia
	}
	if rt, ok := storageRoute(p); ok { // WEBRTC endpoint /w-<id> (storage.go)
		return rt, docStorage
	}
	// Resource endpoints: /r-<id>/v1/... (HTTPS data plane), §2.2.
	if rest, ok := strings.CutPrefix(p, "/"); ok {
		prefix, op, _ := strings.Cut(rest, "/")
		if len(prefix) > 2 && prefix[:2] == "r-" {
			if op, ok := dataOps["/"+op]; ok {
				return &route{name: op.name, run: op.run}, docDataPlane
			}
		}
	}
	return nil, docControlPlane
}
