package main

// The station side: connect the stations to a broker (or ready them to
// post to an HTTP server), publish for a phase, tally. It runs in this process, or — when the open-file limit cannot hold
// both ends of every connection and cannot be raised — in a child process
// of the same binary, driven over its stdin and stdout.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// runParams say how one phase publishes.
type runParams struct {
	Name     string        `json:"name"`
	Rate     float64       `json:"rate"`
	Inflight int           `json:"inflight"`
	Duration time.Duration `json:"duration"`
	Settle   time.Duration `json:"settle"`
	Profile  string        `json:"profile,omitempty"` // CPU profile of the station process (child only)
}

// tallies are what the stations counted in a phase.
type tallies struct {
	Sent, Acked, Unresolved, Failed, ProtoErr, Lost int64
	Offered, Held                                   int64
	Elapsed                                         time.Duration // first message → last acknowledgement
	P50, P99                                        time.Duration
	Reconnected                                     bool
	GaveUp                                          bool
	// of the station process, when it is a child
	CPU     cpuTimes
	HWM     int64 // KiB
	HWMOwn  bool
	Profile string
}

type connectInfo struct {
	Connected, Failed int
	Conns             int // -proto http: connections opened (Failed counts those that failed)
	FirstErr          string
	Took              time.Duration
}

// stationSide is where the stations run.
type stationSide interface {
	connect(addr string) (connectInfo, error)
	run(p runParams, tick func(acked, sent int64)) (tallies, error)
	close()
	pid() int // the station process, 0 when it is this one
}

// localSide runs the stations in this process.
type localSide struct {
	kind     string // paho, raw or http
	qos      byte
	values   int
	conns    int // http: connections the stations share
	stations []*station
	f        *fleet
}

func (l *localSide) pid() int { return 0 }

func (l *localSide) connect(addr string) (connectInfo, error) {
	t0 := time.Now()
	f, failed, err := connect(l.kind, addr, l.stations, l.qos, l.values, l.conns, 100)
	ci := connectInfo{Connected: len(f.stations), Failed: failed, Conns: f.conns, Took: time.Since(t0)}
	if err != nil {
		ci.FirstErr = err.Error()
	}
	l.f = f
	return ci, nil
}

func (l *localSide) run(p runParams, tick func(acked, sent int64)) (tallies, error) {
	if l.f == nil {
		return tallies{}, errors.New("not connected")
	}
	return l.f.runLoad(p, tick), nil
}

func (l *localSide) close() {
	if l.f != nil {
		l.f.close(200)
		l.f = nil
	}
}

// runLoad publishes for p.Duration, ticking once a second with the
// cumulative acknowledged and sent messages, then awaits the outstanding
// acknowledgements for up to p.Settle.
func (f *fleet) runLoad(p runParams, tick func(acked, sent int64)) tallies {
	var t tallies
	if f.tainted {
		// Acknowledgements given up on may still arrive: start clean.
		f.close(200)
		nf, _, _ := connect(f.kind, f.addr, f.all, f.qos, f.values, f.maxConns, 100)
		*f = fleet{kind: nf.kind, addr: nf.addr, qos: nf.qos, values: nf.values, all: nf.all, stations: nf.stations,
			client: nf.client, tr: nf.tr, pre: nf.pre, conns: nf.conns, maxConns: nf.maxConns}
		t.Reconnected = true
	}
	for _, s := range f.stations {
		if s.conn != nil {
			s.conn.SetDeadline(time.Time{})
		}
		select { // a permit left over from the phase before
		case <-s.permit:
		default:
		}
	}
	l := &load{f: f, rate: p.Rate, inflight: p.Inflight, stop: make(chan struct{}), giveUp: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	defer l.cancel()
	lost0 := f.lost.Load()
	start := time.Now()
	var wg sync.WaitGroup
	for _, s := range f.stations {
		wg.Add(1)
		go func() { defer wg.Done(); l.drive(s) }()
	}
	if p.Rate > 0 {
		go l.schedule()
	}
	ticker := time.NewTicker(time.Second)
	end := time.NewTimer(p.Duration)
	for running := true; running; {
		select {
		case <-ticker.C:
			tick(l.acked.Load(), l.sent.Load())
		case <-end.C:
			running = false
		}
	}
	ticker.Stop()
	close(l.stop)
	settled := make(chan struct{})
	go func() { wg.Wait(); close(settled) }()
	select {
	case <-settled:
	case <-time.After(p.Settle):
		t.GaveUp = true
		f.tainted = true
		l.abandon()
		<-settled
	}
	t.Sent, t.Acked, t.Unresolved, t.Failed = l.sent.Load(), l.acked.Load(), l.unresolved.Load(), l.failed.Load()
	t.ProtoErr, t.Offered, t.Held, t.Lost = l.protoErr.Load(), l.offered.Load(), l.heldBack.Load(), f.lost.Load()-lost0
	t.Elapsed = time.Duration(l.lastAck.Load() - start.UnixNano())
	if t.Elapsed <= 0 {
		t.Elapsed = time.Since(start)
	}
	t.P50, t.P99 = l.lat.quantile(0.5), l.lat.quantile(0.99)
	return t
}

// Messages between the parent and the station child, one JSON object a line.
type toChild struct {
	Op       string     `json:"op"` // init, connect, run, close
	Kind     string     `json:"kind,omitempty"`
	Conns    int        `json:"conns,omitempty"`
	QoS      byte       `json:"qos,omitempty"`
	Values   int        `json:"values,omitempty"`
	Devices  [][]string `json:"devices,omitempty"` // name, token
	Addr     string     `json:"addr,omitempty"`
	Run      runParams  `json:"run"`
	ParentID int        `json:"parent,omitempty"`
}

type fromChild struct {
	Type    string      `json:"type"` // ready, connected, tick, done, closed, error
	Connect connectInfo `json:"connect"`
	Acked   int64       `json:"acked,omitempty"`
	Sent    int64       `json:"sent,omitempty"`
	Done    tallies     `json:"done"`
	Err     string      `json:"err,omitempty"`
}

// childSide runs the stations in a child process.
type childSide struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	in  io.WriteCloser
}

