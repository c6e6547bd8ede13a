package main

// -proto http: the stations POST ThingsBoard telemetry to the platform's
// HTTP device API, POST /api/v1/{token}/telemetry, which answers once the
// readings are stored; a 2xx answer is the acknowledgement.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/httpapi"
)

// httpConns is how many keep-alive connections the stations share:
// -http-conns, or by default one for every request the stations may have
// outstanding (stations × -inflight). So, as over MQTT, the server sees a
// real fleet's concurrency — each HTTP device has a connection of its own
// — and every wait happens on the server's side, not in a client queue.
//
// Measured on 2 shared cores (closed loop, window 1; the machine was
// noisy, so compare values per CPU second of server + stations): 10,000
// stations on 10,000 connections are reasonable — opened in about 1 s,
// stations in a child process for the open-file limit, server peak RSS
// 622 MiB — and ran at a rate like that on 256 shared connections (7.8 k
// values/s against 6.8 k overall, 8.0 k against 11.2 k by median second). With
// 2,000 stations, 2,000 connections gave 10–13 k values per CPU second,
// 250–500 gave 14–15 k and 64 gave 9–12 k (too few to keep the 2 cores
// busy: at most 64 readings a batch, and the machine sat partly idle).
// Fewer connections cut memory (2,000 stations: 100–155 MiB peak RSS
// against 250) and the p99 (0.6 s against 1.5 s: the client's queue for
// a connection is first come, first served; the server's waits are not),
// but they measure a gateway in front of the server rather than the
// fleet: -http-conns 500 shows that case.
func (c *config) httpConns() int {
	if c.httpConnsFlag > 0 {
		return c.httpConnsFlag
	}
	return c.devices * c.inflight
}

// connectHTTP readies the stations to POST to the base URL base: one shared
// client whose transport keeps up to conns connections, opened here
// beforehand, workers at a time (as the MQTT stations connect before a
// phase), so that the phase does not start with conns dials at once
// against the listen backlog. The transport takes them as it needs new
// connections, and dials itself when none is left. (The server closes a
// connection that brings no request within its ReadHeaderTimeout, 10 s:
// the phase starts right after this.)
func connectHTTP(base string, all []*station, values, conns, workers int) (*fleet, int, error) {
	f := &fleet{kind: "http", addr: base, qos: 1, values: values, all: all, maxConns: conns}
	u, err := url.Parse(base)
	if err != nil {
		return f, 0, err
	}
	for _, s := range all {
		s.url = base + "/api/v1/" + url.PathEscape(s.info.token) + "/telemetry"
	}
	f.pre = make(chan net.Conn, conns)
	d := &net.Dialer{Timeout: 10 * time.Second}
	f.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			select {
			case c := <-f.pre:
				return c, nil
			default:
				return d.DialContext(ctx, network, addr)
			}
		},
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second, // the server's IdleTimeout is 2 minutes, as in cmd/cityhub
		DisableCompression:  true,
		// A request is ~250 bytes, an answer ~300 with its headers: 1 KiB
		// buffers rather than 4 KiB each way, for thousands of connections.
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
	}
	f.client = &http.Client{Transport: f.tr} // no timeout: the phase's settle time bounds a request
	var failed atomic.Int64
	var mu sync.Mutex
	var first error
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, err := d.Dial("tcp", u.Host)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				f.pre <- c
			}
		}()
	}
	for range conns {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	f.conns = len(f.pre)
	if f.conns > 0 {
		f.stations = all
	}
	return f, int(failed.Load()), first
}

// closeHTTP closes the stations' connections, idle and not yet used.
func (f *fleet) closeHTTP() {
	if f.tr != nil {
		f.tr.CloseIdleConnections()
	}
	for {
		select {
		case c := <-f.pre:
			c.Close()
		default:
			return
		}
	}
}

// driveHTTP is one station's traffic: a POST when a window slot is free
// (with -inflight 1, the next request goes when the answer has come).
func (l *load) driveHTTP(s *station) {
	sem := make(chan struct{}, l.inflight)
	var outstanding sync.WaitGroup
	for l.wait(s, sem) {
		b := s.payload(l.f.values)
		if l.inflight == 1 {
			l.post(s, b, sem)
		} else {
			outstanding.Go(func() { l.post(s, b, sem) })
		}
	}
	outstanding.Wait()
}

