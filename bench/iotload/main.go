// Command iotload measures device telemetry over MQTT or HTTP on loopback:
// it registers simulated air-quality stations and has them send
// ThingsBoard telemetry to the platform for a fixed time, then checks that
// every acknowledged value is stored. It stops by itself.
//
// With -proto mqtt (the default) each station connects over its own TCP
// connection to the platform's embedded broker and publishes at QoS 1: the
// PUBACK means durable. With -proto http each station POSTs the same JSON
// to the platform's HTTP API, POST /api/v1/{token}/telemetry, which answers
// once the readings are stored: a 2xx answer is the acknowledgement. The
// stations share one HTTP/1.1 client with keep-alive connections, by
// default one for each request they may have outstanding (-http-conns).
//
//	go run ./bench/iotload -devices 200 -duration 5s                 # a quick look
//	go run ./bench/iotload -mode both -overload                      # 10,000 stations, 30 s a phase
//	go run ./bench/iotload -rate 20000 -dir /tmp/iot                 # open loop at 20,000 messages/s; keep the stores
//	go run ./bench/iotload -proto http -devices 2000 -duration 10s   # over HTTP
//
// Either way a station sends its next message when a slot of its window
// (-inflight) is free: closed loop, or open loop at -rate.
//
// -mode nostore runs the same stations against a stock server with no
// storage: over MQTT a stock mochi broker with an allow-all hook, over HTTP
// a stock net/http server that reads the body and answers 200 (the ceiling
// of server + clients on this machine); both runs that first, then the
// platform, and prints the ratio. -overload then drives the platform at
// 10× the rate it sustained, with a deeper window per station, to show
// that memory stays bounded: the ingest queue fills, the broker stops
// reading (over HTTP the handlers wait), TCP holds the stations back.
//
// Server and stations run in one process when the open-file limit holds
// both ends of every connection (2 × connections + a margin) or can be
// raised that far; otherwise (a container without CAP_SYS_RESOURCE) the
// stations run in a child process of the same binary, and memory and CPU
// are reported for each process and for both together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/httpapi"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/mqtt"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

type config struct {
	devices, values, inflight, qos int
	duration, settle               time.Duration
	rate                           float64
	dir, mode, client, cpuProfile  string
	proto                          string
	httpConnsFlag                  int
	memProfile                     string
	stations                       string
	overload                       bool
	overloadInflight               int
	queries, createWorkers         int
	nostorePending                 int
}

func main() {
	var c config
	child := flag.Bool(childFlag, false, "internal: serve as the station process")
	flag.StringVar(&c.proto, "proto", "mqtt", "how the stations send: mqtt (publish QoS 1 to the embedded broker) or http (POST /api/v1/{token}/telemetry, over shared keep-alive connections)")
	flag.IntVar(&c.devices, "devices", 10000, "simulated stations, one TCP connection each over MQTT")
	flag.IntVar(&c.httpConnsFlag, "http-conns", 0, "-proto http: keep-alive connections the stations share; 0: one for each request they may have outstanding (stations × -inflight)")
	flag.IntVar(&c.values, "values", 3, "values a message (1–9: pm25, no2, o3, pm10, so2, co, AQI, temperature, humidity)")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long each phase publishes")
	flag.Float64Var(&c.rate, "rate", 0, "target messages/s in total; 0: closed loop, each station publishes when a window slot is free")
	flag.IntVar(&c.inflight, "inflight", 1, "unacknowledged messages a station may have (its window)")
	flag.IntVar(&c.qos, "qos", 1, "MQTT QoS, 1 (acknowledged when durable) or 0 (needs -rate); HTTP always answers when durable")
	flag.StringVar(&c.dir, "dir", "", "work directory, kept (devices are registered once and reused; the series store is made anew each run); default a temp dir, removed")
	flag.StringVar(&c.mode, "mode", "store", "store (the platform), nostore (a stock mochi broker or net/http server, no storage: the ceiling) or both")
	flag.BoolVar(&c.overload, "overload", false, "then run the platform at 10× the rate it sustained, to show memory stays bounded")
	flag.IntVar(&c.overloadInflight, "overload-inflight", 10, "window a station in the overload phase (deep enough to fill the ingest queue)")
	flag.StringVar(&c.client, "client", "paho", "MQTT station client: paho (eclipse/paho.mqtt.golang) or raw (a minimal MQTT 3.1.1 writer, to see the server's share); -proto http uses net/http")
	flag.StringVar(&c.stations, "stations", "auto", "where the stations run: inprocess, child (a child process), or auto (in process if the open-file limit allows)")
	flag.DurationVar(&c.settle, "settle", 60*time.Second, "how long to wait for outstanding acknowledgements after a phase")
	flag.IntVar(&c.queries, "queries", 200, "7-day queries at 1-minute step to time")
	flag.IntVar(&c.createWorkers, "create-workers", 4, "devices registered at a time")
	flag.IntVar(&c.nostorePending, "nostore-writes-pending", 0, "experiment: the nostore broker's MaximumClientWritesPending (0: mochi's default, 8,192; each client's outbound queue is a channel that long)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write CPU profiles of each phase's publishing to this path + .<phase> (+ .stations for a station child)")
	flag.StringVar(&c.memProfile, "memprofile", "", "write a heap profile of the server process at the end of each phase's publishing to this path + .<phase>")
	flag.Parse()
	if *child {
		if err := childMain(); err != nil {
			fmt.Fprintln(os.Stderr, "iotload stations:", err)
			os.Exit(1)
		}
		return
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "iotload:", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "iotload:", err)
		os.Exit(1)
	}
}

