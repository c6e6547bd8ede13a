package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cityhub/cityhub"
)

// procStatus reads the given fields (KiB) of /proc/self/status.
func procStatus(names ...string) []int64 { return procStatusOf(0, names...) }

// procStatusOf reads them for process pid (0: this one).
func procStatusOf(pid int, names ...string) []int64 {
	out := make([]int64, len(names))
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for line := range strings.Lines(string(data)) {
		for i, n := range names {
			if strings.HasPrefix(line, n+":") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					out[i], _ = strconv.ParseInt(f[1], 10, 64)
				}
			}
		}
	}
	return out
}

// resetPeak returns freed memory to the OS and resets VmHWM to the current
// RSS (Linux ≥ 4.0), so each phase's peak is its own. It says whether the
// reset worked; if not, VmHWM is the process's peak so far.
func resetPeak() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// A memSample is one reading of memory (KiB): this process's, and the
// station process's when there is one.
type memSample struct {
	at                  time.Duration
	rss, anon           int64
	childRSS, childAnon int64
	goroutines          int
	queued              int64 // the ingest queue, in values (-1: no pipeline)
}

// memSampler reads RSS every 100 ms and keeps the peaks (of this process,
// of the child, of both together) and one sample a second.
type memSampler struct {
	stop                chan struct{}
	done                chan struct{}
	peakRSS, peakAnon   int64
	childRSS, childAnon int64
	sumRSS, sumAnon     int64
	series              []memSample
}

func sampleMemory(start time.Time, queued func() int64, child int) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			v := procStatus("VmRSS", "RssAnon")
			cv := []int64{0, 0}
			if child != 0 {
				cv = procStatusOf(child, "VmRSS", "RssAnon")
			}
			m.peakRSS, m.peakAnon = max(m.peakRSS, v[0]), max(m.peakAnon, v[1])
			m.childRSS, m.childAnon = max(m.childRSS, cv[0]), max(m.childAnon, cv[1])
			m.sumRSS, m.sumAnon = max(m.sumRSS, v[0]+cv[0]), max(m.sumAnon, v[1]+cv[1])
			if i%10 == 0 {
				q := int64(-1)
				if queued != nil {
					q = queued()
				}
				m.series = append(m.series, memSample{at: time.Since(start), rss: v[0], anon: v[1], childRSS: cv[0], childAnon: cv[1],
					goroutines: runtime.NumGoroutine(), queued: q})
			}
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memSampler) finish() {
	close(m.stop)
	<-m.done
}

// raiseFileLimit makes room for need open files: both ends of every
// loopback connection live in this process.
func raiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max >= need {
		lim.Cur = need
		return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	lim.Cur = need
	lim.Max = max(lim.Max, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", need, err)
	}
	fmt.Printf("open files: RLIMIT_NOFILE raised to %d\n", need)
	return nil
}

// A latHist is a lock-free histogram of durations, four buckets per
// doubling from 1 µs (±10%).
type latHist struct{ b [160]atomic.Int64 }

func (h *latHist) add(d time.Duration) {
	us := float64(d.Nanoseconds()) / 1e3
	i := 0
	if us >= 1 {
		i = min(int(math.Log2(us)*4)+1, len(h.b)-1)
	}
	h.b[i].Add(1)
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *latHist) quantile(q float64) time.Duration {
	var total int64
	for i := range h.b {
		total += h.b[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(total)))
	var n int64
	for i := range h.b {
		n += h.b[i].Load()
		if n >= want {
			return time.Duration(math.Pow(2, float64(i)/4) * 1e3)
		}
	}
	return 0
}

// cpuTimes is the process's user and system CPU time and the Go GC's share.
type cpuTimes struct{ User, Sys, GC float64 }

