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
//	GO111MODULE=off GOPATH=/usr/share/gocode CGO_ENABLED=0 go build -o grpc-go-client ./tools/native/client
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	getScorePath = "/score.ScoreService/GetScore"
	// df's handling time, µs, in the trailers.
	handlingKey = "df-handling-us"
	// The schedule starts this long after the plan is made, as smft's does.
	leadTime = 20 * time.Millisecond
)

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
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			fmt.Fprintf(os.Stderr, "{\"completed\":%d}\n", atomic.LoadInt64(&completed))
		}
	}()

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
