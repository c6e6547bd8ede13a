package mqtt_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/mqtt"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// platform is a running broker over real stores in dir.
type platform struct {
	store    *sqlstore.Store
	series   *tsdb.Store
	pipeline *ingest.Pipeline
	broker   *mqtt.Broker
	stop     func()
}

func start(t testing.TB, dir string) *platform {
	t.Helper()
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "cityhub.db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	series, err := tsdb.Open(ctx, filepath.Join(dir, "series.db"), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithCancel(ctx)
	p := ingest.New(series, st, ingest.Options{})
	done := make(chan struct{})
	go func() { p.Run(run); close(done) }()
	b, err := mqtt.New(st, p, mqtt.Options{Addr: "127.0.0.1:0", Context: run})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	pl := &platform{store: st, series: series, pipeline: p, broker: b}
	pl.stop = func() {
		b.Close()
		cancel()
		<-done
		series.Close()
		st.Close()
	}
	return pl
}

// device makes a department (once) and a device, and returns the device and its token.
func (pl *platform) device(t testing.TB, name, typ string, gateway bool) (*cityhub.Device, string) {
	t.Helper()
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	deps, _, err := pl.store.Departments(ctx, cityhub.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var dep *cityhub.Department
	if len(deps) > 0 {
		dep = deps[0]
	} else {
		dep = &cityhub.Department{Name: "宁波市生态环境局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
		if err := pl.store.CreateDepartment(ctx, dep); err != nil {
			t.Fatal(err)
		}
	}
	d := &cityhub.Device{Name: name, Type: typ, DepartmentID: dep.ID, Division: "330203", Lon: 121.55, Lat: 29.87, Gateway: gateway}
	token, err := pl.store.CreateDevice(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return d, token
}

func connect(t testing.TB, addr, token, clientID string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).SetUsername(token).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func publish(t testing.TB, c paho.Client, topic string, qos byte, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

func TestAuthentication(t *testing.T) {
	pl := start(t, t.TempDir())
	defer pl.stop()
	_, token := pl.device(t, "aq-001", "AirQualityObserved", false)
	if _, err := connect(t, pl.broker.Addr(), "not-a-token", "bad"); err == nil {
		t.Fatal("connected with a wrong token")
	} else if !strings.Contains(strings.ToLower(err.Error()), "not authorized") {
		t.Errorf("wrong token: got %v, want CONNACK 5, not authorized (as ThingsBoard)", err)
	}
	if _, err := connect(t, pl.broker.Addr(), "", "empty"); err == nil {
		t.Fatal("connected without a token")
	}
	if _, err := connect(t, pl.broker.Addr(), token, "good"); err != nil {
		t.Fatalf("connect with the device token: %v", err)
	}
}

func TestTelemetryIsStoredBeforeTheAck(t *testing.T) {
	pl := start(t, t.TempDir())
	defer pl.stop()
	d, token := pl.device(t, "aq-001", "AirQualityObserved", false)
	c, err := connect(t, pl.broker.Addr(), token, "aq-001")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 50 {
		publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": %d, "no2": 20.5, "airQualityLevel": "良"}}`,
			base.Add(time.Duration(i)*time.Second).UnixMilli(), 30+i))
		// Acknowledged means durable: the reading is queryable already.
		pts, err := pl.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: d.ID, Key: "pm25", From: base, To: base.Add(time.Hour)})
		if err != nil || len(pts) != i+1 {
			t.Fatalf("after ack %d: %d points, %v", i, len(pts), err)
		}
	}
	// The plain form takes the arrival time; an array takes several.
	publish(t, c, mqtt.TopicTelemetry, 1, `{"pm25": 12}`)
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`[{"ts": %d, "values": {"o3": 80}}, {"ts": %d, "values": {"o3": 81}}]`,
		base.Add(-time.Minute).UnixMilli(), base.Add(-2*time.Minute).UnixMilli()))
	latest, _ := pl.series.Latest(context.Background(), []int64{d.ID})
	got := map[string]float64{}
	for _, v := range latest[d.ID] {
		got[v.Key] = v.Num
	}
	if got["pm25"] != 12 || got["o3"] != 80 || got["no2"] != 20.5 {
		t.Errorf("latest values: %v", got)
	}
	c0 := pl.pipeline.Counts()
	if c0.Received != 50*3+1+2 || c0.Stored != c0.Received {
		t.Errorf("counts: %+v", c0)
	}
	// Attributes land on the device.
	publish(t, c, mqtt.TopicAttributes, 1, `{"firmware": "2.1.0", "address": "海曙区中山西路"}`)
	dev, _ := pl.store.Device(context.Background(), d.ID)
	if dev.Attributes["firmware"] != "2.1.0" {
		t.Errorf("attributes: %v", dev.Attributes)
	}
}

