package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Config is the whole configuration. It is filled from defaults, then the
// config file, then CITYHUB_* environment variables, then flags, and
// checked by Validate.
type Config struct {
	HTTP            string
	Data            string
	DB              string
	Demo            bool
	LogLevel        string
	LogFormat       string
	TrustProxy      bool
	SecureCookies   bool
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	TimeZone        string
	Catalog         cityhub.CatalogPolicy
	MQTT            string // embedded broker's address; "off" runs none
	MQTTCert        string // TLS certificate and key files (PEM); both or neither
	MQTTKey         string
	Retention       time.Duration // raw device readings; rollups stay
	Series          string        // series store: empty for SQLite (series.db in the data directory), or a postgres:// URL
	MQTTBridge      string        // JSON file: external MQTT brokers to subscribe to
	IoTDepartment   string        // credit code of the department whose catalog entries describe the device streams
}

// DefaultConfig is the embedded single-machine set-up.
func DefaultConfig() Config {
	return Config{HTTP: ":8080", Data: "./data", LogLevel: "info", LogFormat: "text",
		MaxBodyBytes: 1 << 20, ShutdownTimeout: 15 * time.Second, TimeZone: "Asia/Shanghai",
		MQTT: ":1883", Retention: 30 * 24 * time.Hour}
}

// setting is one configurable value: its flag name (also its key in the
// config file and, upper-cased with CITYHUB_, its environment variable).
type setting struct {
	name  string
	usage string
	serve bool // only for the serve command
	set   func(c *Config, v string) error
	get   func(c *Config) string
}

func str(p func(*Config) *string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { *p(c) = v; return nil }, func(c *Config) string { return *p(c) }
}

func boolean(p func(*Config) *bool) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*p(c) = b
			return nil
		}, func(c *Config) string {
			return strconv.FormatBool(*p(c))
		}
}

func settings() []setting {
	mk := func(name, usage string, serve bool, set func(*Config, string) error, get func(*Config) string) setting {
		return setting{name, usage, serve, set, get}
	}
	httpSet, httpGet := str(func(c *Config) *string { return &c.HTTP })
	dataSet, dataGet := str(func(c *Config) *string { return &c.Data })
	dbSet, dbGet := str(func(c *Config) *string { return &c.DB })
	lvSet, lvGet := str(func(c *Config) *string { return &c.LogLevel })
	lfSet, lfGet := str(func(c *Config) *string { return &c.LogFormat })
	tzSet, tzGet := str(func(c *Config) *string { return &c.TimeZone })
	mqSet, mqGet := str(func(c *Config) *string { return &c.MQTT })
	mcSet, mcGet := str(func(c *Config) *string { return &c.MQTTCert })
	mkSet, mkGet := str(func(c *Config) *string { return &c.MQTTKey })
	idSet, idGet := str(func(c *Config) *string { return &c.IoTDepartment })
	seSet, seGet := str(func(c *Config) *string { return &c.Series })
	mbSet, mbGet := str(func(c *Config) *string { return &c.MQTTBridge })
	demoSet, demoGet := boolean(func(c *Config) *bool { return &c.Demo })
	tpSet, tpGet := boolean(func(c *Config) *bool { return &c.TrustProxy })
	scSet, scGet := boolean(func(c *Config) *bool { return &c.SecureCookies })
	return []setting{
		mk("data", "data directory: SQLite file, audit key, uploads", false, dataSet, dataGet),
		mk("db", "store: empty for SQLite in the data directory, or a postgres:// URL", false, dbSet, dbGet),
		mk("log-level", "debug, info, warn or error", false, lvSet, lvGet),
		mk("log-format", "text or json", false, lfSet, lfGet),
		mk("http", "HTTP listen address (port 0 picks a free port)", true, httpSet, httpGet),
		mk("demo", "load the demo city (idempotent) and run its simulated sensors", true, demoSet, demoGet),
		mk("mqtt", "embedded MQTT broker's listen address for devices, or off", true, mqSet, mqGet),
		mk("mqtt-cert", "PEM certificate file: the MQTT broker speaks TLS", true, mcSet, mcGet),
		mk("mqtt-key", "PEM key file for --mqtt-cert", true, mkSet, mkGet),
		mk("mqtt-bridge", "JSON file of external MQTT brokers to subscribe to, with their topic-to-device mappings", true, mbSet, mbGet),
		mk("series", "device readings: empty for SQLite (series.db in the data directory), or a postgres:// URL (tables partitioned by day)", true, seSet, seGet),
		mk("iot-department", "credit code of the department that provides the device streams: each device type gets a catalog entry (流媒体, 实时) of it", true, idSet, idGet),
		mk("retention", "how long raw device readings are kept (rollups stay)", true,
			func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < time.Hour {
					return fmt.Errorf("want a duration of an hour or more such as 720h, got %q", v)
				}
				c.Retention = d
				return nil
			}, func(c *Config) string { return c.Retention.String() }),
		mk("timezone", "IANA time zone in which pages show times", true, tzSet, tzGet),
		mk("trust-proxy", "take the client address from X-Forwarded-For", true, tpSet, tpGet),
		mk("secure-cookies", "mark session cookies Secure (serve behind HTTPS)", true, scSet, scGet),
		mk("max-body", "largest accepted JSON request body, in bytes", true,
			func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 {
					return fmt.Errorf("want a byte count of at least 1024, got %q", v)
				}
				c.MaxBodyBytes = n
				return nil
			}, func(c *Config) string { return strconv.FormatInt(c.MaxBodyBytes, 10) }),
		mk("open-rate-target", "the plan's open-rate target per key open-data domain, 0 to 1", true,
			func(c *Config, v string) error {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f <= 0 || f > 1 {
					return fmt.Errorf("want a fraction such as 0.8, got %q", v)
				}
				c.Catalog.OpenRateTarget = f
				return nil
			}, func(c *Config) string { return strconv.FormatFloat(c.Catalog.Target(), 'g', -1, 64) }),
		mk("change-workdays", "working days a provider has to act on a catalog change request", true,
			func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 365 {
					return fmt.Errorf("want a number of working days from 1 to 365, got %q", v)
				}
				c.Catalog.ChangeWorkdays = n
				return nil
			}, func(c *Config) string { return strconv.Itoa(c.Catalog.Workdays()) }),
		mk("shutdown-timeout", "how long in-flight requests may take to finish on shutdown", true,
			func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("want a duration such as 15s, got %q", v)
				}
				c.ShutdownTimeout = d
				return nil
			}, func(c *Config) string { return c.ShutdownTimeout.String() }),
	}
}

