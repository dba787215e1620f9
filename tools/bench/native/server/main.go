// Command grpc-go-server is the native reference server for the latency suite: the same service
// as df (score.ScoreService/GetScore), written with grpc-go, so df's cost and hold accuracy can
// be compared with a native server's in the same run, driven by the same client.
//
// Like df it speaks TLS 1.3 only, requires a client certificate signed by the CA, checks that
// the request's json field is valid JSON (INVALID_ARGUMENT otherwise), holds each call for
// -delay-ms from when it was received, and sends its handling time in integer microseconds in
// the trailer df-handling-us. No generated protobuf code: requests and responses are encoded by
// hand. Builds offline in GOPATH mode against Debian's golang-google-grpc-dev (grpc-go 1.33):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode CGO_ENABLED=0 go build -o grpc-go-server ./tools/native/server
//
// The hold: Go 1.19's timers wake on ~1 ms steps (golang/go#44343), so "-hold queue" (default)
// keeps one releaser goroutine that sleeps with the nanosleep system call until the earliest
// due time and releases every call due within -batch-us of it (due times only increase, so a
// FIFO is enough). "-hold timer" holds each call with time.Sleep (idiomatic, ~+1 ms).
//
// Prints "listening on HOST:PORT" once it accepts calls; SIGINT/SIGTERM stop it gracefully and
// print a one-line JSON summary (calls, CPU per call). SIGUSR1 prints {"calls":N} to stderr.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"math"
	"math/rand"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const handlingKey = "df-handling-us"

// rawCodec passes bytes through (grpc.Codec, the server-side form in grpc-go 1.33).
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) String() string { return "proto" }
func (rawCodec) Name() string   { return "proto" }

// jsonField returns field 1 (string json) of score.JsonVector; ok false when malformed.
func jsonField(b []byte) ([]byte, bool) {
	var out []byte
	i := 0
	for i < len(b) {
		key, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return nil, false
		}
		i += n
		switch key & 7 {
		case 0:
			_, n = binary.Uvarint(b[i:])
			if n <= 0 {
				return nil, false
			}
			i += n
		case 1:
			i += 8
		case 5:
			i += 4
		case 2:
			l, n := binary.Uvarint(b[i:])
			if n <= 0 || uint64(len(b)-i-n) < l {
				return nil, false
			}
			i += n
			if key>>3 == 1 {
				out = b[i : i+int(l)]
			}
			i += int(l)
		default:
			return nil, false
		}
	}
	return out, i <= len(b)
}

// scoreResponse encodes score.ScoreResponse{score}: field 1, wire type 1 (fixed64).
func scoreResponse(score float64) []byte {
	out := make([]byte, 9)
	out[0] = 0x09
	binary.LittleEndian.PutUint64(out[1:], math.Float64bits(score))
	return out
}

// holder releases calls `delay` after they were received.
type holder interface{ hold(received time.Time) }

type timerHold struct{ delay time.Duration }

func (h timerHold) hold(received time.Time) { time.Sleep(time.Until(received.Add(h.delay))) }

// queueHold: one releaser goroutine, a FIFO of waiting calls (due times only increase),
// nanosleep until the head is due, then release every call due within `batch`.
type queueHold struct {
	delay, batch time.Duration
	mu           sync.Mutex
	q            []waiter
	wake         chan struct{}
}

type waiter struct {
	due  time.Time
	done chan struct{}
}

func newQueueHold(delay, batch time.Duration) *queueHold {
	h := &queueHold{delay: delay, batch: batch, wake: make(chan struct{}, 1)}
	go h.run()
	return h
}

