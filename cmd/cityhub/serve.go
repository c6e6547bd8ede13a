package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/ckan"
	"github.com/cityhub/cityhub/dcat"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/httpapi"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/mqtt"
	"github.com/cityhub/cityhub/mqttbridge"
	"github.com/cityhub/cityhub/ngsild"
	"github.com/cityhub/cityhub/openaccess"
	"github.com/cityhub/cityhub/pgseries"
	"github.com/cityhub/cityhub/portal"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
	"github.com/cityhub/cityhub/web"
)

func newLogger(c Config, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.LogLevel)) // checked by Validate
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured store. With writable, the audit key is
// loaded (and made on first use) so the store can record changes.
func openStore(ctx context.Context, c Config, log *slog.Logger, writable bool) (*sqlstore.Store, *cityhub.AuditKey, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	key, err := cityhub.LoadAuditKey(c.AuditKeyPath(), writable)
	if err != nil {
		return nil, nil, fmt.Errorf("audit key: %w", err)
	}
	opts := sqlstore.Options{Logger: log.With("component", "store")}
	if writable {
		opts.AuditKey = key
	}
	s, err := sqlstore.Open(ctx, c.DSN(), opts)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", maskDSN(c.DSN()), err)
	}
	return s, key, nil
}

func cmdServe(ctx context.Context, e *env) error {
	c, args, err := e.config(true)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", args)}
	}
	log := newLogger(c, e.stderr)
	store, key, err := openStore(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer store.Close()
	authn := auth.New(store)
	boot := cityhub.WithActor(ctx, cityhub.Actor{Username: "system"})
	if err := ensureAdmin(boot, store, authn, e.getenv("CITYHUB_ADMIN_PASSWORD"), e.stdout); err != nil {
		return err
	}
	if c.Demo {
		report, err := demo.Load(boot, store, authn.Hash)
		if err != nil {
			return fmt.Errorf("demo city: %w", err)
		}
		fmt.Fprint(e.stdout, report)
	}
	if c.IoTDepartment != "" {
		if err := ensureStreamEntries(boot, store, c.IoTDepartment, log); err != nil {
			return fmt.Errorf("--iot-department: %w", err)
		}
	}

	// The catalog's search index builds in the background; until it is
	// ready the store answers searches.
	index := catalogindex.New(store)
	index.Start(ctx)
	go func() {
		start := time.Now()
		<-index.Ready()
		if err := index.Err(); err != nil {
			log.Error("catalog search index", "err", err)
			return
		}
		log.Info("catalog search index ready", "entries", index.Len(), "took", time.Since(start).Round(time.Millisecond))
	}()
	if n, err := store.RecoverLoads(boot); err != nil {
		return fmt.Errorf("recovering interrupted loads: %w", err)
	} else if n > 0 {
		log.Warn("failed the loads the last stop interrupted; their rows were taken back", "jobs", n)
	}
	// Loads run past their requests; they stop with the server.
	loadCtx, stopLoads := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoads()
	iot, err := startIoT(loadCtx, c, store, log)
	if err != nil {
		return err
	}
	defer iot.stop()
	if c.Demo && iot.broker != nil {
		sensors, err := demo.LoadSensors(boot, store)
		if err != nil {
			return fmt.Errorf("demo sensors: %w", err)
		}
		demo.Simulate(loadCtx, iot.broker.Addr(), sensors, iot.series, 10*time.Second, log.With("component", "demo-sensors"))
		fmt.Fprintf(e.stdout, "demo city: %d simulated sensors publishing over MQTT to %s\n", len(sensors), iot.broker.Addr())
	}
	loc, _ := time.LoadLocation(c.TimeZone) // checked by Validate
	// The open-data doors count their use and hold callers to their rate;
	// both write what they hold before the store closes (defers run last
	// in, first out).
	usage := openaccess.NewUsage(store, openaccess.UsageOptions{Location: loc, Logger: log.With("component", "usage")})
	defer usage.Close()
	limiter := openaccess.NewLimiter(store, openaccess.Options{Logger: log.With("component", "ratelimit")})
	defer limiter.Close()
	metrics := httpapi.NewMetrics()
	metrics.Registry.MustRegister(iot.pipeline)
	api := &httpapi.Server{Store: store, Auth: authn, AuditKey: key.Public(), Logger: log.With("component", "http"),
		Metrics: metrics, Version: version, MaxBody: c.MaxBodyBytes, Search: index, Policy: c.Catalog,
		SpoolDir: filepath.Join(c.Data, "spool"), Background: loadCtx, Series: iot.series, Ingest: iot.pipeline,
		Limiter: limiter, Usage: usage, Mounted: []map[string]map[string]any{ckan.OpenAPIPaths(), dcat.OpenAPIPaths()}}
	if iot.bridge != nil {
		api.Bridge = iot.bridge
	}
	pulls := &loader.Scheduler{Store: store, Client: &http.Client{Timeout: 30 * time.Minute}, Logger: log.With("component", "pull")}
	go pulls.Run(loadCtx)
	console := &web.Console{Store: store, Auth: authn, AuditKey: key.Public(), Logger: log.With("component", "web"),
		Version: version, SecureCookies: c.SecureCookies, Location: loc, Search: index, Policy: c.Catalog,
		SpoolDir: filepath.Join(c.Data, "spool"), Background: loadCtx, Series: iot.series, Ingest: iot.pipeline}
	if iot.broker != nil {
		console.MQTTAddr = iot.broker.Addr()
	}
	mux := http.NewServeMux()
	api.Register(mux)
	console.Register(mux)
	ngsild.New(store, iot.series, iot.pipeline, log.With("component", "ngsi-ld")).Register(mux)
	registerOpenData(mux, limiter, &dcat.Server{Search: index, Store: store, Location: loc, Usage: usage,
		Logger: log.With("component", "dcat")},
		&ckan.Server{Store: store, Search: index, Usage: usage, Logger: log.With("component", "ckan"),
			CanRead: func(r *http.Request, entryID int64) bool {
				user := openaccess.UserID(r.Context())
				ok, err := store.AccessGranted(r.Context(), user, entryID)
				return user != 0 && err == nil && ok
			}})
	(&portal.Portal{Store: store, Search: index, Usage: usage, UsageStats: usage, Location: loc,
		Logger: log.With("component", "portal"), Version: version, Limit: limiter.Wrap,
		Auth: authn, Policy: c.Catalog, SecureCookies: c.SecureCookies, Keys: limiter}).Register(mux)

	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTP, err)
	}
	srv := &http.Server{Handler: api.Handler(mux, c.TrustProxy), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(e.stdout, "cityhub %s listening on http://%s (store %s, %s)\n", version, displayAddr(ln.Addr()),
		store.Dialect(), maskDSN(c.DSN()))
	log.Info("serving", "addr", ln.Addr().String(), "store", store.Dialect())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopLoads()
	iot.stop()
	api.WaitLoads() // a cancelled load records its failure before the store closes
	console.WaitLoads()
	log.Info("stopped")
	return nil
}