func readCPU() cpuTimes {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	var gc float64
	if s[0].Value.Kind() == metrics.KindFloat64 {
		gc = s[0].Value.Float64()
	}
	return cpuTimes{User: tv(ru.Utime), Sys: tv(ru.Stime), GC: gc}
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{c.User - o.User, c.Sys - o.Sys, c.GC - o.GC}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// num writes n with thousands separators.
func num[T int | int64 | float64](n T) string {
	v := int64(math.Round(float64(n)))
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mib(kib int64) string { return fmt.Sprintf("%d MiB", kib/1024) }

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// timedSeries wraps the series store given to the ingest pipeline, to see
// where its single writer's time goes: Write appends a batch to the log
// and, every tsdb.Options.CompactEvery, writes blocks inside the call (and
// every FlushEvery merges the rollups too).
type timedSeries struct {
	cityhub.SeriesStore
	w writerTime
}

func (t *timedSeries) Write(ctx context.Context, rs []cityhub.Reading) ([]cityhub.ReadingOutcome, error) {
	t0 := time.Now()
	out, err := t.SeriesStore.Write(ctx, rs)
	t.w.add(time.Since(t0), len(rs))
	return out, err
}

// timedDevices wraps the device service given to the pipeline: it records
// arrivals (TouchDevices) every 30 s from a goroutine of its own.
type timedDevices struct {
	cityhub.DeviceService
	w writerTime
}

func (t *timedDevices) TouchDevices(ctx context.Context, seen map[int64]time.Time) error {
	t0 := time.Now()
	err := t.DeviceService.TouchDevices(ctx, seen)
	t.w.add(time.Since(t0), len(seen))
	return err
}

// writerTime tallies calls: how many, items, total and longest time, and
// calls over 250 ms.
type writerTime struct {
	calls, items, busy, longest, slow atomic.Int64
}

func (w *writerTime) add(d time.Duration, items int) {
	w.calls.Add(1)
	w.items.Add(int64(items))
	w.busy.Add(int64(d))
	if d > 250*time.Millisecond {
		w.slow.Add(1)
	}
	for {
		m := w.longest.Load()
		if int64(d) <= m || w.longest.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

type writerSnap struct {
	calls, items, slow int64
	busy, longest      time.Duration
}

// snap reads the tallies and restarts the longest call.
func (w *writerTime) snap() writerSnap {
	return writerSnap{calls: w.calls.Load(), items: w.items.Load(), slow: w.slow.Load(),
		busy: time.Duration(w.busy.Load()), longest: time.Duration(w.longest.Swap(0))}
}

func (s writerSnap) sub(o writerSnap) writerSnap {
	return writerSnap{calls: s.calls - o.calls, items: s.items - o.items, slow: s.slow - o.slow, busy: s.busy - o.busy, longest: s.longest}
}

// machineCPU is the whole machine's busy and total CPU time from
// /proc/stat, in seconds, to tell how much else ran during a phase.
func machineCPU() (busy, total float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, x := range f[1:min(len(f), 9)] {
		v, _ := strconv.ParseFloat(x, 64)
		v /= 100 // USER_HZ
		total += v
		if i != 3 && i != 4 { // not idle, not iowait
			busy += v
		}
	}
	return busy, total
}

// schedLatencies is the Go scheduler's histogram of how long goroutines
// waited to run after becoming runnable.
func schedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := s[0].Value.Float64Histogram()
	return &metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: slices.Clone(h.Buckets)}
}

// histQuantile is quantile q of the histogram b minus a (the same buckets).
func histQuantile(a, b *metrics.Float64Histogram, q float64) time.Duration {
	if a == nil || b == nil || len(a.Counts) != len(b.Counts) {
		return 0
	}
	var total uint64
	for i := range b.Counts {
		total += b.Counts[i] - a.Counts[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var n uint64
	for i := range b.Counts {
		n += b.Counts[i] - a.Counts[i]
		if n >= want {
			hi := b.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = b.Buckets[i]
			}
			return time.Duration(hi * 1e9)
		}
	}
	return 0
}

// procIO is this process's I/O counters from /proc/self/io: bytes passed
// to write and read calls (wchar, rchar: sockets included) and bytes that
// reached the storage layer (write_bytes).
type procIO struct{ rchar, wchar, writeBytes int64 }

func readIO() procIO {
	var p procIO
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return p
	}
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "rchar":
			p.rchar = n
		case "wchar":
			p.wchar = n
		case "write_bytes":
			p.writeBytes = n
		}
	}
	return p
}
