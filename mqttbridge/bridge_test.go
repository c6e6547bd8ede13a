package mqttbridge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/mqtt"
	"github.com/cityhub/cityhub/mqttbridge"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
	paho "github.com/eclipse/paho.mqtt.golang"
)

const mosquittoAddr = "127.0.0.1:1883"

// mosquitto returns the broker URL of the Mosquitto the tests use; without
// one the test is skipped, except in CI.
func mosquitto(t *testing.T) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", mosquittoAddr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no MQTT broker on %s (start mosquitto to run this test): %v", mosquittoAddr, err)
		}
		t.Fatalf("no MQTT broker on %s: %v", mosquittoAddr, err)
	}
	c.Close()
	return "tcp://" + mosquittoAddr
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// flakySeries is the real series store, made to fail writes on demand.
type flakySeries struct {
	*tsdb.Store
	fail atomic.Bool
}

func (f *flakySeries) Write(ctx context.Context, r []cityhub.Reading) ([]cityhub.ReadingOutcome, error) {
	if f.fail.Load() {
		return nil, errors.New("disk full (test)")
	}
	return f.Store.Write(ctx, r)
}

// env is the platform side: stores, a running pipeline, and a department
// for devices. prefix is this test's own topic root; clientID its bridge's.
type env struct {
	broker   string
	store    *sqlstore.Store
	series   *flakySeries
	pipeline *ingest.Pipeline
	dep      *cityhub.Department
	prefix   string
	clientID string
}

var actorCtx = cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})

func newEnv(t *testing.T) *env {
	t.Helper()
	return newStores(t, mosquitto(t))
}