// registerOpenData mounts the public open-data doors behind the rate
// limiter.
func registerOpenData(mux *http.ServeMux, limiter *openaccess.Limiter, feeds *dcat.Server, api *ckan.Server) {
	open := http.NewServeMux()
	feeds.Register(open)
	api.Register(open)
	for _, p := range []string{"/catalog.jsonld", "/catalog.ttl", "/dataset/", "/api/3/", "/api/action/", "/datastore/dump/"} {
		mux.Handle(p, limiter.Wrap(open))
	}
}

// ensureStreamEntries keeps a catalog entry for every device type,
// provided by the department with the credit code.
func ensureStreamEntries(ctx context.Context, store *sqlstore.Store, creditCode string, log *slog.Logger) error {
	deps, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Limit: 100000})
	if err != nil {
		return err
	}
	for _, d := range deps {
		if d.CreditCode == creditCode {
			created, updated, err := cityhub.EnsureDeviceTypeEntries(ctx, store, d.ID)
			if created+updated > 0 {
				log.Info("catalog entries of the device streams", "created", created, "updated", updated, "department", d.Name)
			}
			return err
		}
	}
	return fmt.Errorf("no department has the credit code %q", creditCode)
}

// iotPlatform is the running IoT side: series store, ingest pipeline and
// the MQTT broker (nil with --mqtt off).
type iotPlatform struct {
	series   cityhub.SeriesStore
	pipeline *ingest.Pipeline
	broker   *mqtt.Broker
	bridge   *mqttbridge.Bridge // nil without --mqtt-bridge
	stop     func()
}

