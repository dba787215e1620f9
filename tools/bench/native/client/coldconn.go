package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

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
