package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/pgseries"
	"github.com/jackc/pgx/v5"
)

// With --series a postgres:// URL, readings go to PostgreSQL.
func TestSeriesOnPostgres(t *testing.T) {
	dsn := os.Getenv("CITYHUB_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("CITYHUB_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("servetest_%016x", rand.Uint64())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	dir := t.TempDir()
	store, _ := openForTest(t, dir)
	c := DefaultConfig()
	c.Data, c.MQTT, c.Series = dir, "off", u.String()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	iot, err := startIoT(ctx, c, store, newLogger(c, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer iot.stop()
	if _, ok := iot.series.(*pgseries.Store); !ok {
		t.Fatalf("series store is %T, want *pgseries.Store", iot.series)
	}
	dev := &cityhub.Device{ID: 1, Name: "s1", Type: "AirQualityObserved"}
	at := time.Now().Truncate(time.Millisecond)
	res, err := iot.pipeline.SubmitWait(ctx, dev, "test", []ingest.Sample{{Time: at, Values: map[string]any{"pm25": 12.5}}})
	if err != nil || res.Stored != 1 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+schema+".series_readings").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d readings in PostgreSQL, want 1: %v", n, err)
	}

	c.Series = "mysql://x"
	if err := c.Validate(); err == nil {
		t.Error("--series mysql:// accepted")
	}
}

// --mqtt-bridge starts the connector from its file; a bad file stops serve
// with the field at fault.
func TestServeMQTTBridgeFile(t *testing.T) {
	dir := t.TempDir()
	store, _ := openForTest(t, dir)
	c := DefaultConfig()
	c.Data, c.MQTT = dir, "off"
	c.MQTTBridge = filepath.Join(dir, "bridge.json")
	os.WriteFile(c.MQTTBridge, []byte(`{"broker": "tcp://127.0.0.1:1", "client_id": "cityhub-test",
		"subscriptions": [{"topic": "city/+/air", "device_level": 2, "key": "name"}]}`), 0o600)
	iot, err := startIoT(context.Background(), c, store, newLogger(c, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if iot.bridge == nil || iot.bridge.Status().Broker != "tcp://127.0.0.1:1" || len(iot.bridge.Status().Subscriptions) != 1 {
		t.Errorf("bridge not started from the file: %+v", iot.bridge)
	}
	iot.stop()

	os.WriteFile(c.MQTTBridge, []byte(`{"broker": "tcp://127.0.0.1:1", "subscriptions": [{"topic": "a/+", "device_level": 7, "key": "name"}]}`), 0o600)
	if _, err := startIoT(context.Background(), c, store, newLogger(c, io.Discard)); err == nil || !strings.Contains(err.Error(), "--mqtt-bridge") ||
		!strings.Contains(err.Error(), "device_level") {
		t.Errorf("bad bridge file: %v", err)
	}
}
