package emulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// maxRefusing bounds the connections over the cap that are still being
// answered (TLS handshake, one error response); past it a connection over
// the cap is closed at once, unanswered.
const maxRefusing = 64

// connLimiter wraps the HTTPS/WSS listener: it counts the open
// connections in total and per source IP (Limits.MaxConns,
// Limits.MaxConnsPerSource) and marks the ones over a cap, which are
// answered with one ClientLimitExceededException and closed (the service
// answers throttling with 400 ClientLimitExceededException, never 429:
// spec §7, §5.1). It also applies Options.Latency to each connection.
type connLimiter struct {
	net.Listener
	e        *Emulator
	max, per int // <= 0: unlimited

	mu       sync.Mutex
	total    int
	bySource map[string]int
	refusing int
}

func newConnLimiter(e *Emulator, ln net.Listener) *connLimiter {
	return &connLimiter{Listener: ln, e: e, max: e.opts.Limits.MaxConns, per: e.opts.Limits.MaxConnsPerSource,
		bySource: map[string]int{}}
}

// Accept returns the next connection, marked when it is over a cap.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := sourceIP(c.RemoteAddr())
		l.mu.Lock()
		var reason string
		switch {
		case l.max > 0 && l.total >= l.max:
			reason = fmt.Sprintf("the emulator has %d connections open, its limit (Limits.MaxConns)", l.total)
		case l.per > 0 && l.bySource[src] >= l.per:
			reason = fmt.Sprintf("%s has %d connections open, the limit per source (Limits.MaxConnsPerSource)", src, l.bySource[src])
		}
		if reason != "" && l.refusing >= maxRefusing {
			l.mu.Unlock()
			c.Close()
			continue
		}
		if reason != "" {
			l.refusing++
		} else {
			l.total++
			l.bySource[src]++
		}
		l.mu.Unlock()
		if reason != "" {
			l.e.log.Debug("connection over the cap", "src", src, "reason", reason)
		}
		return &limitedConn{Conn: l.e.delayConn(c), l: l, src: src, refused: reason}, nil
	}
}

func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.refused != "" {
		l.refusing--
		return
	}
	l.total--
	if l.bySource[c.src]--; l.bySource[c.src] <= 0 {
		delete(l.bySource, c.src)
	}
}

// Open is how many connections are open and counted against the caps.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func sourceIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// limitedConn is a counted connection; refused says why it is over a cap.
type limitedConn struct {
	net.Conn
	l       *connLimiter
	src     string
	refused string
	once    sync.Once
}

// Close closes the connection and gives back its place under the caps.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

type refusedConnKey struct{}

// connContext marks the requests of a connection over a cap (ServeHTTP
// answers them with refusedConn).
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok && lc.refused != "" {
		return context.WithValue(ctx, refusedConnKey{}, lc.refused)
	}
	return ctx
}

// refusedConn is the answer to a request on a connection over a cap, or
// nil; the connection is closed after it.
func refusedConn(w http.ResponseWriter, r *http.Request) *apiError {
	reason, ok := r.Context().Value(refusedConnKey{}).(string)
	if !ok {
		return nil
	}
	w.Header().Set("Connection", "close")
	return &apiError{Status: 400, Code: "ClientLimitExceededException", Message: "too many connections: " + reason, Lower: true}
}