// startIoT opens the series store beside the main store, runs the ingest
// pipeline and the broker, and prunes raw readings past retention hourly.
// ctx ends them; stop (safe to call twice) waits until what was
// acknowledged is written and the store is closed.
func startIoT(ctx context.Context, c Config, store *sqlstore.Store, log *slog.Logger) (*iotPlatform, error) {
	var series cityhub.SeriesStore
	var err error
	if c.Series != "" {
		series, err = pgseries.Open(ctx, c.Series, pgseries.Options{Logger: log.With("component", "series")})
	} else {
		series, err = tsdb.Open(ctx, filepath.Join(c.Data, "series.db"), tsdb.Options{Logger: log.With("component", "tsdb")})
	}
	if err != nil {
		return nil, err
	}
	p := &iotPlatform{series: series}
	p.pipeline = ingest.New(series, store, ingest.Options{Logger: log.With("component", "ingest")})
	run, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.pipeline.Run(run); close(done) }()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			if p.broker != nil {
				p.broker.Close()
			}
			if p.bridge != nil {
				p.bridge.Close() // waits for what it submitted
			}
			cancel()
			<-done
			if err := series.Close(); err != nil {
				log.Error("closing the series store", "err", err)
			}
		})
	}
	if c.MQTT != "off" {
		opts := mqtt.Options{Addr: c.MQTT, Logger: log, Context: run}
		if c.MQTTCert != "" {
			cert, err := tls.LoadX509KeyPair(c.MQTTCert, c.MQTTKey)
			if err != nil {
				p.stop()
				return nil, fmt.Errorf("--mqtt-cert: %w", err)
			}
			opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		if p.broker, err = mqtt.New(store, p.pipeline, opts); err == nil {
			err = p.broker.Start()
		}
		if err != nil {
			p.broker = nil
			p.stop()
			return nil, fmt.Errorf("MQTT broker on %s: %w (choose another with --mqtt, or --mqtt off)", c.MQTT, err)
		}
		log.Info("MQTT broker listening", "addr", p.broker.Addr(), "tls", c.MQTTCert != "")
	}
	if c.MQTTBridge != "" {
		cfg, err := mqttbridge.Load(c.MQTTBridge)
		if err == nil {
			p.bridge, err = mqttbridge.New(cfg, store, p.pipeline, log.With("component", "mqtt-bridge"))
		}
		if err == nil {
			err = p.bridge.Start(run)
		}
		if err != nil {
			p.bridge = nil
			p.stop()
			return nil, fmt.Errorf("--mqtt-bridge %s: %w", c.MQTTBridge, err)
		}
	}
	go func() {
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			if n, err := series.Prune(run, time.Now().Add(-c.Retention)); err != nil && run.Err() == nil {
				log.Warn("pruning raw readings", "err", err)
			} else if n > 0 {
				log.Info("pruned raw readings past retention", "readings", n)
			}
			select {
			case <-run.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p, nil
}

// displayAddr shows a wildcard listener as localhost so the URL can be opened.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return fmt.Sprintf("localhost:%d", tcp.Port)
}

// ensureAdmin creates the platform administrator on first start. The
// password comes from CITYHUB_ADMIN_PASSWORD or is generated and printed once.
func ensureAdmin(ctx context.Context, store cityhub.Store, authn *auth.Service, password string, out interface{ Write([]byte) (int, error) }) error {
	if _, _, err := store.UserByUsername(ctx, "admin"); err == nil {
		return nil
	} else if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		return err
	}
	generated := password == ""
	if generated {
		password = randomPassword()
	} else if err := cityhub.ValidatePassword(password); err != nil {
		return fmt.Errorf("CITYHUB_ADMIN_PASSWORD: %w", err)
	}
	u := &cityhub.User{Username: "admin", DisplayName: "平台管理员", Roles: []string{cityhub.RolePlatformAdmin}}
	if err := store.CreateUser(ctx, u, authn.Hash(password)); err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	if generated {
		fmt.Fprintf(out, "\n  Created platform administrator \"admin\" with password: %s\n  It is shown only this once; change it after signing in.\n\n", password)
	} else {
		fmt.Fprintln(out, "Created platform administrator \"admin\" with the password from CITYHUB_ADMIN_PASSWORD.")
	}
	return nil
}

func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	// Two kinds guaranteed, as the password policy wants.
	return string(b[:8]) + "-" + string(b[8:]) + "7"
}

func cmdVersion(ctx context.Context, e *env) error {
	c, _, err := e.config(false)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cityhub %s\nschema (this binary): %d\n", version, sqlstore.LatestSchemaVersion())
	if _, err := os.Stat(c.AuditKeyPath()); err != nil {
		fmt.Fprintf(e.stdout, "store: none yet in %s\n", c.Data)
		return nil
	}
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), false)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, _, err := store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema (store): %d on %s\n", applied, store.Dialect())
	return nil
}

func cmdConfig(ctx context.Context, e *env) error {
	c, _, err := e.config(true)
	if err != nil {
		return err
	}
	c.print(e.stdout)
	return nil
}