func TestTopicACL(t *testing.T) {
	pl := start(t, t.TempDir())
	defer pl.stop()
	_, token := pl.device(t, "aq-001", "AirQualityObserved", false)
	c, err := connect(t, pl.broker.Addr(), token, "aq-001")
	if err != nil {
		t.Fatal(err)
	}
	// Subscribing to another device's data is refused (SUBACK 0x80).
	tok := c.Subscribe("v1/devices/#", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if st, ok := tok.(*paho.SubscribeToken); !ok || st.Result()["v1/devices/#"] != 0x80 {
		t.Errorf("subscribe to v1/devices/#: %v", tok.(*paho.SubscribeToken).Result())
	}
	// A plain device may not publish as a gateway or elsewhere: MQTT 3.1.1
	// has no negative PUBACK, so the broker drops the connection.
	c.Publish(mqtt.TopicGatewayTelemetry, 1, false, `{"aq-002": [{"ts": 1, "values": {"pm25": 1}}]}`).WaitTimeout(2 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c.IsConnectionOpen() {
		t.Error("still connected after publishing to the gateway topic")
	}
	if n := pl.pipeline.Counts().Received; n != 0 {
		t.Errorf("received %d values from forbidden topics", n)
	}
}

func TestGateway(t *testing.T) {
	pl := start(t, t.TempDir())
	defer pl.stop()
	_, gwToken := pl.device(t, "gw-1", "AirQualityObserved", true)
	behind, _ := pl.device(t, "tunnel-gas-7", "TunnelGasObserved", false)
	c, err := connect(t, pl.broker.Addr(), gwToken, "gw-1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	publish(t, c, mqtt.TopicGatewayTelemetry, 1, fmt.Sprintf(`{"tunnel-gas-7": [{"ts": %d, "values": {"ch4": 3.5, "o2": 20.9}}], "nobody": [{"ts": %d, "values": {"ch4": 1}}]}`, now, now))
	latest, _ := pl.series.Latest(context.Background(), []int64{behind.ID})
	if len(latest[behind.ID]) != 2 {
		t.Errorf("values behind the gateway: %v", latest[behind.ID])
	}
	cnt := pl.pipeline.Counts()
	if cnt.Stored != 2 || cnt.Rejected[ingest.ReasonUnknownDevice] != 1 || cnt.Received != 3 {
		t.Errorf("counts: %+v", cnt)
	}
}

func TestLateDuplicateAndMalformed(t *testing.T) {
	pl := start(t, t.TempDir())
	defer pl.stop()
	d, token := pl.device(t, "aq-001", "AirQualityObserved", false)
	c, err := connect(t, pl.broker.Addr(), token, "aq-001")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	newer := now.Add(-time.Minute).UnixMilli()
	older := now.Add(-6 * 24 * time.Hour).UnixMilli()
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 40}}`, newer))
	// Six days late: stored, but it does not replace the newer latest value.
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 99}}`, older))
	// Eight days late: refused.
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 50}}`, now.Add(-8*24*time.Hour).UnixMilli()))
	// The same reading again: stored once.
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 40}}`, newer))
	// Another value at the same time: a conflict, refused.
	publish(t, c, mqtt.TopicTelemetry, 1, fmt.Sprintf(`{"ts": %d, "values": {"pm25": 41}}`, newer))
	// Malformed payloads and bad values are refused; the connection stays.
	publish(t, c, mqtt.TopicTelemetry, 1, `{"pm25": `)
	publish(t, c, mqtt.TopicTelemetry, 1, `{"pm25": -5, "colour": "blue", "no2": "abc"}`)
	if !c.IsConnectionOpen() {
		t.Fatal("connection closed after malformed telemetry")
	}
	latest, _ := pl.series.Latest(context.Background(), []int64{d.ID})
	if len(latest[d.ID]) != 1 || latest[d.ID][0].Num != 40 {
		t.Errorf("latest: %+v", latest[d.ID])
	}
	pts, _ := pl.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: d.ID, Key: "pm25", From: now.Add(-7 * 24 * time.Hour), To: now})
	if len(pts) != 2 {
		t.Errorf("raw points: %+v", pts)
	}
	cnt := pl.pipeline.Counts()
	want := ingest.Counts{Received: 9, Stored: 2, Duplicates: 1, Rejected: map[string]int64{
		ingest.ReasonTooLate: 1, ingest.ReasonConflict: 1, ingest.ReasonMalformed: 1, ingest.ReasonInvalid: 2, ingest.ReasonUnknownProperty: 1}}
	if fmt.Sprint(cnt.Received, cnt.Stored, cnt.Duplicates, cnt.Rejected) != fmt.Sprint(want.Received, want.Stored, want.Duplicates, want.Rejected) {
		t.Errorf("counts: got %+v, want %+v", cnt, want)
	}
	if dc := pl.pipeline.DeviceCounts(d.ID); dc.Rejected != 6 || len(dc.Recent) != 6 {
		t.Errorf("device's rejections: %+v", dc)
	}
}