func envName(flagName string) string {
	return "CITYHUB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig defines the settings on fs (serve-only ones when serve is
// set), parses args and layers the sources.
func parseConfig(fs *flag.FlagSet, args []string, serve bool, getenv func(string) string) (Config, error) {
	var list []setting
	for _, s := range settings() {
		if serve || !s.serve {
			list = append(list, s)
		}
	}
	flagged := map[string]string{}
	for _, s := range list {
		s := s
		usage := fmt.Sprintf("%s (env %s)", s.usage, envName(s.name))
		def := s.get(ptr(DefaultConfig()))
		if def == "false" {
			fs.BoolFunc(s.name, usage, func(v string) error { flagged[s.name] = v; return nil })
		} else {
			if def != "" {
				usage += fmt.Sprintf(" (default %s)", def)
			}
			fs.Func(s.name, usage, func(v string) error { flagged[s.name] = v; return nil })
		}
	}
	configFile := fs.String("config", "", "JSON config file whose keys are these flag names (env CITYHUB_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	c := DefaultConfig()
	path := *configFile
	if path == "" {
		path = getenv("CITYHUB_CONFIG")
	}
	byName := map[string]setting{}
	for _, s := range list {
		byName[s.name] = s
	}
	if path != "" {
		if err := loadConfigFile(&c, path, byName); err != nil {
			return c, err
		}
	}
	for _, s := range list {
		if v := getenv(envName(s.name)); v != "" {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("%s: %w", envName(s.name), err)
			}
		}
	}
	for _, s := range list {
		if v, ok := flagged[s.name]; ok {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("--%s: %w", s.name, err)
			}
		}
	}
	return c, c.Validate()
}

func ptr[T any](v T) *T { return &v }

func loadConfigFile(c *Config, path string, byName map[string]setting) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := byName[k]
		if !ok {
			return fmt.Errorf("config file %s: unknown key %q", path, k)
		}
		if err := s.set(c, fmt.Sprint(m[k])); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

// Validate checks the values that flags and files cannot type.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", c.LogLevel))
	}
	if (c.MQTTCert == "") != (c.MQTTKey == "") {
		errs = append(errs, errors.New("--mqtt-cert and --mqtt-key go together"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("--timezone: %w", err))
	}
	if c.DB != "" && strings.Contains(c.DB, "://") && !isPostgresURL(c.DB) {
		errs = append(errs, fmt.Errorf("--db must be a postgres:// URL or a SQLite file path, got %s", maskDSN(c.DB)))
	}
	if c.Series != "" && !isPostgresURL(c.Series) {
		errs = append(errs, fmt.Errorf("--series must be empty (SQLite in the data directory) or a postgres:// URL, got %s", maskDSN(c.Series)))
	}
	return errors.Join(errs...)
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// DSN is the store to open.
func (c *Config) DSN() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.Data, "cityhub.db")
}

// AuditKeyPath is where the chain-signing key lives.
func (c *Config) AuditKeyPath() string { return filepath.Join(c.Data, "audit.key") }

// maskDSN hides a password in a database URL.
func maskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// print writes the effective configuration, secrets masked.
func (c *Config) print(w io.Writer) {
	for _, s := range settings() {
		v := s.get(c)
		if s.name == "db" || s.name == "series" {
			v = maskDSN(v)
		}
		fmt.Fprintf(w, "%-18s %s\n", s.name, v)
	}
}
