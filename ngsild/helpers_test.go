package ngsild_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/ngsild"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
)

// platform is the NGSI-LD handler over real stores in a temp dir, behind
// a stand-in for the authentication middleware: "Authorization: Bearer
// <username>" signs in as one of users.
type platform struct {
	url   string
	store *sqlstore.Store
	users map[string]*cityhub.User
}

const coreContext = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"

func start(t *testing.T) *platform {
	t.Helper()
	dir := t.TempDir()
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "cityhub.db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	series, err := tsdb.Open(ctx, filepath.Join(dir, "series.db"), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pipeline := ingest.New(series, store, ingest.Options{Linger: time.Millisecond})
	run, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { pipeline.Run(run); close(stopped) }()

	env := department(t, store, "宁波市生态环境局", demo.CreditCode("330200", 1))
	traffic := department(t, store, "宁波市公安局交通警察支队", demo.CreditCode("330200", 2))
	pl := &platform{store: store, users: map[string]*cityhub.User{
		"steward":  {ID: 1, Username: "steward", DepartmentID: &env, Roles: []string{cityhub.RoleSteward}},
		"admin":    {ID: 2, Username: "admin", Roles: []string{cityhub.RolePlatformAdmin}},
		"consumer": {ID: 3, Username: "consumer", DepartmentID: &env, Roles: []string{cityhub.RoleConsumer}},
		"police":   {ID: 4, Username: "police", DepartmentID: &traffic, Roles: []string{cityhub.RoleSteward}},
	}}
	mux := http.NewServeMux()
	ngsild.New(store, series, pipeline, nil).Register(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := pl.users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; u != nil {
			ctx := cityhub.WithActor(r.Context(), cityhub.Actor{UserID: u.ID, Username: u.Username})
			r = r.WithContext(cityhub.WithUser(ctx, u, nil))
		}
		mux.ServeHTTP(w, r)
	}))
	pl.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-stopped
		series.Close()
		store.Close()
	})
	return pl
}

func department(t *testing.T, store *sqlstore.Store, name, creditCode string) int64 {
	t.Helper()
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	d := &cityhub.Department{Name: name, CreditCode: creditCode, Division: "330200", Level: cityhub.LevelCity}
	if err := store.CreateDepartment(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// A response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request sends body (if any) as the steward; headers are name, value
// pairs, and "Authorization", "" sends none.
func (pl *platform) request(t *testing.T, method, path, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, pl.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer steward")
	if body != "" {
		req.Header.Set("Content-Type", "application/ld+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}
}

// expect fails the test unless the status is want.
func (r *response) expect(t *testing.T, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.body)
	}
	return r
}

// problem checks a ProblemDetails answer of an NGSI-LD error type.
func (r *response) problem(t *testing.T, status int, errorType string) map[string]any {
	t.Helper()
	r.expect(t, status)
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem is not JSON: %s", r.body)
	}
	if want := "https://uri.etsi.org/ngsi-ld/errors/" + errorType; errorType != "" && p["type"] != want {
		t.Errorf("problem type %v, want %s (%s)", p["type"], want, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("problem Content-Type %q, want application/json", ct)
	}
	return p
}

func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("want a JSON object: %v; body: %s", err, r.body)
	}
	return m
}

func (r *response) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("want a JSON array: %v; body: %s", err, r.body)
	}
	return l
}

// stamp writes an NGSI-LD DateTime.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// airQuality is an AirQualityObserved entity in normalized form, with its
// @context in the body; extra holds further "name": {...} members.
func airQuality(id string, pm25 float64, at time.Time, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{
		"id": %q,
		"type": "AirQualityObserved",
		"pm25": {"type": "Property", "value": %v, "observedAt": %q, "unitCode": "GQ"},
		"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.55, 29.87]}}%s,
		"@context": %q
	}`, id, pm25, stamp(at), extra, coreContext)
}

// attr reads entity[name]["value"].
func attr(t *testing.T, entity map[string]any, name string) any {
	t.Helper()
	a, ok := entity[name].(map[string]any)
	if !ok {
		t.Fatalf("entity has no attribute %s: %v", name, entity)
	}
	return a["value"]
}

func device(t *testing.T, pl *platform, entityID string) *cityhub.Device {
	t.Helper()
	d, err := pl.store.DeviceByEntityID(context.Background(), entityID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
