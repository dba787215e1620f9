// Command grpc-go-client is the native gRPC reference client for the latency suite: the same two
// tests as smft (steady, coldconn), the same measurement model and the same results file
// format, written with grpc-go so smft's figures can be compared with a native client's against
// the same df in the same run.
//
// steady: ONE grpc.ClientConn, open loop. Request i is intended at t0 + i/rate on the monotonic
// clock; a pacer goroutine sends it then (catching up when late, never skipping), each call in
// its own goroutine. latency = done - intended, service = done - issued, lag = issued - intended.
// Requests intended during the warm-up are sent but not written.
//
// coldconn: attempt i starts at t0 + i/rate (open loop, one goroutine each) with a NEW
// grpc.ClientConn and a fresh tls.Config (no session cache, so no resumption), a blocking dial
// (READY = the server's HTTP/2 SETTINGS arrived), one GetScore, then close.
//
// No generated protobuf code: a raw-bytes codec sends JsonVector{json = 1} encoded by hand and
// only the call's status is checked. Builds offline in GOPATH mode against Debian's
// golang-google-grpc-dev (grpc-go 1.33):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode CGO_ENABLED=0 go build -o grpc-go-client grpc_go_client.go
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	getScorePath = "/score.ScoreService/GetScore"
	// df's handling time, µs, in the trailers.
	handlingKey = "df-handling-us"
	// The schedule starts this long after the plan is made, as smft's does.
	leadTime = 20 * time.Millisecond
)

// ---------------------------------------------------------------------------------------------
// Codec and message

// rawCodec passes bytes through: requests are encoded by hand, responses are not decoded.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// encodeJSONVector encodes score.JsonVector{json: s}: field 1, wire type 2, varint length, bytes.
func encodeJSONVector(s string) []byte {
	out := []byte{0x0a}
	n := uint64(len(s))
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	out = append(out, byte(n))
	return append(out, s...)
}

// defaultPayload is smft's default request (smft/options.ts defaultPayload), byte for byte.
func defaultPayload() string {
	parts := make([]string, 64)
	for i := range parts {
		fixed := strconv.FormatFloat(math.Abs(math.Sin(float64(i+1))*10), 'f', 6, 64)
		v, _ := strconv.ParseFloat(fixed, 64)
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return `{"model":"score-v1","entity_id":"acct-000042","features":[` + strings.Join(parts, ",") +
		`],"context":{"country":"DE","channel":"web","hour":14}}`
}

// ---------------------------------------------------------------------------------------------
// Status codes, as grpc-js and the results files name them

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return strconv.Itoa(int(c))
}

// errCode maps a dial or call error to a status code name.
func errCode(err error) string {
	var ce *connectError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "DEADLINE_EXCEEDED"
	}
	if errors.Is(err, context.Canceled) {
		return "CANCELLED"
	}
	if s, ok := status.FromError(err); ok {
		return codeName(s.Code())
	}
	return "UNAVAILABLE"
}

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

// ---------------------------------------------------------------------------------------------
// Options

type options struct {
	mode, addr, serverName, ca, cert, key, out, payloadFile string
	rate, durationS, warmupS                                float64
	deadlineMs, connectTimeoutMs, attempts                  int
	pacer                                                   string
}