func (c *config) check() error {
	switch {
	case c.devices < 1 || c.devices > 100000:
		return errors.New("-devices must be 1–100,000")
	case c.values < 1 || c.values > len(properties):
		return fmt.Errorf("-values must be 1–%d", len(properties))
	case c.inflight < 1 || c.inflight > 1000 || c.overloadInflight < 1 || c.overloadInflight > 1000:
		return errors.New("-inflight and -overload-inflight must be 1–1000")
	case c.proto != "mqtt" && c.proto != "http":
		return errors.New("-proto is mqtt or http")
	case c.proto == "http" && c.qos != 1:
		return errors.New("-qos is MQTT's: an HTTP answer always means stored")
	case c.httpConnsFlag < 0 || c.httpConnsFlag > 100000:
		return errors.New("-http-conns must be 0–100,000")
	case c.proto == "http" && c.httpConns() > 100000:
		return errors.New("-proto http: stations × -inflight connections is over 100,000; give -http-conns")
	case c.qos != 0 && c.qos != 1:
		return errors.New("-qos must be 0 or 1 (the platform's MQTT API is QoS 0 and 1)")
	case c.qos == 0 && c.rate <= 0:
		return errors.New("-qos 0 has no acknowledgements to pace a closed loop: give -rate")
	case c.mode != "store" && c.mode != "nostore" && c.mode != "both":
		return errors.New("-mode is store, nostore or both")
	case c.client != "paho" && c.client != "raw":
		return errors.New("-client is paho or raw")
	case c.stations != "auto" && c.stations != "inprocess" && c.stations != "child":
		return errors.New("-stations is auto, inprocess or child")
	case c.duration <= 0 || c.duration > time.Hour:
		return errors.New("-duration must be within an hour")
	case c.settle <= 0 || c.settle > 10*time.Minute:
		return errors.New("-settle must be within 10 minutes")
	}
	return nil
}

// a phase's figures
type result struct {
	name      string
	proto     string
	qos       int
	connected int
	values    int
	t         tallies
	windows   []float64 // acknowledged values a second, over the publishing time
	overall   float64   // values/s over first message → last acknowledgement
	median    float64   // values/s, median second
	mem       *memSampler
	hwm       int64 // KiB, VmHWM of this process
	hwmOwn    bool  // VmHWM was reset for this phase
	cpu       cpuTimes
	child     bool
	machine   float64          // busy CPU seconds of the whole machine
	sched     [3]time.Duration // the server's goroutine scheduling latency: p50, p99, p99.9
	io        procIO           // the server process's I/O over the phase
}