// newStores makes the platform side for a bridge to broker.
func newStores(t *testing.T, broker string) *env {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(actorCtx, filepath.Join(dir, "cityhub.db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tsdb.Open(actorCtx, filepath.Join(dir, "series.db"), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	series := &flakySeries{Store: ts}
	p := ingest.New(series, st, ingest.Options{})
	run, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(run); close(done) }()
	e := &env{broker: broker, store: st, series: series, pipeline: p,
		prefix: "cityhub-test/" + random(), clientID: "cityhub-bridge-test-" + random()}
	t.Cleanup(func() {
		cancel()
		<-done
		ts.Close()
		st.Close()
		if broker != "" {
			e.forgetSession(t)
		}
	})
	e.dep = &cityhub.Department{Name: "宁波市生态环境局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	if err := st.CreateDepartment(actorCtx, e.dep); err != nil {
		t.Fatal(err)
	}
	return e
}

// forgetSession drops the bridge's persistent session at the broker.
func (e *env) forgetSession(t *testing.T) {
	opts := paho.NewClientOptions().AddBroker(e.broker).SetClientID(e.clientID).SetCleanSession(true).
		SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}

func (e *env) device(t *testing.T, name string) *cityhub.Device {
	t.Helper()
	d := &cityhub.Device{Name: name, Type: "AirQualityObserved", DepartmentID: e.dep.ID, Division: "330203", Lon: 121.55, Lat: 29.87}
	if _, err := e.store.CreateDevice(actorCtx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) config(subs ...mqttbridge.Subscription) mqttbridge.Config {
	return mqttbridge.Config{Broker: e.broker, ClientID: e.clientID, MaxReconnectInterval: mqttbridge.Duration(2 * time.Second),
		Subscriptions: subs}
}

// start runs a bridge and waits until it is connected and subscribed.
func (e *env) start(t *testing.T, cfg mqttbridge.Config) *mqttbridge.Bridge {
	t.Helper()
	b, err := mqttbridge.New(cfg, e.store, e.pipeline, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	waitFor(t, "connected and subscribed", func() bool {
		st := b.Status()
		if !st.Connected {
			return false
		}
		for _, s := range st.Subscriptions {
			if !s.Subscribed {
				return false
			}
		}
		return true
	}, func() any { return b.Status() })
	return b
}

// publisher is a plain client of the broker, as a city's sensors would be.
func (e *env) publisher(t *testing.T) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(e.broker).SetClientID("cityhub-test-pub-" + random()).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// waitFor polls cond for up to 15 seconds; state tells what it saw.
func waitFor(t *testing.T, what string, cond func() bool, state func() any) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; state: %+v", what, state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// latest returns a device's latest values by property.
func (e *env) latest(t *testing.T, id int64) map[string]float64 {
	t.Helper()
	l, err := e.series.Latest(context.Background(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, v := range l[id] {
		out[v.Key] = v.Num
	}
	return out
}

func TestTelemetryLandsUnderTheMappedDevice(t *testing.T) {
	e := newEnv(t)
	byName := e.device(t, "aq-name-1")
	other := e.device(t, "aq-name-2")
	byEntity := e.device(t, "aq-entity-1")
	fixed := e.device(t, "aq-fixed-1")
	p := e.prefix
	b := e.start(t, e.config(
		mqttbridge.Subscription{QoS: 1, Name: "air", Topic: p + "/city/+/air/+", Template: p + "/city/{district}/air/{device}"},
		// cityhub-test/<random>/ngsi/<entity id>/attrs: the entity id is level 4
		mqttbridge.Subscription{QoS: 1, Topic: p + "/ngsi/+/attrs", DeviceLevel: 4, Key: mqttbridge.KeyEntityID},
		mqttbridge.Subscription{QoS: 1, Topic: p + "/plant7/telemetry", Device: strconv.FormatInt(fixed.ID, 10), Key: mqttbridge.KeyID},
		mqttbridge.Subscription{QoS: 1, Topic: p + "/attributes/+", Template: p + "/attributes/{device}", Format: mqttbridge.FormatAttributes},
	))
	pub := e.publisher(t)
	ts := time.Now().Add(-time.Minute).UnixMilli()
	publish(t, pub, p+"/city/haishu/air/aq-name-1", 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 35, "no2": 20.5}}`, ts))
	publish(t, pub, p+"/city/yinzhou/air/aq-name-2", 0, `{"pm25": 12}`)
	publish(t, pub, p+"/ngsi/"+byEntity.EntityID+"/attrs", 1, fmt.Sprintf(`[{"ts": %d, "values": {"o3": 80}}, {"ts": %d, "values": {"o3": 81}}]`, ts-1000, ts))
	publish(t, pub, p+"/plant7/telemetry", 1, `{"pm10": 44}`)
	publish(t, pub, p+"/attributes/aq-name-1", 1, `{"firmware": "2.1.0"}`)

	waitFor(t, "readings in the series store", func() bool {
		return len(e.latest(t, byName.ID)) == 2 && len(e.latest(t, other.ID)) == 1 &&
			len(e.latest(t, byEntity.ID)) == 1 && len(e.latest(t, fixed.ID)) == 1
	}, func() any { return b.Status() })
	if got := e.latest(t, byName.ID); got["pm25"] != 35 || got["no2"] != 20.5 {
		t.Errorf("aq-name-1: %v", got)
	}
	if got := e.latest(t, other.ID); got["pm25"] != 12 {
		t.Errorf("aq-name-2 (QoS 0): %v", got)
	}
	if got := e.latest(t, byEntity.ID); got["o3"] != 81 {
		t.Errorf("by entity id: %v", got)
	}
	if got := e.latest(t, fixed.ID); got["pm10"] != 44 {
		t.Errorf("fixed device: %v", got)
	}
	pts, err := e.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: byEntity.ID, Key: "o3",
		From: time.UnixMilli(ts - 2000), To: time.UnixMilli(ts + 1)})
	if err != nil || len(pts) != 2 {
		t.Errorf("o3 points: %v, %v", pts, err)
	}
	waitFor(t, "attributes on the device", func() bool {
		d, err := e.store.Device(context.Background(), byName.ID)
		return err == nil && d.Attributes["firmware"] == "2.1.0"
	}, func() any { return b.Status() })

	submitted := func() (n int64) {
		for _, s := range b.Status().Subscriptions {
			n += s.Submitted
		}
		return n
	}
	waitFor(t, "every message acknowledged", func() bool { return submitted() == 5 }, func() any { return b.Status() })
	st := b.Status()
	want := map[string][2]int64{"air": {2, 2}, p + "/ngsi/+/attrs": {1, 1}, p + "/plant7/telemetry": {1, 1}, p + "/attributes/+": {1, 1}}
	for _, s := range st.Subscriptions {
		w := want[s.Name]
		if s.Received != w[0] || s.Submitted != w[1] || s.Rejected != 0 || s.Failed != 0 {
			t.Errorf("subscription %s: %+v, want received %d, submitted %d", s.Name, s, w[0], w[1])
		}
	}
	if !st.Connected || st.Connects != 1 || st.LastError != "" {
		t.Errorf("status: %+v", st)
	}
	if c := e.pipeline.Counts(); c.Stored != 6 || c.Received != 6 {
		t.Errorf("pipeline counts: %+v", c)
	}
}

func TestRejectedMessagesAreCountedAndAcknowledged(t *testing.T) {
	e := newEnv(t)
	d := e.device(t, "aq-1")
	p := e.prefix
	cfg := e.config(mqttbridge.Subscription{QoS: 1, Topic: p + "/+/telemetry", DeviceLevel: 3})
	off := e.device(t, "aq-off")
	off.Disabled = true
	if err := e.store.UpdateDevice(actorCtx, off); err != nil {
		t.Fatal(err)
	}
	b := e.start(t, cfg)
	pub := e.publisher(t)
	publish(t, pub, p+"/nobody/telemetry", 1, `{"pm25": 10, "no2": 3}`)
	publish(t, pub, p+"/aq-off/telemetry", 1, `{"pm25": 10}`)
	publish(t, pub, p+"/aq-1/telemetry", 1, `{"pm25": `)
	publish(t, pub, p+"/aq-1/telemetry", 1, `{"pm25": -5, "colour": "blue", "no2": 7}`)
	waitFor(t, "four messages settled", func() bool {
		s := b.Status().Subscriptions[0]
		return s.Rejected == 3 && s.Submitted == 1
	}, func() any { return b.Status() })
	c := e.pipeline.Counts()
	if c.Rejected[ingest.ReasonUnknownDevice] != 3 || c.Rejected[ingest.ReasonMalformed] != 1 ||
		c.Rejected[ingest.ReasonInvalid] != 1 || c.Rejected[ingest.ReasonUnknownProperty] != 1 || c.Stored != 1 || c.Received != 7 {
		t.Errorf("pipeline counts: %+v", c)
	}
	if dc := e.pipeline.DeviceCounts(d.ID); dc.Rejected != 3 || len(dc.Recent) == 0 || dc.Recent[len(dc.Recent)-1].Source != mqttbridge.Source {
		t.Errorf("device counts: %+v", dc)
	}
	if st := b.Status(); st.Subscriptions[0].LastError == "" || !st.Connected {
		t.Errorf("status: %+v", st)
	}

	// They were acknowledged: a new session of the same client gets only
	// what comes next, not the rejected messages again.
	b.Close()
	b2 := e.start(t, cfg)
	publish(t, pub, p+"/aq-1/telemetry", 1, `{"o3": 50}`)
	waitFor(t, "the next reading", func() bool { return e.latest(t, d.ID)["o3"] == 50 }, func() any { return b2.Status() })
	if s := b2.Status().Subscriptions[0]; s.Received != 1 || s.Rejected != 0 {
		t.Errorf("after restart: %+v (rejected messages came back)", s)
	}
}

func TestQoS1PublishedWhileAwayIsDelivered(t *testing.T) {
	e := newEnv(t)
	d := e.device(t, "aq-1")
	p := e.prefix
	telemetry := mqttbridge.Subscription{QoS: 1, Topic: p + "/dev/+", Template: p + "/dev/{device}"}
	old := mqttbridge.Subscription{QoS: 1, Topic: p + "/old/+", Template: p + "/old/{device}"}
	b := e.start(t, e.config(telemetry, old))
	b.Close()
	if st := b.Status(); st.Connected {
		t.Fatalf("connected after Close: %+v", st)
	}

	pub := e.publisher(t)
	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i := range 5 {
		publish(t, pub, p+"/dev/aq-1", 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": %d}}`, ts.Add(time.Duration(i)*time.Second).UnixMilli(), 20+i))
	}
	// A subscription the next configuration no longer has: the broker's
	// session still holds it.
	publish(t, pub, p+"/old/aq-1", 1, `{"pm25": 99}`)

	b2 := e.start(t, e.config(telemetry))
	waitFor(t, "readings published while away", func() bool {
		pts, err := e.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: d.ID, Key: "pm25", From: ts, To: ts.Add(time.Minute)})
		return err == nil && len(pts) == 5 && b2.Status().Unrouted == 1
	}, func() any { return b2.Status() })
	if got := e.latest(t, d.ID)["pm25"]; got != 24 {
		t.Errorf("latest pm25 %v, want 24", got)
	}
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	e := newEnv(t)
	d := e.device(t, "aq-1")
	p := e.prefix
	b := e.start(t, e.config(mqttbridge.Subscription{QoS: 1, Topic: p + "/dev/+", Template: p + "/dev/{device}"}))
	pub := e.publisher(t)
	e.series.fail.Store(true)
	publish(t, pub, p+"/dev/aq-1", 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 33}}`, time.Now().Add(-time.Minute).UnixMilli()))
	waitFor(t, "the failed write", func() bool { return b.Status().Subscriptions[0].Failed >= 1 }, func() any { return b.Status() })
	if n := len(e.latest(t, d.ID)); n != 0 {
		t.Fatalf("%d values stored while the store fails", n)
	}
	// The bridge dropped the connection; once it is back and the store
	// works, the broker delivers the message again.
	e.series.fail.Store(false)
	waitFor(t, "the reading, delivered again", func() bool {
		return e.latest(t, d.ID)["pm25"] == 33 && b.Status().Subscriptions[0].Submitted == 1
	}, func() any { return b.Status() })
	st := b.Status()
	if st.Connects < 2 || !strings.Contains(st.LastError, "disk full") {
		t.Errorf("status: %+v", st)
	}
	if s := st.Subscriptions[0]; s.Submitted != 1 || s.Received != s.Failed+1 {
		t.Errorf("subscription: %+v", s)
	}
}

func TestUnreachableBrokerIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	b, err := mqttbridge.New(mqttbridge.Config{Broker: "tcp://" + addr, ClientID: "cityhub-test-" + random(),
		Subscriptions: []mqttbridge.Subscription{{QoS: 1, Topic: "a/+", DeviceLevel: 2}}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a connection error", func() bool { return b.Status().LastError != "" }, func() any { return b.Status() })
	if st := b.Status(); st.Connected || st.Connects != 0 || !strings.Contains(st.LastError, "connect") {
		t.Errorf("status: %+v", st)
	}
	began := time.Now()
	b.Close()
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Close took %v while retrying", d)
	}
	if err := b.Start(context.Background()); err == nil {
		t.Error("started again after Close")
	}
}

// A TLS broker is verified against ca_file. The platform's own broker
// serves TLS here; it lets a device subscribe to its attribute updates.
func TestTLSBroker(t *testing.T) {
	e := newStores(t, "")
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cityhub test broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	broker, err := mqtt.New(e.store, e.pipeline, mqtt.Options{Addr: "127.0.0.1:0",
		TLS: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	d := &cityhub.Device{Name: "gw-1", Type: "AirQualityObserved", DepartmentID: e.dep.ID, Division: "330203", Lon: 121.55, Lat: 29.87}
	token, err := e.store.CreateDevice(actorCtx, d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mqttbridge.Config{Broker: "mqtts://" + broker.Addr(), ClientID: "cityhub-test-" + random(), Username: token, CAFile: caFile,
		Subscriptions: []mqttbridge.Subscription{{QoS: 1, Topic: mqtt.TopicAttributes, Device: "gw-1"}}}
	e.start(t, cfg) // connected and subscribed

	// Without the CA the broker's certificate is not trusted.
	cfg.CAFile, cfg.ClientID = "", "cityhub-test-"+random()
	b, err := mqttbridge.New(cfg, e.store, e.pipeline, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Start(context.Background())
	defer b.Close()
	waitFor(t, "a certificate error", func() bool { return strings.Contains(b.Status().LastError, "certificate") },
		func() any { return b.Status() })
}

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	load := func(t *testing.T, text string) (mqttbridge.Config, error) {
		t.Helper()
		path := filepath.Join(dir, "bridge-"+random()+".json")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return mqttbridge.Load(path)
	}
	good := `{"broker": "tcp://mqtt.city.example", "client_id": "cityhub", "username": "u", "password": "p",
		"subscriptions": [
			{"topic": "city/+/air/+", "template": "city/{district}/air/{device}"},
			{"name": "gas", "topic": "tunnel/+/gas/#", "device_level": 2, "key": "entity_id", "qos": 0},
			{"topic": "plant/7", "device": "12", "key": "id", "format": "attributes"}]}`
	c, err := load(t, good)
	if err != nil {
		t.Fatalf("good config: %v", err)
	}
	s := c.Subscriptions
	if s[0].QoS != 1 || s[0].Key != mqttbridge.KeyName || s[0].Format != mqttbridge.FormatThingsBoard || s[0].Name != "city/+/air/+" ||
		s[1].QoS != 0 || s[1].Name != "gas" || s[2].Format != mqttbridge.FormatAttributes || c.CleanSession ||
		time.Duration(c.KeepAlive) != 30*time.Second || time.Duration(c.MaxReconnectInterval) != time.Minute {
		t.Errorf("defaults: %+v", c)
	}

	sub := func(fields string) string {
		return `{"broker": "tcp://127.0.0.1:1883", "client_id": "c", "subscriptions": [` + fields + `]}`
	}
	for _, tc := range []struct{ name, config, field, detail string }{
		{"no broker", `{"client_id": "c", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "broker", "required"},
		{"scheme", `{"broker": "http://x", "client_id": "c", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "broker", "scheme"},
		{"user in URL", `{"broker": "tcp://u:p@x:1883", "client_id": "c", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "broker", "username"},
		{"bad port", `{"broker": "tcp://x:99999", "client_id": "c", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "broker", "port"},
		{"no client id", `{"broker": "tcp://x", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "client_id", "required"},
		{"password alone", `{"broker": "tcp://x", "client_id": "c", "password": "p", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "password", "username"},
		{"tls on tcp", `{"broker": "tcp://x", "client_id": "c", "ca_file": "ca.pem", "subscriptions": [{"topic": "a/+", "device_level": 2}]}`, "ca_file", "TLS"},
		{"keep alive", `{"broker": "tcp://x", "client_id": "c", "keep_alive": "soon", "subscriptions": []}`, "", "duration"},
		{"no subscriptions", `{"broker": "tcp://x", "client_id": "c", "subscriptions": []}`, "subscriptions", "at least one"},
		{"unknown field", sub(`{"topic": "a/+", "device_level": 2, "qos ": 1}`), "", "unknown field"},
		{"no topic", sub(`{"device": "aq-1"}`), "subscriptions[0].topic", "required"},
		{"hash inside", sub(`{"topic": "a/#/b", "device": "aq-1"}`), "subscriptions[0].topic", "last level"},
		{"plus in a level", sub(`{"topic": "a/b+/c", "device": "aq-1"}`), "subscriptions[0].topic", "alone"},
		{"qos 2", sub(`{"topic": "a/+", "device_level": 2, "qos": 2}`), "subscriptions[0].qos", "0 or 1"},
		{"key", sub(`{"topic": "a/+", "device_level": 2, "key": "token"}`), "subscriptions[0].key", "name, entity_id or id"},
		{"format", sub(`{"topic": "a/+", "device_level": 2, "format": "senml"}`), "subscriptions[0].format", "thingsboard or attributes"},
		{"no mapping", sub(`{"topic": "a/+"}`), "subscriptions[0].template", "one of template, device_level or device"},
		{"two mappings", sub(`{"topic": "a/+", "device_level": 2, "device": "x"}`), "subscriptions[0].template", "only one"},
		{"level out of range", sub(`{"topic": "a/+", "device_level": 3}`), "subscriptions[0].device_level", "levels 1–2"},
		{"level on hash", sub(`{"topic": "a/#", "device_level": 2}`), "subscriptions[0].device_level", "#"},
		{"template length", sub(`{"topic": "city/+/air/+", "template": "city/{district}/{device}"}`), "subscriptions[0].template", "3 levels, the topic filter 4"},
		{"template text under +", sub(`{"topic": "city/+/air/+", "template": "city/haishu/air/{device}"}`), "subscriptions[0].template", "level 2"},
		{"template other text", sub(`{"topic": "city/+/air/+", "template": "city/{district}/water/{device}"}`), "subscriptions[0].template", `"water" where the filter has "air"`},
		{"template without device", sub(`{"topic": "city/+/air/+", "template": "city/{district}/air/{sensor}"}`), "subscriptions[0].template", "no {device}"},
		{"template partial level", sub(`{"topic": "city/+/air/+", "template": "city/{district}/air/dev-{device}"}`), "subscriptions[0].template", "whole level"},
		{"template device on hash", sub(`{"topic": "city/#", "template": "city/{device}"}`), "subscriptions[0].template", "write # there"},
		{"fixed id not a number", sub(`{"topic": "a/b", "device": "aq-1", "key": "id"}`), "subscriptions[0].device", "numeric id"},
		{"same filter twice", sub(`{"topic": "a/+", "device_level": 2}, {"name": "b", "topic": "a/+", "device_level": 2}`), "subscriptions[1].topic", "subscriptions[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.config)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.field != "" {
				var ce *cityhub.Error
				if !errors.As(err, &ce) || ce.Code != cityhub.EINVALID {
					t.Fatalf("got %v, want an invalid-configuration error", err)
				}
				if got := ce.Fields[tc.field]; !strings.Contains(got, tc.detail) {
					t.Fatalf("field %s: got %q, want it to say %q (all: %v)", tc.field, got, tc.detail, err)
				}
			} else if !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("got %v, want it to say %q", err, tc.detail)
			}
		})
	}

	if _, err := mqttbridge.Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	// TLS files are read when the bridge is made.
	c, err = load(t, `{"broker": "mqtts://x", "client_id": "c", "ca_file": "`+filepath.Join(dir, "none.pem")+`",
		"subscriptions": [{"topic": "a/+", "device_level": 2}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mqttbridge.New(c, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
}

// The example the README points to is a valid configuration.
func TestExampleConfig(t *testing.T) {
	cfg, err := mqttbridge.Load("example.json")
	if err != nil || len(cfg.Subscriptions) != 3 {
		t.Fatalf("example.json: %+v %v", cfg, err)
	}
}