func (h *queueHold) hold(received time.Time) {
	w := waiter{received.Add(h.delay), make(chan struct{})}
	h.mu.Lock()
	h.q = append(h.q, w)
	first := len(h.q) == 1
	h.mu.Unlock()
	if first {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	<-w.done
}

func (h *queueHold) run() {
	for {
		h.mu.Lock()
		if len(h.q) == 0 {
			h.mu.Unlock()
			<-h.wake
			continue
		}
		due := h.q[0].due
		h.mu.Unlock()
		if d := time.Until(due); d > 0 {
			ts := syscall.NsecToTimespec(int64(d))
			_ = syscall.Nanosleep(&ts, nil) // EINTR: the loop recomputes
			continue
		}
		limit := time.Now().Add(h.batch)
		h.mu.Lock()
		n := 0
		for n < len(h.q) && !h.q[n].due.After(limit) {
			close(h.q[n].done)
			n++
		}
		h.q = append(h.q[:0], h.q[n:]...)
		h.mu.Unlock()
	}
}

func main() {
	env := func(k, d string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return d
	}
	host := flag.String("host", env("DF_HOST", "127.0.0.1"), "address to listen on (DF_HOST)")
	port := flag.String("port", env("DF_PORT", "50051"), "port, 0 for any (DF_PORT)")
	delayS := flag.String("delay-ms", env("DELAY_MS", "5"), "hold of each call, ms (DELAY_MS)")
	ca := flag.String("ca", env("TLS_CA", "certs/ca.crt"), "CA that signs client certificates (TLS_CA)")
	cert := flag.String("cert", env("TLS_CERT", "certs/server.crt"), "server certificate (TLS_CERT)")
	key := flag.String("key", env("TLS_KEY", "certs/server.key"), "server key (TLS_KEY)")
	holdMode := flag.String("hold", "queue", "queue (one nanosleep releaser, precise) | timer (time.Sleep per call, ~1 ms coarse)")
	batchUs := flag.Int("batch-us", 50, "queue hold: release calls due within this many µs together")
	flag.Parse()
	fail := func(code int, f string, a ...interface{}) {
		fmt.Fprintf(os.Stderr, "grpc-go-server: "+f+"\n", a...)
		os.Exit(code)
	}
	delayMs, err := strconv.ParseFloat(*delayS, 64)
	if err != nil || delayMs < 0 {
		fail(2, "-delay-ms %q: expected a number >= 0", *delayS)
	}
	delay := time.Duration(delayMs * float64(time.Millisecond))
	var h holder
	switch *holdMode {
	case "queue":
		h = newQueueHold(delay, time.Duration(*batchUs)*time.Microsecond)
	case "timer":
		h = timerHold{delay}
	default:
		fail(2, "-hold %q: expected queue or timer", *holdMode)
	}
	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		fail(2, "certificate %s / key %s: %v", *cert, *key, err)
	}
	pem, err := ioutil.ReadFile(*ca)
	if err != nil {
		fail(2, "CA %s: %v", *ca, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail(2, "CA %s: no PEM certificate in it", *ca)
	}
	tlsConf := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{"h2"},
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(*host, *port))
	if err != nil {
		fail(1, "listen: %v", err)
	}
	var calls, invalid int64
	handler := func(_ interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
		received := time.Now()
		var req []byte
		if err := dec(&req); err != nil {
			return nil, err
		}
		if j, ok := jsonField(req); !ok || !json.Valid(j) {
			atomic.AddInt64(&invalid, 1)
			return nil, status.Error(codes.InvalidArgument, "field json is not valid JSON")
		}
		if delay > 0 {
			h.hold(received)
		}
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		us := time.Since(received).Microseconds()
		_ = grpc.SetTrailer(ctx, metadata.Pairs(handlingKey, strconv.FormatInt(us, 10)))
		atomic.AddInt64(&calls, 1)
		resp := scoreResponse(rand.Float64())
		return &resp, nil
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsConf)), grpc.CustomCodec(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "score.ScoreService",
		HandlerType: (*interface{})(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "GetScore", Handler: handler}},
		Metadata:    "score.proto",
	}, struct{}{})
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			fmt.Fprintf(os.Stderr, "{\"calls\":%d}\n", atomic.LoadInt64(&calls))
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			srv.Stop()
		}
	}()
	fmt.Printf("grpc-go-server %s listening on %s (TLS 1.3, client certificate required, DELAY_MS=%v, hold %s)\n",
		grpc.Version, lis.Addr(), delayMs, *holdMode)
	if err := srv.Serve(lis); err != nil {
		fail(1, "serve: %v", err)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	perCall := 0.0
	if calls > 0 {
		perCall = float64(cpu.Microseconds()) / float64(calls)
	}
	fmt.Printf(`{"calls":%d,"invalid":%d,"cpu_ms":%d,"cpu_us_per_call":%.1f}`+"\n", calls, invalid, cpu.Milliseconds(), perCall)
}