const childFlag = "stations-child"

func startChild(kind string, qos byte, values, conns int, devs []devInfo) (*childSide, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-"+childFlag)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &childSide{cmd: cmd, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReader(out)), in: in}
	init := toChild{Op: "init", Kind: kind, QoS: qos, Values: values, Conns: conns}
	for _, d := range devs {
		init.Devices = append(init.Devices, []string{d.name, d.token})
	}
	if _, err := c.ask(init, nil); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *childSide) pid() int { return c.cmd.Process.Pid }

// ask sends a request and reads replies until its final one; ticks go to tick.
func (c *childSide) ask(m toChild, tick func(acked, sent int64)) (fromChild, error) {
	if err := c.enc.Encode(m); err != nil {
		return fromChild{}, fmt.Errorf("station process: %w", err)
	}
	for {
		var r fromChild
		if err := c.dec.Decode(&r); err != nil {
			return r, fmt.Errorf("station process: %w", err)
		}
		switch r.Type {
		case "tick":
			if tick != nil {
				tick(r.Acked, r.Sent)
			}
			continue
		case "error":
			return r, fmt.Errorf("station process: %s", r.Err)
		}
		return r, nil
	}
}

func (c *childSide) connect(addr string) (connectInfo, error) {
	r, err := c.ask(toChild{Op: "connect", Addr: addr}, nil)
	return r.Connect, err
}

func (c *childSide) run(p runParams, tick func(acked, sent int64)) (tallies, error) {
	r, err := c.ask(toChild{Op: "run", Run: p}, tick)
	return r.Done, err
}

func (c *childSide) close() { c.ask(toChild{Op: "close"}, nil) }

func (c *childSide) stop() {
	c.in.Close() // the child exits at the end of its input
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// childMain serves the parent on stdin and stdout until stdin ends.
func childMain() error {
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	var mu sync.Mutex
	send := func(m fromChild) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(m)
		out.Flush()
	}
	var side *localSide
	for {
		var m toChild
		if err := dec.Decode(&m); err == io.EOF {
			if side != nil {
				side.close()
			}
			return nil
		} else if err != nil {
			return err
		}
		switch m.Op {
		case "init":
			devs := make([]devInfo, len(m.Devices))
			for i, d := range m.Devices {
				devs[i] = devInfo{name: d[0], token: d[1]}
			}
			side = &localSide{kind: m.Kind, qos: m.QoS, values: m.Values, conns: m.Conns, stations: newStations(devs)}
			send(fromChild{Type: "ready"})
		case "connect":
			ci, err := side.connect(m.Addr)
			if err != nil {
				send(fromChild{Type: "error", Err: err.Error()})
				continue
			}
			send(fromChild{Type: "connected", Connect: ci})
		case "run":
			own := resetPeak()
			var prof *os.File
			if m.Run.Profile != "" {
				if f, err := os.Create(m.Run.Profile); err == nil && pprof.StartCPUProfile(f) == nil {
					prof = f
				}
			}
			cpu0 := readCPU()
			t, err := side.run(m.Run, func(acked, sent int64) { send(fromChild{Type: "tick", Acked: acked, Sent: sent}) })
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
				t.Profile = prof.Name()
			}
			if err != nil {
				send(fromChild{Type: "error", Err: err.Error()})
				continue
			}
			t.CPU = readCPU().sub(cpu0)
			t.HWM, t.HWMOwn = procStatus("VmHWM")[0], own
			send(fromChild{Type: "done", Done: t})
		case "close":
			if side != nil {
				side.close()
			}
			runtime.GC()
			send(fromChild{Type: "closed"})
		default:
			send(fromChild{Type: "error", Err: "unknown op " + m.Op})
		}
	}
}
