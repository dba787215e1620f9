package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/ioutil"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
)

// ---------------------------------------------------------------------------------------------
// TLS

type tlsMaterial struct {
	cert       tls.Certificate
	roots      *x509.CertPool
	serverName string
}

func loadTLS(ca, cert, key, serverName string) (*tlsMaterial, error) {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s / key %s: %v", cert, key, err)
	}
	pem, err := ioutil.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %v", ca, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA %s: no PEM certificate in it", ca)
	}
	return &tlsMaterial{cert: pair, roots: roots, serverName: serverName}, nil
}

// config returns a fresh tls.Config: TLS 1.3 only, the client certificate, the CA, no session
// cache (ClientSessionCache nil), so every connection made with it does a full handshake.
func (m *tlsMaterial) config() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		RootCAs:      m.roots,
		ServerName:   m.serverName,
	}
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}

// trace is what one connection's dialer and handshake saw. Times are since the attempt began.
type trace struct {
	mu        sync.Mutex
	start     time.Time
	dnsDone   time.Duration
	tcpDone   time.Duration
	tlsDone   time.Duration
	tlsErr    error
	haveDNS   bool
	haveTCP   bool
	haveTLS   bool
	version   string
	cipher    string
	alpn      string
	peerSubj  string
	dialError error
}

func (t *trace) mark(f func()) {
	t.mu.Lock()
	f()
	t.mu.Unlock()
}

// dialer resolves (timed), then connects TCP (timed).
func (t *trace) dialer(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := host
	if net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			t.mark(func() { t.dialError = err })
			return nil, err
		}
		ip = ips[0]
	}
	t.mark(func() { t.dnsDone, t.haveDNS = time.Since(t.start), true })
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, port))
	if err != nil {
		t.mark(func() { t.dialError = err })
		return nil, err
	}
	t.mark(func() { t.tcpDone, t.haveTCP = time.Since(t.start), true })
	return c, nil
}

// tracedCreds times the TLS handshake and keeps what it negotiated.
type tracedCreds struct {
	credentials.TransportCredentials
	t *trace
}

func (c tracedCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	c.t.mark(func() {
		if err != nil {
			c.t.tlsErr = err
			return
		}
		c.t.tlsDone, c.t.haveTLS = time.Since(c.t.start), true
		if ti, ok := info.(credentials.TLSInfo); ok {
			st := ti.State
			c.t.version = tlsVersionName(st.Version)
			c.t.cipher = tls.CipherSuiteName(st.CipherSuite)
			c.t.alpn = st.NegotiatedProtocol
			if len(st.PeerCertificates) > 0 {
				c.t.peerSubj = "CN=" + st.PeerCertificates[0].Subject.CommonName
			}
		}
	})
	return conn, info, err
}

func (c tracedCreds) Clone() credentials.TransportCredentials {
	return tracedCreds{c.TransportCredentials.Clone(), c.t}
}

// connectError is a dial that did not reach READY: the status code to record and why.
type connectError struct{ code, msg string }

func (e *connectError) Error() string { return e.msg }

// dial makes a new ClientConn with its own credentials and waits until it is READY (grpc-go
// 1.33 marks a connection READY when the server's HTTP/2 SETTINGS arrive). The wait is
// grpc.WithBlock()'s own loop (GetState / WaitForStateChange, clientconn.go), except that it
// gives up at the first TRANSIENT_FAILURE: WithBlock retries a refused TLS handshake or a
// connection df closes (a refused client certificate) with backoff until the deadline, which
// would hide the failure's real time.
func dial(ctx context.Context, addr string, m *tlsMaterial, t *trace) (*grpc.ClientConn, error) {
	creds := tracedCreds{credentials.NewTLS(m.config()), t}
	conn, err := grpc.DialContext(ctx, addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(t.dialer),
		grpc.WithDisableRetry(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
	)
	if err != nil {
		return nil, &connectError{errCode(err), err.Error()}
	}
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return conn, nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			conn.Close()
			return nil, &connectError{"UNAVAILABLE", t.failure("connection " + s.String())}
		}
		if !conn.WaitForStateChange(ctx, s) {
			conn.Close()
			return nil, &connectError{"DEADLINE_EXCEEDED", t.failure("deadline exceeded while " + s.String())}
		}
	}
}

// failure says why a connection failed, from what the trace saw.
func (t *trace) failure(state string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.dialError != nil && !t.haveTCP:
		return state + ": " + t.dialError.Error()
	case t.tlsErr != nil:
		return "TLS handshake failed: " + t.tlsErr.Error()
	case t.haveTLS:
		// TLS 1.3 finishes the client's side of the handshake before the server checks the
		// client certificate, so a refusal arrives as a closed connection right after it.
		return state + ": df closed the connection after the TLS handshake, before HTTP/2 SETTINGS: client certificate refused?"
	}
	return state
}
