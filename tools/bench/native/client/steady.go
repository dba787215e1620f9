package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// steady

type steadyResult struct {
	intended, issued, done time.Time
	err                    error
	dfMs                   *float64
}

// completed counts finished steady calls (warm-up included); SIGUSR1 prints it to stderr as
// {"completed":N}, so a harness can count calls over a window of its choosing.
var completed int64

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
		atomic.AddInt64(&completed, 1)
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
