package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const topic = "v1/devices/me/telemetry"

// A property the stations report, with a plausible range (inside the
// AirQualityObserved type's limits) and decimals.
type property struct {
	name   string
	lo, hi float64
	prec   int
}

var properties = []property{
	{"pm25", 3, 160, 1}, {"no2", 5, 120, 1}, {"o3", 10, 220, 1},
	{"pm10", 8, 260, 1}, {"so2", 2, 60, 1}, {"co", 0.2, 3.5, 2},
	{"airQualityIndex", 15, 220, 0}, {"temperature", -5, 38, 1}, {"relativeHumidity", 15, 98, 1},
}

// station is one simulated device and its connection.
type station struct {
	info   devInfo
	idx    int
	rng    *rand.Rand
	lastTS int64 // ms; strictly increasing across phases
	permit chan struct{}

	pc paho.Client // -client paho

	conn   net.Conn // -client raw
	br     *bufio.Reader
	nextID uint16

	url string // -proto http: where it POSTs its telemetry
}

// payload is the next reading: {"ts": ms, "values": {...}}, its time
// strictly after the station's previous one.
func (s *station) payload(values int) []byte {
	ts := time.Now().UnixMilli()
	if ts <= s.lastTS {
		ts = s.lastTS + 1
	}
	s.lastTS = ts
	b := make([]byte, 0, 32+24*values)
	b = append(b, `{"ts": `...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `, "values": {`...)
	for i, p := range properties[:values] {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '"')
		b = append(b, p.name...)
		b = append(b, `": `...)
		b = strconv.AppendFloat(b, p.lo+(p.hi-p.lo)*s.rng.Float64(), 'f', p.prec, 64)
	}
	return append(b, "}}"...)
}

// fleet is the set of stations connected to one broker (or, over HTTP,
// ready to post to one server).
type fleet struct {
	kind     string // paho, raw or http
	addr     string
	qos      byte
	values   int
	all      []*station
	stations []*station // connected ones
	lost     atomic.Int64
	tainted  bool // a run gave up on acknowledgements: raw streams are out of step

	// -proto http: one client for all stations
	client          *http.Client
	tr              *http.Transport
	pre             chan net.Conn // connections opened beforehand, not yet taken by tr
	conns, maxConns int           // opened beforehand; the transport's limit
}

func newStations(devs []devInfo) []*station {
	out := make([]*station, len(devs))
	for i, d := range devs {
		out[i] = &station{info: d, idx: i, rng: rand.New(rand.NewPCG(uint64(i), 42)), permit: make(chan struct{}, 1)}
	}
	return out
}

// connect opens one connection a station, workers at a time, and returns
// the connected fleet and how many failed (with the first error). Over
// HTTP (kind http, addr the base URL) it opens conns connections for the
// stations to share, and returns how many of those failed.
func connect(kind, addr string, all []*station, qos byte, values, conns, workers int) (*fleet, int, error) {
	if kind == "http" {
		return connectHTTP(addr, all, values, conns, workers)
	}
	f := &fleet{kind: kind, addr: addr, qos: qos, values: values, all: all}
	var mu sync.Mutex
	var failed int
	var first error
	next := make(chan *station)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				var err error
				if kind == "raw" {
					err = f.dialRaw(addr, s)
				} else {
					err = f.dialPaho(addr, s)
				}
				mu.Lock()
				if err != nil {
					failed++
					if first == nil {
						first = fmt.Errorf("%s: %w", s.info.name, err)
					}
				} else {
					f.stations = append(f.stations, s)
				}
				mu.Unlock()
			}
		}()
	}
	for _, s := range all {
		next <- s
	}
	close(next)
	wg.Wait()
	return f, failed, first
}

func (f *fleet) dialPaho(addr string, s *station) error {
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(s.info.name).SetUsername(s.info.token).
		SetCleanSession(true).SetProtocolVersion(4).SetKeepAlive(0).SetConnectTimeout(10 * time.Second).
		SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false).
		SetConnectionLostHandler(func(paho.Client, error) { f.lost.Add(1) })
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	s.pc = c
	return nil
}

// dialRaw speaks just enough MQTT 3.1.1 for a telemetry station: CONNECT
// with the token as user name (keep-alive off), PUBLISH, PUBACK.
func (f *fleet) dialRaw(addr string, s *station) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	var vh []byte
	vh = append(vh, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x82, 0, 0) // level 4; user name, clean session; keep-alive 0
	vh = appendString(vh, s.info.name)
	vh = appendString(vh, s.info.token)
	pk := appendLength([]byte{0x10}, len(vh))
	pk = append(pk, vh...)
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Write(pk); err != nil {
		c.Close()
		return err
	}
	br := bufio.NewReaderSize(c, 64)
	var ack [4]byte
	if _, err := io.ReadFull(br, ack[:]); err != nil {
		c.Close()
		return fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 || ack[3] != 0 {
		c.Close()
		return fmt.Errorf("CONNACK % x: refused", ack)
	}
	c.SetDeadline(time.Time{})
	s.conn, s.br = c, br
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendLength(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

// close disconnects every station, workers at a time.
func (f *fleet) close(workers int) {
	if f.kind == "http" {
		f.closeHTTP()
		return
	}
	next := make(chan *station)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				if s.pc != nil {
					s.pc.Disconnect(0)
					s.pc = nil
				}
				if s.conn != nil {
					s.conn.SetWriteDeadline(time.Now().Add(time.Second))
					s.conn.Write([]byte{0xe0, 0})
					s.conn.Close()
					s.conn = nil
				}
			}
		}()
	}
	for _, s := range f.stations {
		next <- s
	}
	close(next)
	wg.Wait()
}