func run(c config) error {
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench"})
	conns, kind := c.devices, c.client // connections, station client
	if c.proto == "http" {
		conns, kind = c.httpConns(), "http"
		fmt.Printf("iotload: %s stations over HTTP/1.1 (POST /api/v1/{token}/telemetry, net/http client, %s keep-alive connections shared), %d values a message, %s a phase, %s; mode %s; GOMAXPROCS %d\n",
			num(c.devices), num(conns), c.values, c.duration, pace(c.rate, c.inflight), c.mode, runtime.GOMAXPROCS(0))
	} else {
		fmt.Printf("iotload: %s stations (%s client), %d values a message, QoS %d, %s a phase, %s; mode %s; GOMAXPROCS %d\n",
			num(c.devices), c.client, c.values, c.qos, c.duration, pace(c.rate, c.inflight), c.mode, runtime.GOMAXPROCS(0))
	}
	if conns > 28000 {
		fmt.Println("  note: more connections than the usual ephemeral port range (32768–60999) may not all connect")
	}

	// Both ends of every connection in one process need 2 × connections files.
	inProcess := c.stations == "inprocess"
	if c.stations != "child" {
		err := raiseFileLimit(uint64(2*conns + 256))
		switch {
		case err == nil:
			inProcess = true
		case c.stations == "inprocess":
			return err
		default:
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			fmt.Printf("open files: %s connections need %s descriptors in one process (both ends of each connection), the hard limit is %s and cannot be raised here (%v):\n"+
				"  THE STATIONS RUN IN A CHILD PROCESS; memory and CPU are given for each process and for both\n",
				num(conns), num(2*conns+256), num(int64(lim.Max)), errors.Unwrap(err))
		}
	}
	if !inProcess {
		if err := raiseFileLimit(uint64(conns + 256)); err != nil {
			return err
		}
	}

	if c.dir == "" {
		d, err := os.MkdirTemp("", "iotload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}

	var devs []devInfo
	if c.mode == "nostore" {
		for i := range c.devices {
			devs = append(devs, devInfo{name: fmt.Sprintf("bench-aq-%05d", i), token: "any"})
		}
	} else {
		var err error
		if devs, err = prepareDevices(ctx, c.dir, c.devices, c.createWorkers); err != nil {
			return err
		}
	}
	var side stationSide
	if inProcess {
		side = &localSide{kind: kind, qos: byte(c.qos), values: c.values, conns: conns, stations: newStations(devs)}
	} else {
		ch, err := startChild(kind, byte(c.qos), c.values, conns, devs)
		if err != nil {
			return err
		}
		defer ch.stop()
		side = ch
	}

	var ceiling, platform *result
	if c.mode != "store" {
		r, err := runNoStore(c, side)
		if err != nil {
			return err
		}
		ceiling = r
	}
	if c.mode != "nostore" {
		r, err := runStore(ctx, c, side, devs[0].id, ceiling)
		if err != nil {
			return err
		}
		platform = r
	} else if c.overload {
		fmt.Println("overload: it runs against the platform; use -mode store or both")
	}
	if ceiling != nil && platform != nil {
		fmt.Printf("\nratio platform / ceiling: %.2f overall (%s vs %s values/s), %.2f by median second (%s vs %s)\n",
			platform.overall/ceiling.overall, num(platform.overall), num(ceiling.overall),
			platform.median/ceiling.median, num(platform.median), num(ceiling.median))
	}
	return nil
}

// messages is what the stations send: MQTT messages or HTTP requests.
func messages(proto string) string {
	if proto == "http" {
		return "requests"
	}
	return "messages"
}

func pace(rate float64, inflight int) string {
	if rate > 0 {
		return fmt.Sprintf("open loop at %s messages/s, window %d a station", num(rate), inflight)
	}
	return fmt.Sprintf("closed loop, window %d a station", inflight)
}

// allowAll is mochi's hooks/auth.AllowHook, copied: that package also
// brings in gopkg.in/yaml.v3, which is not in go.sum.
type allowAll struct{ mochi.HookBase }

func (h *allowAll) ID() string { return "allow-all-auth" }
func (h *allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// runNoStore is the ceiling: a stock mochi broker, allow-all, no storage
// (over HTTP, a stock net/http server).
func runNoStore(c config, side stationSide) (*result, error) {
	if c.proto == "http" {
		fmt.Printf("\n== phase nostore: stock net/http server (cmd/cityhub's timeouts), reads the body and answers 200, no token look-up, no storage ==\n")
		h, err := serveNoStoreHTTP()
		if err != nil {
			return nil, err
		}
		defer h.close()
		r, err := runNoStoreOn(c, side, h.url)
		h.log.report()
		return r, err
	}
	opts := &mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false}
	what := "default options"
	if c.nostorePending > 0 {
		opts.Capabilities = mochi.NewDefaultServerCapabilities()
		opts.Capabilities.MaximumClientWritesPending = int32(c.nostorePending)
		what = fmt.Sprintf("default options but MaximumClientWritesPending %d", c.nostorePending)
	}
	fmt.Printf("\n== phase nostore: stock mochi-mqtt v2.7.9 (%s), allow-all hook, no storage ==\n", what)
	srv := mochi.New(opts)
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return nil, err
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		return nil, err
	}
	if err := srv.Serve(); err != nil {
		return nil, err
	}
	defer srv.Close()
	return runNoStoreOn(c, side, l.Address())
}

func runNoStoreOn(c config, side stationSide, addr string) (*result, error) {
	n, err := connectAll(side, addr)
	if err != nil {
		return nil, err
	}
	defer side.close()
	r, err := publish(c, side, runParams{Name: "nostore", Rate: c.rate, Inflight: c.inflight, Duration: c.duration, Settle: c.settle}, nil)
	if err != nil {
		return nil, err
	}
	r.connected = n
	report(r, nil)
	return r, nil
}

// a running platform: stores, ingest pipeline and broker, as in cmd.
type platform struct {
	st     *sqlstore.Store
	series *tsdb.Store
	ts     *timedSeries  // the series store as the pipeline sees it
	td     *timedDevices // the device service as the pipeline sees it
	pipe   *ingest.Pipeline
	broker *mqtt.Broker
	api    *httpapi.Server // -proto http
	http   *httpServer     // serving api
	cancel context.CancelFunc
	done   chan struct{}
}

// startPlatform runs the platform in dir; with serveHTTP its HTTP API too.
func startPlatform(ctx context.Context, dir string, serveHTTP bool) (*platform, error) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "series.db"+suffix))
	}
	st, key, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	series, err := tsdb.Open(ctx, filepath.Join(dir, "series.db"), tsdb.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	p := &platform{st: st, series: series, ts: &timedSeries{SeriesStore: series}, td: &timedDevices{DeviceService: st}, cancel: cancel, done: make(chan struct{})}
	p.pipe = ingest.New(p.ts, p.td, ingest.Options{})
	go func() { p.pipe.Run(runCtx); close(p.done) }()
	p.broker, err = mqtt.New(st, p.pipe, mqtt.Options{Addr: "127.0.0.1:0", Context: runCtx})
	if err == nil {
		err = p.broker.Start()
	}
	if err == nil && serveHTTP {
		err = p.serveHTTP(runCtx, key, dir)
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// addr is where the stations go: the broker, or the HTTP API's base URL.
func (p *platform) addr() string {
	if p.http != nil {
		return p.http.url
	}
	return p.broker.Addr()
}

// reportLog says how much of the HTTP server's log was not shown.
func (p *platform) reportLog() {
	if p.http != nil {
		p.http.log.report()
	}
}

func (p *platform) stop() {
	if p.http != nil {
		p.http.close()
	}
	if p.broker != nil {
		p.broker.Close()
	}
	p.cancel()
	<-p.done
	p.series.Close()
	p.st.Close()
}

func runStore(ctx context.Context, c config, side stationSide, queryDevice int64, ceiling *result) (*result, error) {
	front := "broker"
	if c.proto == "http" {
		front = "HTTP API (POST /api/v1/{token}/telemetry, answered when stored)"
	}
	fmt.Printf("\n== phase store: the platform's %s → ingest → series store (SQLite, %s) ==\n", front, c.dir)
	p, err := startPlatform(ctx, c.dir, c.proto == "http")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	n, err := connectAll(side, p.addr())
	if err != nil {
		return nil, err
	}
	defer side.close()
	queued := func() int64 { return p.pipe.Counts().Queued }
	before, err := p.mark(ctx, false)
	if err != nil {
		return nil, err
	}
	r, err := publish(c, side, runParams{Name: "store", Rate: c.rate, Inflight: c.inflight, Duration: c.duration, Settle: c.settle}, queued)
	if err != nil {
		return nil, err
	}
	r.connected = n
	if err := settleStore(ctx, c, p, r, before); err != nil {
		return nil, err
	}
	p.reportLog()
	report(r, ceiling)

	if err := queryTarget(ctx, c, p, queryDevice); err != nil {
		return nil, err
	}
	if !c.overload {
		return r, nil
	}

	rate := 10 * float64(r.t.Acked) / r.t.Elapsed.Seconds()
	if c.proto == "http" {
		fmt.Printf("\n== phase overload: the platform at 10× the sustained rate: %s requests/s offered, window %d a station (up to %s requests in flight; HTTP/1.1 carries one at a time a connection, so beyond the %s connections they wait in the stations' client; the ingest queue admits %s readings, and each handler blocked on it holds one more) ==\n",
			num(rate), c.overloadInflight, num(c.overloadInflight*c.devices), num(c.httpConns()), num(50000))
	} else {
		fmt.Printf("\n== phase overload: the platform at 10× the sustained rate: %s messages/s offered, window %d a station (up to %s messages in flight; the ingest queue admits %s readings, and each connection blocked on it holds one more) ==\n",
			num(rate), c.overloadInflight, num(c.overloadInflight*n), num(50000))
	}
	if before, err = p.mark(ctx, true); err != nil {
		return nil, err
	}
	o, err := publish(c, side, runParams{Name: "overload", Rate: rate, Inflight: c.overloadInflight, Duration: c.duration, Settle: c.settle}, queued)
	if err != nil {
		return nil, err
	}
	o.connected = n
	if err := settleStore(ctx, c, p, o, before); err != nil {
		return nil, err
	}
	p.reportLog()
	report(o, nil)
	fmt.Printf("  memory over time (every 5 s):\n")
	for i, m := range o.mem.series {
		if i%5 == 0 || i == len(o.mem.series)-1 {
			line := fmt.Sprintf("    t=%3.0fs  RSS %5d MiB  anonymous %5d MiB", m.at.Seconds(), m.rss/1024, m.anon/1024)
			if o.child {
				line = fmt.Sprintf("    t=%3.0fs  server RSS %5d MiB (anonymous %5d)  stations RSS %5d MiB (anonymous %5d)",
					m.at.Seconds(), m.rss/1024, m.anon/1024, m.childRSS/1024, m.childAnon/1024)
			}
			fmt.Printf("%s  in ingest %7s values  server goroutines %s\n", line, num(m.queued), num(m.goroutines))
		}
	}
	// Growth: compare the peaks of the second and last thirds of the phase
	// (the first holds the ramp-up).
	if k := len(o.mem.series) / 3; k > 0 {
		peak := func(ms []memSample) (a int64) {
			for _, m := range ms {
				a = max(a, m.anon)
			}
			return
		}
		mid, last := peak(o.mem.series[k:2*k]), peak(o.mem.series[2*k:])
		verdict := "flat: bounded"
		if float64(last) > 1.15*float64(mid) {
			verdict = "STILL GROWING"
		}
		fmt.Printf("  server anonymous RSS: peak in the middle third %s, in the last third %s (store phase peak %s): %s\n",
			mib(mid), mib(last), mib(r.mem.peakAnon), verdict)
	}
	return r, nil
}

func connectAll(side stationSide, addr string) (int, error) {
	ci, err := side.connect(addr)
	if err != nil {
		return 0, err
	}
	if ci.Conns > 0 { // HTTP
		if ci.Failed > 0 {
			fmt.Printf("  CONNECT FAILURES: %d of %d connections (first: %s)\n", ci.Failed, ci.Failed+ci.Conns, ci.FirstErr)
		}
	} else if ci.Failed > 0 {
		fmt.Printf("  CONNECT FAILURES: %d of %d (first: %s)\n", ci.Failed, ci.Failed+ci.Connected, ci.FirstErr)
	}
	if ci.Connected == 0 {
		return 0, fmt.Errorf("no station connected: %s", ci.FirstErr)
	}
	runtime.GC()
	debug.FreeOSMemory()
	m := procStatus("VmRSS", "RssAnon")
	mem := fmt.Sprintf("RSS %s, anonymous %s", mib(m[0]), mib(m[1]))
	if pid := side.pid(); pid != 0 {
		cm := procStatusOf(pid, "VmRSS", "RssAnon")
		mem = fmt.Sprintf("server RSS %s (anonymous %s), stations RSS %s (anonymous %s)", mib(m[0]), mib(m[1]), mib(cm[0]), mib(cm[1]))
	}
	if ci.Conns > 0 {
		fmt.Printf("  connected %s stations: %s keep-alive connections for them to share, opened in %s (%s/s); idle: %s; %s server goroutines\n",
			num(ci.Connected), num(ci.Conns), ci.Took.Round(time.Millisecond), num(float64(ci.Conns)/ci.Took.Seconds()), mem, num(runtime.NumGoroutine()))
	} else {
		fmt.Printf("  connected %s stations in %s (%s/s); idle: %s; %s server goroutines\n",
			num(ci.Connected), ci.Took.Round(time.Millisecond), num(float64(ci.Connected)/ci.Took.Seconds()), mem, num(runtime.NumGoroutine()))
	}
	return ci.Connected, nil
}

// publish runs one phase: the stations publish for the configured time,
// then their outstanding acknowledgements are awaited; meanwhile memory is
// sampled and progress printed.
func publish(c config, side stationSide, p runParams, queued func() int64) (*result, error) {
	r := &result{name: p.Name, proto: c.proto, qos: c.qos, values: c.values, child: side.pid() != 0}
	r.hwmOwn = resetPeak()
	var prof *os.File
	if c.cpuProfile != "" {
		if r.child {
			p.Profile = c.cpuProfile + "." + p.Name + ".stations"
		}
		f, err := os.Create(c.cpuProfile + "." + p.Name)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		prof = f
	}
	cpu0 := readCPU()
	busy0, _ := machineCPU()
	sched0 := schedLatencies()
	io0 := readIO()
	start := time.Now()
	r.mem = sampleMemory(start, queued, side.pid())
	var last int64
	t, err := side.run(p, func(acked, sent int64) {
		r.windows = append(r.windows, float64((acked-last)*int64(c.values)))
		last = acked
		if n := len(r.windows); c.memProfile != "" && n == int(c.duration.Seconds()) {
			if f, err := os.Create(c.memProfile + "." + p.Name); err == nil {
				runtime.GC()
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
				fmt.Printf("  heap profile: %s\n", f.Name())
			}
		}
		if n := len(r.windows); n%5 == 0 {
			q := ""
			if queued != nil {
				q = fmt.Sprintf(", in ingest %s values", num(queued()))
			}
			fmt.Printf("  %3ds: %s values/s acknowledged, %s %s sent%s\n", n, num(r.windows[n-1]), num(sent), messages(c.proto), q)
		}
	})
	r.cpu = readCPU().sub(cpu0)
	busy1, _ := machineCPU()
	r.machine = busy1 - busy0
	io1 := readIO()
	r.io = procIO{io1.rchar - io0.rchar, io1.wchar - io0.wchar, io1.writeBytes - io0.writeBytes}
	sched1 := schedLatencies()
	for i, q := range []float64{0.5, 0.99, 0.999} {
		r.sched[i] = histQuantile(sched0, sched1, q)
	}
	r.mem.finish()
	r.hwm = procStatus("VmHWM")[0]
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
		fmt.Printf("  CPU profile: %s", prof.Name())
		if t.Profile != "" {
			fmt.Printf(", stations: %s", t.Profile)
		}
		fmt.Println()
	}
	if err != nil {
		return nil, err
	}
	if t.GaveUp {
		fmt.Printf("  acknowledgements still outstanding %s after the phase: given up on\n", c.settle)
	}
	if t.Reconnected {
		fmt.Printf("  (the stations reconnected first: the phase before gave up on acknowledgements)\n")
	}
	r.t = t
	r.overall = float64(t.Acked*int64(c.values)) / t.Elapsed.Seconds()
	r.median = median(r.windows)
	return r, nil
}

// a mark is the platform's tallies when a phase starts.
type mark struct {
	counts          ingest.Counts
	values          int64 // in the series store
	writes, touches writerSnap
}

func (p *platform) mark(ctx context.Context, stats bool) (mark, error) {
	m := mark{counts: p.pipe.Counts(), writes: p.ts.w.snap(), touches: p.td.w.snap()}
	if stats {
		st, err := p.series.Stats(ctx)
		if err != nil {
			return m, err
		}
		m.values = st.Values
	}
	return m, nil
}

// settleStore waits for the pipeline to drain and checks that stored
// values equal acknowledged ones: ingest's counts and the series store's.
func settleStore(ctx context.Context, c config, p *platform, r *result, mk mark) error {
	before, tsdbBefore := mk.counts, mk.values
	w, tch := p.ts.w.snap().sub(mk.writes), p.td.w.snap().sub(mk.touches)
	v := int64(c.values)
	deadline := time.Now().Add(c.settle)
	for {
		cn := p.pipe.Counts()
		arrived := c.qos == 1 || cn.Received-before.Received >= r.t.Sent*v
		if (cn.Queued == 0 && arrived) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cn := p.pipe.Counts()
	t0 := time.Now()
	if err := p.series.Flush(ctx); err != nil {
		return err
	}
	st, err := p.series.Stats(ctx)
	if err != nil {
		return err
	}
	statsTook := time.Since(t0)
	acked := r.t.Acked * v
	stored := cn.Stored - before.Stored
	inTSDB := st.Values - tsdbBefore
	slack := (r.t.Unresolved + r.t.Failed) * v
	sum := func(now, was map[string]int64) (n int64) {
		for k, x := range now {
			n += x - was[k]
		}
		return
	}
	rejected, dropped := sum(cn.Rejected, before.Rejected), sum(cn.Dropped, before.Dropped)
	fmt.Printf("  ingest: received %s values, stored %s, duplicates %s, rejected %s, dropped %s, queued %s\n",
		num(cn.Received-before.Received), num(stored), num(cn.Duplicates-before.Duplicates), num(rejected), num(dropped), num(cn.Queued))
	fmt.Printf("  series store: %s values in %s readings (this phase %s values); %.1f MB on disk (raw, rollups, latest, WAL): %.1f bytes a raw value (flush + Stats took %s)\n",
		num(st.Values), num(st.Readings), num(inTSDB), float64(st.Bytes)/1e6, float64(st.Bytes)/float64(max(st.Values, 1)), statsTook.Round(time.Millisecond))
	wall := r.t.Elapsed
	fmt.Printf("  ingest writer (one goroutine): busy %.0f%% of %s — series writes %s (%s readings each on average, %.1f ms each, longest %s, %d over 250 ms: those write blocks or merge rollups) %.1f s; device arrival updates %d × %s devices, %.1f s (longest %s)\n",
		100*(w.busy+tch.busy).Seconds()/wall.Seconds(), wall.Round(time.Second), num(w.calls), num(float64(w.items)/float64(max(w.calls, 1))),
		float64(w.busy.Milliseconds())/float64(max(w.calls, 1)), w.longest.Round(time.Millisecond), w.slow, w.busy.Seconds(),
		tch.calls, num(float64(tch.items)/float64(max(tch.calls, 1))), tch.busy.Seconds(), tch.longest.Round(time.Millisecond))
	acks := "PUBACKs"
	if c.proto == "http" {
		acks = "HTTP answers"
	}
	fmt.Printf("  server I/O during the phase: write calls %.0f MB (%.0f bytes a stored value: SQLite WAL pages and checkpoints, %s), read calls %.0f MB, reached the disk %.0f MB\n",
		float64(r.io.wchar)/1e6, float64(r.io.wchar)/float64(max(stored, 1)), acks, float64(r.io.rchar)/1e6, float64(r.io.writeBytes)/1e6)
	ok := func(n int64) bool { return n >= acked && n <= acked+slack }
	if ok(stored) && ok(inTSDB) && rejected == 0 && dropped == 0 {
		extra := ""
		if stored > acked {
			extra = fmt.Sprintf(" (+%s from messages whose acknowledgement was not awaited)", num(stored-acked))
		}
		fmt.Printf("  check: acknowledged values %s = ingest stored %s = series store %s%s: OK\n", num(acked), num(stored), num(inTSDB), extra)
	} else {
		fmt.Printf("  !!!!!! MISMATCH: acknowledged values %s, ingest stored %s, series store %s (allowed excess %s), rejected %s, dropped %s !!!!!!\n",
			num(acked), num(stored), num(inTSDB), num(slack), num(rejected), num(dropped))
		if rejected+dropped > 0 {
			fmt.Printf("  rejected by reason %v, dropped by reason %v\n", cn.Rejected, cn.Dropped)
		}
	}
	return nil
}

func report(r *result, ceiling *result) {
	t, v := r.t, int64(r.values)
	msgs := messages(r.proto)
	if r.proto == "http" {
		fmt.Printf("  %s: %s stations connected; requests sent %s, acknowledged (2xx) %s", r.name, num(r.connected), num(t.Sent), num(t.Acked))
		if t.Unresolved+t.Failed+t.ProtoErr > 0 {
			fmt.Printf(" (NOT ANSWERED %s, request errors %s, non-2xx answers %s)", num(t.Unresolved), num(t.Failed), num(t.ProtoErr))
		}
	} else {
		fmt.Printf("  %s: %s stations connected; messages sent %s, acknowledged %s", r.name, num(r.connected), num(t.Sent), num(t.Acked))
		if t.Unresolved+t.Failed+t.ProtoErr+t.Lost > 0 {
			fmt.Printf(" (NOT ACKNOWLEDGED %s, publish errors %s, bad acks %s, connections lost %s)", num(t.Unresolved), num(t.Failed), num(t.ProtoErr), num(t.Lost))
		}
	}
	fmt.Println()
	if t.Offered+t.Held > 0 {
		fmt.Printf("  schedule: %s %s due, %s of them held back because the station's window was full\n", num(t.Offered+t.Held), msgs, num(t.Held))
	}
	lo, hi := 0.0, 0.0
	if len(r.windows) > 0 {
		lo, hi = slices.Min(r.windows), slices.Max(r.windows)
	}
	fmt.Printf("  throughput: %s values/s acknowledged overall (%s values in %s), median second %s values/s (%d one-second windows, min %s, max %s); %s %s/s\n",
		num(r.overall), num(t.Acked*v), t.Elapsed.Round(time.Millisecond), num(r.median), len(r.windows), num(lo), num(hi), num(r.overall/float64(v)), msgs)
	what := "publish → PUBACK latency"
	if r.proto == "http" {
		what = "POST → answer latency"
	} else if r.qos == 0 {
		what = "publish write time (QoS 0: no PUBACK; \"acknowledged\" means written)"
	}
	fmt.Printf("  %s: p50 %s, p99 %s (±10%%)\n", what, t.P50.Round(10*time.Microsecond), t.P99.Round(10*time.Microsecond))
	hwm := func(kib int64, own bool) string {
		if own {
			return mib(kib)
		}
		return mib(kib) + " (since the process started: clear_refs unavailable)"
	}
	m := r.mem
	if r.child {
		fmt.Printf("  memory, server process: peak RSS (VmHWM) %s; sampled every 100 ms: peak RSS %s, peak anonymous %s\n",
			hwm(r.hwm, r.hwmOwn), mib(m.peakRSS), mib(m.peakAnon))
		fmt.Printf("  memory, station process: peak RSS (VmHWM) %s; sampled: peak RSS %s, peak anonymous %s; both processes together: peak RSS %s, peak anonymous %s\n",
			hwm(t.HWM, t.HWMOwn), mib(m.childRSS), mib(m.childAnon), mib(m.sumRSS), mib(m.sumAnon))
	} else {
		fmt.Printf("  memory (server and stations): peak RSS (VmHWM) %s; sampled every 100 ms: peak RSS %s, peak anonymous %s\n",
			hwm(r.hwm, r.hwmOwn), mib(m.peakRSS), mib(m.peakAnon))
	}
	wall := t.Elapsed.Seconds()
	cores := float64(runtime.NumCPU())
	cpu := func(c cpuTimes) string {
		return fmt.Sprintf("user %.1f s + system %.1f s = %.0f%% of %.0f cores (Go GC %.1f s)", c.User, c.Sys, 100*(c.User+c.Sys)/wall/cores, cores, c.GC)
	}
	ours := r.cpu.User + r.cpu.Sys
	if r.child {
		ours += t.CPU.User + t.CPU.Sys
		fmt.Printf("  CPU over %.1f s: server %s; stations %s\n", wall, cpu(r.cpu), cpu(t.CPU))
	} else {
		fmt.Printf("  CPU over %.1f s: %s\n", wall, cpu(r.cpu))
	}
	fmt.Printf("  server goroutines' wait to run once runnable (Go scheduler latency): p50 %s, p99 %s, p99.9 %s\n", r.sched[0].Round(time.Microsecond), r.sched[1].Round(time.Microsecond), r.sched[2].Round(time.Microsecond))
	other := max(0, r.machine-ours) / wall / cores
	note := ""
	if other > 0.1 {
		note = ": NOISY, other work competed for the cores"
	}
	fmt.Printf("  machine: %.0f%% busy over the phase, other processes %.0f%%%s\n", 100*r.machine/wall/cores, 100*other, note)
	if ceiling != nil {
		fmt.Printf("  ratio to the nostore ceiling: %.2f overall, %.2f by median second\n", r.overall/ceiling.overall, r.median/ceiling.median)
	}
}

// queryTarget writes 7 days of 1-minute readings for one station directly
// into the series store and times 7-day queries at 1-minute step.
func queryTarget(ctx context.Context, c config, p *platform, device int64) error {
	fmt.Printf("\n== query target: 7 days of 1-minute data for one station, %d queries of 7 days at 1-minute step (avg) ==\n", c.queries)
	const n = 7 * 24 * 60
	from := time.Now().Truncate(time.Minute).Add(-7*24*time.Hour - time.Hour)
	readings := make([]cityhub.Reading, n)
	for i := range readings {
		var vals []cityhub.Value
		for j, pr := range properties[:c.values] {
			x := pr.lo + (pr.hi-pr.lo)*float64((i*7+j*13)%100)/100
			vals = append(vals, cityhub.Value{Key: pr.name, Num: x, Kind: cityhub.KindNumber})
		}
		slices.SortFunc(vals, func(a, b cityhub.Value) int { return strings.Compare(a.Key, b.Key) })
		readings[i] = cityhub.Reading{DeviceID: device, Time: from.Add(time.Duration(i) * time.Minute), Values: vals}
	}
	t0 := time.Now()
	for i := 0; i < n; i += 5000 {
		out, err := p.series.Write(ctx, readings[i:min(i+5000, n)])
		if err != nil {
			return err
		}
		for _, o := range out {
			if o != cityhub.Stored {
				return fmt.Errorf("query data: a reading was not stored (outcome %d)", o)
			}
		}
	}
	fmt.Printf("  wrote %s readings through tsdb.Store.Write in %s\n", num(n), time.Since(t0).Round(time.Millisecond))
	q := cityhub.SeriesQuery{DeviceID: device, Key: "pm25", From: from, To: from.Add(7 * 24 * time.Hour), Step: time.Minute, Agg: "avg"}
	measure := func(label string) error {
		if c.queries <= 0 {
			return nil
		}
		lat := make([]time.Duration, 0, c.queries)
		for range c.queries {
			t := time.Now()
			pts, err := p.series.Series(ctx, q)
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t))
			if len(pts) != n {
				return fmt.Errorf("7-day query returned %d points, want %d", len(pts), n)
			}
		}
		slices.Sort(lat)
		fmt.Printf("  %s: p50 %s, p95 %s, max %s (%s points each)\n", label,
			percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.95).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), num(n))
		return nil
	}
	if err := measure("as written (rollups since the last flush answered from memory)"); err != nil {
		return err
	}
	if err := p.series.Flush(ctx); err != nil {
		return err
	}
	return measure("after Flush (all rollups read from SQLite)")
}