func parseOptions() (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("grpc-go-client", flag.ContinueOnError)
	fs.StringVar(&o.mode, "mode", "steady", "steady | coldconn")
	fs.StringVar(&o.addr, "addr", "localhost:50051", "df's host:port")
	fs.StringVar(&o.serverName, "servername", "localhost", "name verified against df's certificate")
	fs.StringVar(&o.ca, "ca", "certs/ca.crt", "CA certificate (PEM)")
	fs.StringVar(&o.cert, "cert", "certs/client.crt", "client certificate (PEM)")
	fs.StringVar(&o.key, "key", "certs/client.key", "client key (PEM)")
	fs.Float64Var(&o.rate, "rate", 1000, "requests (steady) or attempts (coldconn) per second")
	fs.Float64Var(&o.durationS, "duration", 5, "measured seconds (coldconn: used when -attempts is 0)")
	fs.Float64Var(&o.warmupS, "warmup", 1, "steady: seconds sent before measurement, not written")
	fs.IntVar(&o.deadlineMs, "deadline-ms", 1000, "deadline of each call (coldconn: connect + call)")
	fs.IntVar(&o.connectTimeoutMs, "connect-timeout-ms", 5000, "steady: time allowed to connect before the run")
	fs.IntVar(&o.attempts, "attempts", 0, "coldconn: number of attempts (0: rate x duration)")
	fs.StringVar(&o.out, "out", "", "results file (default results/0N_<mode>_native.txt)")
	fs.StringVar(&o.payloadFile, "payload-file", "", "JSON request payload (default: smft's default payload)")
	fs.StringVar(&o.pacer, "pacer", "nanosleep", "how the schedule waits: nanosleep (precise) | timer (Go timers, ~1 ms coarse)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.mode != "steady" && o.mode != "coldconn":
		return nil, fmt.Errorf("-mode %q: expected steady or coldconn", o.mode)
	case !(o.rate > 0):
		return nil, fmt.Errorf("-rate %v: must be > 0", o.rate)
	case o.durationS < 0 || o.warmupS < 0:
		return nil, errors.New("-duration and -warmup must be >= 0")
	case o.deadlineMs <= 0:
		return nil, errors.New("-deadline-ms must be > 0")
	case o.attempts < 0:
		return nil, errors.New("-attempts must be >= 0")
	case o.pacer != "nanosleep" && o.pacer != "timer":
		return nil, fmt.Errorf("-pacer %q: expected nanosleep or timer", o.pacer)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return nil, fmt.Errorf("-addr %q: %v", o.addr, err)
	}
	if o.out == "" {
		if o.mode == "steady" {
			o.out = "results/01_steady_native.txt"
		} else {
			o.out = "results/02_coldconn_native.txt"
		}
	}
	return o, nil
}

func readPayload(o *options) (string, error) {
	if o.payloadFile == "" {
		return defaultPayload(), nil
	}
	b, err := ioutil.ReadFile(o.payloadFile)
	if err != nil {
		return "", fmt.Errorf("-payload-file %s: %v", o.payloadFile, err)
	}
	if !json.Valid(b) {
		return "", fmt.Errorf("-payload-file %s: not valid JSON", o.payloadFile)
	}
	return string(b), nil
}

// ---------------------------------------------------------------------------------------------
// Results file

// field is one key of a result line, kept in order.
type field struct {
	k string
	v interface{}
}

