package main

import (
	"encoding/json"
	"fmt"
	"io/ioutil"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

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
