package emulator_test

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// rawConn is a client connection that speaks HTTP/1.1 by hand, so a test
// sees exactly when the server closes it.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// dialRaw opens a TLS connection to the emulator.
func dialRaw(e *emulator.Emulator) (*rawConn, error) {
	addr := strings.TrimPrefix(e.URL(), "https://")
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c, br: bufio.NewReader(c)}, nil
}

// roundTrip writes a raw request and reads its response (body drained).
func (c *rawConn) roundTrip(req string) (*http.Response, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

// waitClosed waits up to bound for the server to close the connection
// and reports a timeout as an error.
func (c *rawConn) waitClosed(bound time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(bound))
	_, err := c.br.ReadByte()
	var ne net.Error
	switch {
	case err == nil:
		return errors.New("server sent more bytes instead of closing")
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("still open after %v", bound)
	}
	return nil // EOF or reset: closed
}

const unsignedPOST = "POST /ListSignalingChannels HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"

// 500 clients that sent one request and went quiet are closed after the
// keep-alive idle timeout (issue 11: they held 517 fds forever).
func TestIdleKeepAliveClosed(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{Limits: emulator.Limits{HTTPIdleTimeout: 300 * time.Millisecond}})
	conns := make([]*rawConn, 500)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var g errgroup.Group
	g.SetLimit(16)
	for i := range conns {
		g.Go(func() error {
			c, err := dialRaw(e)
			if err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
			conns[i] = c
			resp, err := c.roundTrip(unsignedPOST)
			if err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
			if resp.StatusCode < 400 || resp.Close {
				return fmt.Errorf("client %d: want a keep-alive error response, got %d (close %v)", i, resp.StatusCode, resp.Close)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	waitAllClosed(t, conns, 20*time.Second)
}

// waitAllClosed checks that the server closes every connection within
// one shared bound.
func waitAllClosed(t *testing.T, conns []*rawConn, bound time.Duration) {
	t.Helper()
	errs := make(chan error, len(conns))
	for i, c := range conns {
		go func() {
			if err := c.waitClosed(bound); err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
				return
			}
			errs <- nil
		}()
	}
	var open int
	var first error
	for range conns {
		if err := <-errs; err != nil {
			open++
			first = cmp.Or(first, err)
		}
	}
	if open > 0 {
		t.Fatalf("%d of %d connections not closed by the server: %v", open, len(conns), first)
	}
}

// A refused WSS upgrade is answered with the service's error and the
// connection is closed (issue 11: 2,000 refused upgrades stayed open).
func TestRefusedUpgradeClosed(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{Limits: emulator.Limits{HTTPIdleTimeout: time.Hour}})
	conns := make([]*rawConn, 50)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var g errgroup.Group
	g.SetLimit(8)
	for i := range conns {
		g.Go(func() error {
			c, err := dialRaw(e)
			if err != nil {
				return err
			}
			conns[i] = c
			resp, err := c.roundTrip("GET /v-0123456789abcdef?X-Amz-ChannelARN=x HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			if err != nil {
				return fmt.Errorf("upgrade %d: %w", i, err)
			}
			if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "AccessDeniedException") {
				return fmt.Errorf("upgrade %d: want 403 AccessDeniedException, got %d %q", i, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	waitAllClosed(t, conns, 10*time.Second)
}

// A client that opens TCP and never starts TLS is cut after the
// handshake timeout.
func TestHandshakeTimeout(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{Limits: emulator.Limits{HandshakeTimeout: 200 * time.Millisecond, HTTPIdleTimeout: time.Hour}})
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(e.URL(), "https://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawConn{Conn: c, br: bufio.NewReader(c)}
	if err := rc.waitClosed(20 * time.Second); err != nil {
		t.Fatalf("connection that never sent a ClientHello: %v", err)
	}
}

// Connections over a cap get one 400 ClientLimitExceededException and are
// closed; a place freed is usable again.
func TestConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits emulator.Limits
		want   string
	}{
		{"per source", emulator.Limits{MaxConnsPerSource: 4}, "limit per source"},
		{"total", emulator.Limits{MaxConns: 4}, "Limits.MaxConns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.limits.HTTPIdleTimeout = time.Hour
			e := emulatortest.Start(t, emulator.Options{Limits: tc.limits})
			var held []*rawConn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for i := range 4 {
				c, err := dialRaw(e)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				if resp, err := c.roundTrip(unsignedPOST); err != nil || resp.StatusCode == 400 {
					t.Fatalf("connection %d under the cap: %v %v", i, resp, err)
				}
			}
			refused := func() (*http.Response, error) {
				c, err := dialRaw(e)
				if err != nil {
					return nil, err
				}
				defer c.Close()
				resp, err := c.roundTrip(unsignedPOST)
				if err != nil {
					return nil, err
				}
				if err := c.waitClosed(10 * time.Second); err != nil {
					return nil, fmt.Errorf("refused connection: %w", err)
				}
				return resp, nil
			}
			resp, err := refused()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ClientLimitExceededException") || !resp.Close ||
				!bytes.HasPrefix(body, []byte(`{"message":"too many connections`)) || !bytes.Contains(body, []byte(tc.want)) {
				t.Fatalf("fifth connection: want 400 ClientLimitExceededException naming %q, and close; got %d %q close=%v %s",
					tc.want, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), resp.Close, body)
			}
			held[0].Close()
			held = held[1:]
			for deadline := time.Now().Add(10 * time.Second); emulator.OpenConns(e) > 3; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("closed connection still counted: %d open", emulator.OpenConns(e))
				}
			}
			c, err := dialRaw(e)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			if resp, err := c.roundTrip(unsignedPOST); err != nil || resp.StatusCode == 400 {
				t.Fatalf("connection after one closed: %v %v", resp, err)
			}
		})
	}
}

// TURN TCP and TLS connections that send nothing are cut after the
// handshake timeout, and ones that went quiet after the idle timeout.
func TestTURNIdleTimeouts(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{TURNPlainTCP: true,
		Limits: emulator.Limits{HandshakeTimeout: 2 * time.Second, TURNIdleTimeout: time.Second}})
	var conns []*rawConn
	for _, addr := range []string{e.TURN().TCPAddr().String(), e.TURN().TLSAddr().String()} {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, &rawConn{Conn: c, br: bufio.NewReader(c)})
	}
	// One that sends a STUN Binding request, reads the answer, then is quiet.
	c, err := net.DialTimeout("tcp", e.TURN().TCPAddr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	binding := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := c.Write(binding); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 20)
	if _, err := io.ReadFull(c, head); err != nil || head[0] != 0x01 || head[1] != 0x01 {
		t.Fatalf("binding response: % x %v", head, err)
	}
	size := int(head[2])<<8 | int(head[3])
	if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	conns = append(conns, &rawConn{Conn: c, br: bufio.NewReader(c)})
	waitAllClosed(t, conns, 20*time.Second)
}