// The child process of TestQoS1SurvivesKill: a broker over the stores in
// CITYHUB_MQTT_CHILD that prints its address and runs until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CITYHUB_MQTT_CHILD"); dir != "" {
		pl := start(&testing.B{}, dir)
		fmt.Println("ADDR", pl.broker.Addr())
		select {}
	}
	os.Exit(m.Run())
}

// Every acknowledged QoS 1 reading is in the store after the server is
// killed with SIGKILL in the middle of a stream and started again.
func TestQoS1SurvivesKill(t *testing.T) {
	dir := t.TempDir()
	pl := start(t, dir)
	d, token := pl.device(t, "aq-001", "AirQualityObserved", false)
	pl.stop()

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CITYHUB_MQTT_CHILD="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child said %q, %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	c, err := connect(t, addr, token, "aq-001")
	if err != nil {
		t.Fatal(err)
	}
	// Several publishers in flight at once; count the acknowledgements.
	var acked atomic.Int64
	var waiting sync.WaitGroup
	ackedTS := make(chan int64, 100001)
	base := time.Now().Add(-time.Hour).UnixMilli()
	killed := make(chan struct{})
	go func() {
		for acked.Load() < 300 {
			time.Sleep(time.Millisecond)
		}
		child.Process.Signal(syscall.SIGKILL)
		close(killed)
	}()
	for i := 0; ; i++ {
		select {
		case <-killed:
		default:
			ts := base + int64(i)
			tok := c.Publish(mqtt.TopicTelemetry, 1, false, fmt.Sprintf(`{"ts": %d, "values": {"pm25": %d}}`, ts, i%500))
			waiting.Add(1)
			go func() {
				defer waiting.Done()
				if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
					acked.Add(1)
					ackedTS <- ts
				}
			}()
			if i < 100000 {
				continue
			}
		}
		break
	}
	child.Wait()
	waiting.Wait() // every token answered or failed with the connection
	close(ackedTS)
	pl = start(t, dir)
	defer pl.stop()
	pts, err := pl.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: d.ID, Key: "pm25",
		From: time.UnixMilli(base), To: time.UnixMilli(base + 200000), Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, p := range pts {
		stored[p.Time.UnixMilli()] = true
	}
	n := 0
	for ts := range ackedTS {
		n++
		if !stored[ts] {
			t.Errorf("acknowledged reading at %d is missing after the kill", ts)
		}
	}
	if n < 300 {
		t.Fatalf("only %d acknowledgements before the kill", n)
	}
	t.Logf("%d acknowledged before SIGKILL, %d stored after restart", n, len(pts))
	// The rollups were rebuilt from what was written after the last flush.
	agg, err := pl.series.Series(context.Background(), cityhub.SeriesQuery{DeviceID: d.ID, Key: "pm25",
		From: time.UnixMilli(base).Truncate(time.Hour), To: time.UnixMilli(base).Truncate(time.Hour).Add(2 * time.Hour), Step: 2 * time.Hour, Agg: "count"})
	if err != nil || len(agg) != 1 || int(agg[0].Value) != len(pts) {
		t.Errorf("rollup count after restart: %+v (%v), want %d", agg, err, len(pts))
	}
}