func r3(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func line(fields ...field) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(f.k)
		v, _ := json.Marshal(f.v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// writeResults writes `<out>.partial` then renames it into place, so a file under its final
// name is always complete.
func writeResults(out, test string, meta map[string]interface{}, lines []string, end []field) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	m, _ := json.Marshal(meta)
	fmt.Fprintf(&b, "#TEST=%s\n#META=%s\n", test, m)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString("#END=" + line(append([]field{{"count", len(lines)}}, end...)...) + "\n")
	partial := out + ".partial"
	if err := ioutil.WriteFile(partial, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(partial, out)
}

func commonMeta(o *options, test string, startEpoch time.Time, t *trace) map[string]interface{} {
	host, _ := os.Hostname()
	meta := map[string]interface{}{
		"test":           test,
		"target":         o.addr,
		"server_name":    o.serverName,
		"tls_mode":       "mtls",
		"rate":           o.rate,
		"host_rate":      o.rate,
		"deadline_ms":    o.deadlineMs,
		"start_epoch_ms": startEpoch.UnixNano() / 1e6,
		"tool":           "grpc-go " + grpc.Version,
		"grpc_go":        grpc.Version,
		"go":             runtime.Version(),
		"native":         true,
		"host":           host,
		"shard":          "1/1",
		"pacer":          o.pacer,
		"tls":            nil,
	}
	if t != nil && t.haveTLS {
		meta["tls"] = map[string]string{
			"version": t.version, "cipher": t.cipher, "alpn": t.alpn, "peer_subject": t.peerSubj,
		}
	}
	return meta
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// ---------------------------------------------------------------------------------------------
// Pacing

// pacer waits until due times on the monotonic clock. It never skips: a due time already past
// returns at once, and the caller sends everything owed (catch-up).
//
// Go 1.19's timers (time.Sleep, time.Timer, time.Ticker) wake on the runtime's netpoller, whose
// epoll timeout is whole milliseconds on Linux (golang/go#44343): measured here, a 50 µs sleep
// takes ~1.08 ms and a 1.5 ms sleep ~2.2 ms. So the default waits with the nanosleep system call
// (hrtimer; ~70 µs over, p99 ~130 µs, measured), which parks only the pacer's OS thread: the
// runtime hands its P to other goroutines meanwhile. "-pacer timer" uses Go's timers instead.
type pacer struct{ useTimer bool }

// maxChunk bounds one wait, so a stop is seen within it.
const maxChunk = 20 * time.Millisecond

func (p pacer) waitUntil(due time.Time, stop <-chan struct{}) bool {
	for {
		select {
		case <-stop:
			return false
		default:
		}
		d := time.Until(due)
		if d <= 0 {
			return true
		}
		if d > maxChunk {
			d = maxChunk
		}
		if p.useTimer {
			time.Sleep(d)
		} else {
			ts := syscall.NsecToTimespec(int64(d))
			_ = syscall.Nanosleep(&ts, nil) // EINTR (runtime preemption signals): loop and recompute
		}
	}
}

// intended is request i's due time: t0 + i/rate, counted from the start so it cannot drift.
func intended(t0 time.Time, i int, rate float64) time.Time {
	return t0.Add(time.Duration(math.Round(float64(i) * 1e9 / rate)))
}

// countBefore is the number of requests due strictly before `d` after t0.
func countBefore(d time.Duration, rate float64) int {
	return int(math.Ceil(d.Seconds()*rate - 1e-9))
}

// ---------------------------------------------------------------------------------------------
// steady

type steadyResult struct {
	intended, issued, done time.Time
	err                    error
	dfMs                   *float64
}

func runSteady(o *options, m *tlsMaterial, payload []byte, stop <-chan struct{}) (int, error) {
	t := &trace{start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.connectTimeoutMs)*time.Millisecond)
	conn, err := dial(ctx, o.addr, m, t)
	cancel()
	if err != nil {
		return 1, fmt.Errorf("cannot reach df at %s within %d ms: %v", o.addr, o.connectTimeoutMs, err)
	}
	defer conn.Close()

	warmup := time.Duration(o.warmupS * float64(time.Second))
	duration := time.Duration(o.durationS * float64(time.Second))
	total := countBefore(warmup+duration, o.rate)
	first := countBefore(warmup, o.rate)
	deadline := time.Duration(o.deadlineMs) * time.Millisecond
	results := make([]steadyResult, total)
	var wg sync.WaitGroup

	call := func(i int, due time.Time) {
		defer wg.Done()
		r := &results[i]
		r.intended = due
		var reply []byte
		var trailer metadata.MD
		cctx, ccancel := context.WithTimeout(context.Background(), deadline)
		r.issued = time.Now()
		r.err = conn.Invoke(cctx, getScorePath, &payload, &reply, grpc.ForceCodec(rawCodec{}), grpc.Trailer(&trailer))
		r.done = time.Now()
		ccancel()
		if v := trailer.Get(handlingKey); len(v) > 0 {
			if us, err := strconv.ParseFloat(v[0], 64); err == nil {
				ms := us / 1000
				r.dfMs = &ms
			}
		}
	}

	p := pacer{useTimer: o.pacer == "timer"}
	startEpoch := time.Now()
	t0 := startEpoch.Add(leadTime)
	sent := 0
	interrupted := false
	for i := 0; i < total; i++ {
		due := intended(t0, i, o.rate)
		if !p.waitUntil(due, stop) {
			interrupted = true
			break
		}
		wg.Add(1)
		go call(i, due)
		sent++
	}
	wg.Wait()

	measureStart := t0.Add(warmup)
	lines := make([]string, 0, total)
	var latencies, lags []float64
	ok := 0
	errs := map[string]int{}
	var lastIssued time.Time
	for i := first; i < sent; i++ {
		r := &results[i]
		if r.issued.After(lastIssued) {
			lastIssued = r.issued
		}
		latency, service, lag := r.done.Sub(r.intended), r.done.Sub(r.issued), r.issued.Sub(r.intended)
		lags = append(lags, r3(lag))
		fs := []field{{"ok", r.err == nil}}
		if r.err != nil {
			code := errCode(r.err)
			errs[code]++
			fs = append(fs, field{"code", code})
		} else {
			ok++
			latencies = append(latencies, r3(latency))
		}
		fs = append(fs,
			field{"latency_ms", r3(latency)}, field{"service_ms", r3(service)},
			field{"lag_ms", r3(lag)}, field{"t_ms", r3(r.intended.Sub(measureStart))})
		if r.dfMs != nil {
			fs = append(fs, field{"df_ms", *r.dfMs})
		}
		if r.err != nil {
			fs = append(fs, field{"error", status.Convert(r.err).Message()})
		}
		lines = append(lines, line(fs...))
	}
	measured := len(lines)
	windowS, achieved := 0.0, 0.0
	if measured > 0 {
		windowS = lastIssued.Sub(measureStart).Seconds() + 1/o.rate
		achieved = float64(measured) / windowS
	}
	sort.Float64s(latencies)
	sort.Float64s(lags)
	lagP99 := percentile(lags, 99)
	valid := measured > 0 && math.Abs(achieved-o.rate)/o.rate <= 0.01 && lagP99 < 1

	meta := commonMeta(o, "01_steady", t0, t)
	meta["duration_s"] = o.durationS
	meta["warmup_s"] = o.warmupS
	meta["measure_start_epoch_ms"] = t0.Add(warmup).UnixNano() / 1e6
	meta["payload_bytes"] = len(payload)
	meta["planned_requests"] = total - first
	end := []field{
		{"ok", ok}, {"errors", errs}, {"interrupted", interrupted},
		{"planned", total - first}, {"sent", measured},
		{"elapsed_s", math.Round(windowS*1000) / 1000}, {"achieved_rps", math.Round(achieved*1000) / 1000},
		{"valid", valid},
	}
	if err := writeResults(o.out, "01_steady", meta, lines, end); err != nil {
		return 1, err
	}
	fmt.Println(line(
		field{"file", o.out}, field{"test", "01_steady"}, field{"count", measured}, field{"ok", ok},
		field{"p50_ms", percentile(latencies, 50)}, field{"p90_ms", percentile(latencies, 90)},
		field{"p99_ms", percentile(latencies, 99)}, field{"lag_p99_ms", lagP99},
		field{"achieved_rps", math.Round(achieved*1000) / 1000}, field{"valid", valid},
		field{"interrupted", interrupted},
	))
	if interrupted {
		return 130, nil
	}
	return 0, nil
}

// ---------------------------------------------------------------------------------------------
// coldconn

func runColdconn(o *options, m *tlsMaterial, payload []byte, stop <-chan struct{}) (int, error) {
	attempts := o.attempts
	if attempts == 0 {
		attempts = countBefore(time.Duration(o.durationS*float64(time.Second)), o.rate)
	}
	deadline := time.Duration(o.deadlineMs) * time.Millisecond
	lines := make([]string, attempts)
	okFlags := make([]bool, attempts)
	connects := make([]float64, attempts)
	var mu sync.Mutex
	inflight, maxOverlap := 0, 0
	var firstTrace *trace
	var wg sync.WaitGroup

	attempt := func(i int, t0, due time.Time) {
		defer wg.Done()
		start := time.Now()
		mu.Lock()
		overlap := inflight
		inflight++
		if inflight > maxOverlap {
			maxOverlap = inflight
		}
		mu.Unlock()
		defer func() { mu.Lock(); inflight--; mu.Unlock() }()

		t := &trace{start: start}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		conn, err := dial(ctx, o.addr, m, t)
		ready := time.Now()
		var callErr error
		var trailer metadata.MD
		if err == nil {
			var reply []byte
			callErr = conn.Invoke(ctx, getScorePath, &payload, &reply, grpc.ForceCodec(rawCodec{}), grpc.Trailer(&trailer))
		}
		done := time.Now()
		if conn != nil {
			conn.Close()
		}

		t.mu.Lock()
		defer t.mu.Unlock()
		fs := []field{{"ok", err == nil && callErr == nil}}
		switch {
		case err != nil:
			phase := "h2"
			if !t.haveDNS && t.dialError != nil {
				phase = "dns"
			} else if !t.haveTCP {
				phase = "tcp"
			} else if !t.haveTLS {
				phase = "tls"
			}
			fs = append(fs, field{"phase", phase}, field{"code", errCode(err)}, field{"error", err.Error()})
		case callErr != nil:
			fs = append(fs, field{"phase", "rpc"}, field{"code", errCode(callErr)},
				field{"error", status.Convert(callErr).Message()})
		}
		if err == nil {
			fs = append(fs, field{"t_connect_ms", r3(ready.Sub(start))}, field{"t_first_rpc_ms", r3(done.Sub(ready))})
			connects[i] = r3(ready.Sub(start))
		}
		fs = append(fs, field{"t_total_ms", r3(done.Sub(start))})
		if t.haveDNS {
			fs = append(fs, field{"t_dns_ms", r3(t.dnsDone)})
		}
		if t.haveTCP {
			fs = append(fs, field{"t_tcp_ms", r3(t.tcpDone)})
		}
		if t.haveTLS {
			fs = append(fs, field{"t_tls_ms", r3(t.tlsDone)})
		}
		fs = append(fs, field{"t_ms", r3(due.Sub(t0))},
			field{"lag_ms", r3(start.Sub(due))})
		if t.haveTLS {
			fs = append(fs, field{"tls", t.version}, field{"cipher", t.cipher}, field{"alpn", t.alpn},
				field{"resumed", false}, field{"peer_subject", t.peerSubj})
		}
		fs = append(fs, field{"overlap", overlap})
		if v := trailer.Get(handlingKey); len(v) > 0 {
			if us, e := strconv.ParseFloat(v[0], 64); e == nil {
				fs = append(fs, field{"df_ms", us / 1000})
			}
		}
		lines[i] = line(fs...)
		okFlags[i] = err == nil && callErr == nil
		mu.Lock()
		if firstTrace == nil && t.haveTLS {
			firstTrace = t
		}
		mu.Unlock()
	}

	p := pacer{useTimer: o.pacer == "timer"}
	startEpoch := time.Now()
	t0 := startEpoch.Add(leadTime)
	sent := 0
	interrupted := false
	for i := 0; i < attempts; i++ {
		due := intended(t0, i, o.rate)
		if !p.waitUntil(due, stop) {
			interrupted = true
			break
		}
		wg.Add(1)
		go attempt(i, t0, due)
		sent++
	}
	wg.Wait()

	lines = lines[:sent]
	ok := 0
	errs := map[string]int{}
	var cs []float64
	for i := 0; i < sent; i++ {
		if okFlags[i] {
			ok++
			cs = append(cs, connects[i])
		} else {
			var rec struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal([]byte(lines[i]), &rec)
			errs[rec.Code]++
		}
	}
	sort.Float64s(cs)
	var tr *trace
	if firstTrace != nil {
		firstTrace.mu.Lock()
		tr = firstTrace
		firstTrace.mu.Unlock()
	}
	meta := commonMeta(o, "02_coldconn", t0, tr)
	meta["duration_s"] = float64(attempts) / o.rate
	if o.attempts > 0 {
		meta["attempts"] = o.attempts
	} else {
		meta["attempts"] = nil
	}
	meta["planned_attempts"] = attempts
	meta["resumption"] = false
	meta["payload_bytes"] = len(payload)
	end := []field{
		{"ok", ok}, {"errors", errs}, {"interrupted", interrupted}, {"planned", attempts},
		{"sent", sent}, {"max_overlap", maxOverlap},
	}
	if err := writeResults(o.out, "02_coldconn", meta, lines, end); err != nil {
		return 1, err
	}
	fmt.Println(line(
		field{"file", o.out}, field{"test", "02_coldconn"}, field{"count", sent}, field{"ok", ok},
		field{"connect_p50_ms", percentile(cs, 50)}, field{"connect_p99_ms", percentile(cs, 99)},
		field{"interrupted", interrupted},
	))
	if interrupted {
		return 130, nil
	}
	return 0, nil
}

func main() {
	o, err := parseOptions()
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-client: %v\n", err)
		os.Exit(2)
	}
	m, err := loadTLS(o.ca, o.cert, o.key, o.serverName)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-client: %v\n", err)
		os.Exit(2)
	}
	text, err := readPayload(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-client: %v\n", err)
		os.Exit(2)
	}
	payload := encodeJSONVector(text)

	// SIGINT/SIGTERM stop the schedule; calls in flight finish (they carry deadlines) and the
	// file is written with "interrupted":true.
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; close(stop) }()

	var code int
	if o.mode == "steady" {
		code, err = runSteady(o, m, payload, stop)
	} else {
		code, err = runColdconn(o, m, payload, stop)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-client: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