func (l *load) post(s *station, b []byte, sem chan struct{}) {
	defer func() { <-sem }()
	req, err := http.NewRequestWithContext(l.ctx, http.MethodPost, s.url, bytes.NewReader(b))
	if err != nil {
		l.failed.Add(1)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	l.sent.Add(1)
	resp, err := l.f.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body) // read to the end: the connection is reused
		resp.Body.Close()
	}
	switch {
	case err != nil && l.ctx.Err() != nil: // given up on
		l.unresolved.Add(1)
	case err != nil:
		l.failed.Add(1)
		time.Sleep(100 * time.Millisecond) // no storm of failures when the server is gone
	case resp.StatusCode/100 != 2:
		l.protoErr.Add(1)
	default:
		l.ack(t0)
	}
}

// An httpServer is the HTTP side of a phase's server.
type httpServer struct {
	srv *http.Server
	url string // http://127.0.0.1:port
	log *quietHandler
}

func serveHTTP(h http.Handler, log *slog.Logger, q *quietHandler) (*httpServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// As cmd/cityhub serves.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	return &httpServer{srv: srv, url: "http://" + ln.Addr().String(), log: q}, nil
}

func (h *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.srv.Close()
	}
}

// benchLogger is the HTTP server's log: warnings and errors only, so that
// the API's one Info line a request is not written (a production server
// at -log-level warn), and only the first few of them: when a phase gives
// up on its answers, every cancelled request logs an error.
func benchLogger() (*slog.Logger, *quietHandler) {
	h := &quietHandler{Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}), n: new(atomic.Int64)}
	return slog.New(h), h
}

// quietHandler passes on the first 5 records and counts the rest.
type quietHandler struct {
	slog.Handler
	n *atomic.Int64 // records handled, shared with the handlers WithAttrs and WithGroup make
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.n.Add(1) > 5 {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &quietHandler{Handler: h.Handler.WithAttrs(as), n: h.n}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{Handler: h.Handler.WithGroup(name), n: h.n}
}

// report says how many records were not shown, and starts counting anew.
func (h *quietHandler) report() {
	if n := h.n.Swap(0); n > 5 {
		fmt.Printf("  HTTP server log: %s more warnings and errors not shown\n", num(n-5))
	}
}

// servePlatformHTTP serves the platform's API over the running store and
// pipeline, wired as cmd/cityhub serve does it (without the web console
// and NGSI-LD routes, which the telemetry path does not pass through).
func (p *platform) serveHTTP(runCtx context.Context, key *cityhub.AuditKey, dir string) error {
	log, q := benchLogger()
	metrics := httpapi.NewMetrics()
	metrics.Registry.MustRegister(p.pipe)
	p.api = &httpapi.Server{Store: p.st, Auth: auth.New(p.st), AuditKey: key.Public(), Logger: log.With("component", "http"),
		Metrics: metrics, Version: "iotload", MaxBody: 1 << 20, SpoolDir: dir + "/spool", Background: runCtx,
		Series: p.series, Ingest: p.pipe}
	mux := http.NewServeMux()
	p.api.Register(mux)
	h, err := serveHTTP(p.api.Handler(mux, false), log, q)
	if err != nil {
		return err
	}
	p.http = h
	return nil
}

// serveNoStoreHTTP is the HTTP ceiling: a stock net/http server (same
// timeouts) whose handler reads the body and answers 200 with a small JSON
// object: no token look-up, no decoding, no storage.
func serveNoStoreHTTP() (*httpServer, error) {
	mux := http.NewServeMux()
	answer := []byte(`{"received":0,"stored":0,"duplicates":0,"rejected":0,"problems":[]}` + "\n")
	mux.HandleFunc("POST /api/v1/{token}/telemetry", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(answer)
	})
	log, q := benchLogger()
	return serveHTTP(mux, log, q)
}