// load is one phase's traffic and its tallies.
type load struct {
	f        *fleet
	rate     float64 // messages/s in total; 0: closed loop
	inflight int
	stop     chan struct{}   // no new messages
	giveUp   chan struct{}   // stop waiting for acknowledgements
	ctx      context.Context // HTTP requests; cancelled with giveUp
	cancel   context.CancelFunc

	sent, acked, failed, unresolved, protoErr atomic.Int64
	offered, heldBack                         atomic.Int64
	lastAck                                   atomic.Int64 // unix ns
	lat                                       latHist
}

func (l *load) ack(sent time.Time) {
	now := time.Now()
	l.lat.add(now.Sub(sent))
	l.acked.Add(1)
	l.lastAck.Store(now.UnixNano())
}

// wait takes a window slot (and, with a rate, a permit) for the next
// message; false when the phase is over.
func (l *load) wait(s *station, sem chan struct{}) bool {
	if l.rate > 0 {
		select {
		case <-s.permit:
		case <-l.stop:
			return false
		}
	}
	select {
	case sem <- struct{}{}:
	case <-l.stop:
		return false
	}
	select {
	case <-l.stop:
		return false
	default:
		return true
	}
}

// schedule hands out permits at the target rate, round robin; a station
// that still holds one (its window is full) is passed over: held back.
func (l *load) schedule() {
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var issued int64
	rr := 0
	n := len(l.f.stations)
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		due := int64(l.rate * time.Since(start).Seconds())
		for ; issued < due; issued++ {
			s := l.f.stations[rr]
			rr = (rr + 1) % n
			select {
			case s.permit <- struct{}{}:
				l.offered.Add(1)
			default:
				l.heldBack.Add(1)
			}
		}
	}
}

type pend struct {
	tok  paho.Token
	id   uint16
	sent time.Time
}

func (l *load) drive(s *station) {
	if l.f.kind == "http" {
		l.driveHTTP(s)
	} else if s.pc != nil {
		l.drivePaho(s)
	} else {
		l.driveRaw(s)
	}
}

func (l *load) drivePaho(s *station) {
	sem := make(chan struct{}, l.inflight)
	pending := make(chan pend, l.inflight)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range pending {
			select {
			case <-p.tok.Done():
				if p.tok.Error() != nil {
					l.failed.Add(1)
				} else {
					l.ack(p.sent)
				}
			case <-l.giveUp:
				l.unresolved.Add(1)
			}
			<-sem
		}
	}()
	for l.wait(s, sem) {
		b := s.payload(l.f.values)
		t0 := time.Now()
		tok := s.pc.Publish(topic, l.f.qos, false, b)
		l.sent.Add(1)
		pending <- pend{tok: tok, sent: t0}
	}
	close(pending)
	<-done
}

func (l *load) driveRaw(s *station) {
	sem := make(chan struct{}, l.inflight)
	pending := make(chan pend, l.inflight)
	done := make(chan struct{})
	if l.f.qos > 0 {
		go func() {
			defer close(done)
			var ack [4]byte
			broken := false
			for p := range pending {
				if !broken {
					if _, err := io.ReadFull(s.br, ack[:]); err != nil {
						broken = true
						select {
						case <-l.giveUp:
						default:
							l.f.lost.Add(1)
						}
					}
				}
				switch {
				case broken:
					l.unresolved.Add(1)
				case ack[0] != 0x40 || ack[1] != 2 || binary.BigEndian.Uint16(ack[2:]) != p.id:
					l.protoErr.Add(1)
				default:
					l.ack(p.sent)
				}
				<-sem
			}
		}()
	} else {
		close(done)
	}
	buf := make([]byte, 0, 256)
	for l.wait(s, sem) {
		b := s.payload(l.f.values)
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		buf = append(buf[:0], 0x30|l.f.qos<<1)
		n := 2 + len(topic) + len(b)
		if l.f.qos > 0 {
			n += 2
		}
		buf = appendLength(buf, n)
		buf = appendString(buf, topic)
		if l.f.qos > 0 {
			buf = binary.BigEndian.AppendUint16(buf, s.nextID)
		}
		buf = append(buf, b...)
		t0 := time.Now()
		if l.f.qos > 0 {
			pending <- pend{id: s.nextID, sent: t0}
		}
		if _, err := s.conn.Write(buf); err != nil {
			l.failed.Add(1)
			if l.f.qos == 0 {
				<-sem
			}
			break
		}
		l.sent.Add(1)
		if l.f.qos == 0 {
			l.ack(t0)
			<-sem
		}
	}
	close(pending)
	<-done
}

// abandon ends the wait for acknowledgements still outstanding.
func (l *load) abandon() {
	close(l.giveUp)
	l.cancel()
	for _, s := range l.f.stations {
		if s.conn != nil {
			s.conn.SetDeadline(time.Now())
		}
	}
}
