package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

// envFunc builds a getenv from pairs.
func envFunc(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// run runs one command and returns its output and error.
func run(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, &out, &errOut, getenv)
	return out.String() + errOut.String(), err
}

// startServer runs "cityhub serve" on port 0 and returns its base URL and a
// stop function that cancels it and returns Run's error.
func startServer(t *testing.T, dir string, extra ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := append([]string{"serve", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data", dir, "--log-level", "warn"}, extra...)
	go func() {
		err := Run(ctx, args, pw, io.Discard, envFunc("CITYHUB_ADMIN_PASSWORD", "Admin-pass-2026"))
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if _, after, ok := strings.Cut(line, "listening on "); ok {
				urls <- strings.Fields(after)[0]
			}
		}
	}()
	var stopped bool
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("server did not stop within 20s")
		}
	}
	t.Cleanup(func() { stop() })
	select {
	case u := <-urls:
		return u, stop
	case err := <-done:
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start within 60s")
	}
	return "", nil
}

func getJSON(t *testing.T, method, url, token string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d: %s", method, url, resp.StatusCode, want, data)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServer(t, dir, "--demo")

	getJSON(t, "GET", base+"/healthz", "", nil, 200)
	ready := getJSON(t, "GET", base+"/readyz", "", nil, 200)
	if got, want := ready["schema_version"], float64(sqlstore.LatestSchemaVersion()); got != want {
		t.Errorf("readyz schema_version: got %v, want %v", got, want)
	}
	login := getJSON(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "Admin-pass-2026"}, 200)
	token, _ := login["token"].(string)
	if !strings.HasPrefix(token, cityhub.TokenPrefix) {
		t.Fatalf("login token: got %q", token)
	}
	deps := getJSON(t, "GET", base+"/api/v1/departments?limit=5", token, nil, 200)
	if total := deps["total"].(float64); total < 28 {
		t.Errorf("demo departments: got %v, want at least 28", total)
	}
	demoLogin := getJSON(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "auditor", "password": demo.Password}, 200)
	audit := getJSON(t, "GET", base+"/api/v1/audit?limit=3", demoLogin["token"].(string), nil, 200)
	if recs := audit["records"].([]any); len(recs) != 3 {
		t.Errorf("audit records: got %d, want 3", len(recs))
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `cityhub_http_requests_total{code="200",method="GET",route="GET /api/v1/departments"}`) {
		t.Errorf("metrics lack the departments route counter:\n%.2000s", metrics)
	}

	// The open-data doors are mounted and rate-limited.
	if resp, err := http.Get(base + "/open/dataset/" + url.PathEscape(demoEnterprisesName(t, dir))); err != nil || resp.StatusCode != 200 {
		t.Errorf("portal page of the demo's enterprise register: %v %v", resp, err)
	}
	for path, want := range map[string]string{"/catalog.ttl": "dcat:Dataset", "/catalog.jsonld": "dcat:Dataset",
		"/api/3/action/package_search?q=" + url.QueryEscape("企业登记"): `"success":true`} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") == "" || !strings.Contains(string(body), want) {
			t.Errorf("%s: status %d, rate limit %q, %.300s", path, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"), body)
		}
	}
	// And documented in the OpenAPI document beside the platform's own API.
	doc := getJSON(t, "GET", base+"/api/v1/openapi.json", "", nil, 200)
	for _, path := range []string{"/api/3/action/package_search", "/api/3/action/datastore_search", "/datastore/dump/{id}",
		"/catalog.ttl", "/dataset/{name}.jsonld", "/api/v1/departments"} {
		if doc["paths"].(map[string]any)[path] == nil {
			t.Errorf("the OpenAPI document lacks %s", path)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	out, err := run(t, envFunc(), "audit", "verify", "--data", dir)
	if err != nil || !strings.HasPrefix(out, "OK:") {
		t.Fatalf("audit verify after serve: %v\n%s", err, out)
	}
	out, err = run(t, envFunc(), "version", "--data", dir)
	if err != nil || !strings.Contains(out, fmt.Sprintf("schema (store): %d on sqlite", sqlstore.LatestSchemaVersion())) {
		t.Fatalf("version: %v\n%s", err, out)
	}

	// A second start on the same data keeps the admin and the demo as they were.
	base, stop = startServer(t, dir, "--demo")
	getJSON(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "Admin-pass-2026"}, 200)
	deps2 := getJSON(t, "GET", base+"/api/v1/departments?limit=5", token, nil, 200)
	if deps2["total"] != deps["total"] {
		t.Errorf("restart with --demo: got %v departments, want %v", deps2["total"], deps["total"])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServer(t, dir)
	// Many requests in flight while the stop arrives: every one that was
	// accepted completes with a full response.
	var wg sync.WaitGroup
	var failed atomic.Int32
	var completed atomic.Int32
	start := make(chan struct{})
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
				strings.NewReader(`{"username":"admin","password":"Admin-pass-2026"}`))
			if err != nil {
				return // refused after the listener closed: not accepted
			}
			defer resp.Body.Close()
			var body map[string]any
			if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
				failed.Add(1)
				return
			}
			completed.Add(1)
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d accepted requests were cut off by shutdown", failed.Load())
	}
	if completed.Load() == 0 {
		t.Errorf("no request completed; the test proves nothing")
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cityhub.json")
	os.WriteFile(file, []byte(`{"http": ":7000", "data": "/from-file", "log-level": "warn", "demo": true}`), 0o600)

	parse := func(getenv func(string) string, args ...string) (Config, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseConfig(fs, args, true, getenv)
	}
	c, err := parse(envFunc("CITYHUB_DATA", "/from-env", "CITYHUB_LOG_LEVEL", "error"), "--config", file, "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"http (file over default)", c.HTTP, ":7000"},
		{"data (env over file)", c.Data, "/from-env"},
		{"log-level (flag over env)", c.LogLevel, "debug"},
		{"demo (file)", fmt.Sprint(c.Demo), "true"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	c, err = parse(envFunc("CITYHUB_CONFIG", file, "CITYHUB_HTTP", ":9000"))
	if err != nil || c.HTTP != ":9000" || c.Data != "/from-file" {
		t.Errorf("CITYHUB_CONFIG: got http %q data %q err %v", c.HTTP, c.Data, err)
	}

	for _, tc := range []struct {
		name string
		env  func(string) string
		args []string
		want string
	}{
		{"unknown key in file", envFunc(), []string{"--config", writeFile(t, `{"htp": ":1"}`)}, `unknown key "htp"`},
		{"bad log level flag", envFunc(), []string{"--log-level", "loud"}, "--log-level must be"},
		{"bad bool in env", envFunc("CITYHUB_DEMO", "yes please"), nil, "CITYHUB_DEMO"},
		{"bad duration", envFunc(), []string{"--shutdown-timeout", "soon"}, "--shutdown-timeout"},
		{"mysql url", envFunc(), []string{"--db", "mysql://x"}, "postgres:// URL"},
	} {
		_, err := parse(tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}

	out, err := run(t, envFunc(), "serve", "--help")
	if !errors.Is(err, flag.ErrHelp) || exitCode(err) != exitOK {
		t.Errorf("serve --help: got %v", err)
	}
	for _, want := range []string{"-http", "CITYHUB_HTTP", "-data", "CITYHUB_DB", "-demo", "-config"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help does not mention %s:\n%s", want, out)
		}
	}
	if _, err := run(t, envFunc(), "serve", "--log-level", "loud"); exitCode(err) != exitUsage {
		t.Errorf("bad flag: got exit %d, want %d", exitCode(err), exitUsage)
	}
	if _, err := run(t, envFunc(), "frobnicate"); exitCode(err) != exitUsage {
		t.Errorf("unknown command: got exit %d, want %d", exitCode(err), exitUsage)
	}
	out, _ = run(t, envFunc("CITYHUB_DB", "postgres://u:hunter2@db/x"), "config")
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "u:xxxxx@db") {
		t.Errorf("config output must mask the password:\n%s", out)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openForTest opens the data dir's store writable, as serve does.
func openForTest(t *testing.T, dir string) (*sqlstore.Store, *cityhub.AuditKey) {
	t.Helper()
	c := DefaultConfig()
	c.Data = dir
	s, key, err := openStore(context.Background(), c, newLogger(c, io.Discard), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, key
}

func TestBackupWhileWritingRestoresConsistentCopy(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	store, _ := openForTest(t, src)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "writer"})

	// Writers keep changing the store during the whole backup.
	stopWriting := make(chan struct{})
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriting:
					return
				default:
				}
				n := int(written.Add(1))
				d := &cityhub.Department{Name: fmt.Sprintf("部门%d", n), CreditCode: demo.CreditCode("330200", 5000+n),
					Division: "330200", Level: cityhub.LevelCity}
				if err := store.CreateDepartment(ctx, d); err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
			}
		}()
	}
	for written.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "cityhub.backup")
	out, err := run(t, envFunc(), "backup", "--data", src, file)
	close(stopWriting)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}

	out, err = run(t, envFunc(), "restore", "--data", dst, file)
	if err != nil || !strings.Contains(out, "OK: audit chain intact") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	restored, _ := openForTest(t, dst)
	// Consistent: every department in the copy has its audit record and no
	// audit record lacks its department.
	_, deps, err := restored.Departments(context.Background(), cityhub.DepartmentFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var creates int
	restored.WalkAudit(context.Background(), 1, func(r *cityhub.AuditRecord) error {
		if r.Action == "department.create" {
			creates++
		}
		return nil
	})
	if deps != creates || deps < 50 {
		t.Errorf("restored copy: %d departments, %d department.create records; want equal and >= 50", deps, creates)
	}
	if written.Load() <= int64(deps) {
		t.Logf("note: writers wrote %d, backup holds %d", written.Load(), deps)
	}
	// The restored platform can go on writing and signing with its key.
	d := &cityhub.Department{Name: "恢复后新建", CreditCode: demo.CreditCode("330200", 99), Division: "330200", Level: cityhub.LevelCity}
	if err := restored.CreateDepartment(ctx, d); err != nil {
		t.Fatalf("write after restore: %v", err)
	}
	if out, err := run(t, envFunc(), "audit", "verify", "--data", dst); err != nil {
		t.Fatalf("verify after writing to restored copy: %v\n%s", err, out)
	}
	if _, err := run(t, envFunc(), "restore", "--data", dst, file); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("restore over an existing database without --force: got %v", err)
	}
}

func TestAuditCommandsDetectTampering(t *testing.T) {
	dir := t.TempDir()
	store, _ := openForTest(t, dir)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "tester"})
	for i := 1; i <= 5; i++ {
		d := &cityhub.Department{Name: fmt.Sprintf("部门%d", i), CreditCode: demo.CreditCode("330200", i), Division: "330200", Level: cityhub.LevelCity}
		if err := store.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	head := filepath.Join(t.TempDir(), "head.json")
	if out, err := run(t, envFunc(), "audit", "head", "--data", dir, "--out", head); err != nil {
		t.Fatalf("audit head: %v\n%s", err, out)
	}
	out, err := run(t, envFunc(), "audit", "export", "--data", dir)
	if err != nil || strings.Count(out, "\n") != 5 || !strings.Contains(out, `"action":"department.create"`) {
		t.Fatalf("audit export: %v\n%s", err, out)
	}
	if out, err := run(t, envFunc(), "audit", "verify", "--data", dir, "--anchor", head); err != nil {
		t.Fatalf("verify intact chain: %v\n%s", err, out)
	}
	if _, err := store.Exec(context.Background(), "UPDATE audit_records SET details = '{}' WHERE seq = 3"); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, envFunc(), "audit", "verify", "--data", dir)
	if exitCode(err) != exitVerify || !strings.Contains(out, "record 3 was altered") {
		t.Fatalf("verify edited chain: got exit %d, output %q", exitCode(err), out)
	}
}

func TestCatalogExportImportCommands(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	store, _ := openForTest(t, src)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	if _, err := demo.Load(ctx, store, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "catalog.xlsx")
	out, err := run(t, envFunc(), "catalog", "export", "--data", src, file)
	if err != nil || !strings.Contains(out, "exported 233 entries") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	// The target has the departments (same demo) but no catalog.
	target, _ := openForTest(t, dst)
	if _, err := demo.Load(ctx, target, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, envFunc(), "catalog", "import", "--data", dst, "--dry-run", file)
	if err != nil || !strings.Contains(out, "233 entries read: would import 0 new and 0 changed, 233 unchanged") {
		t.Fatalf("dry run into a platform with the same catalog: %v\n%s", err, out)
	}
	if _, err := run(t, envFunc(), "catalog", "import", "--data", dst, "catalog.txt"); exitCode(err) != exitUsage {
		t.Errorf("a .txt file: got exit %d, want %d", exitCode(err), exitUsage)
	}
}

func TestEnsureStreamEntries(t *testing.T) {
	store, _ := openForTest(t, t.TempDir())
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	dep := &cityhub.Department{Name: "某市大数据局", ShortName: "大数据局", CreditCode: demo.CreditCode(demo.CityDivision, 1),
		Division: demo.CityDivision, Level: cityhub.LevelCity}
	if err := store.CreateDepartment(ctx, dep); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if err := ensureStreamEntries(ctx, store, "91330200MA2XXXXXX0", log); err == nil || !strings.Contains(err.Error(), "no department") {
		t.Errorf("unknown credit code: %v", err)
	}
	for range 2 { // the second run adds nothing
		if err := ensureStreamEntries(ctx, store, dep.CreditCode, log); err != nil {
			t.Fatal(err)
		}
	}
	res, err := store.SearchCatalog(ctx, cityhub.CatalogQuery{Format: cityhub.FormatStream, Scope: cityhub.CatalogScope{All: true}, Limit: 100})
	if err != nil || res.Total != len(cityhub.DeviceTypes()) {
		t.Errorf("stream entries: %v, want one per device type (%d): %v", res, len(cityhub.DeviceTypes()), err)
	}
}

// demoEnterprisesName is the package name of the demo's enterprise
// register, read from the portal's search.
func demoEnterprisesName(t *testing.T, dir string) string {
	t.Helper()
	store, _ := openForTest(t, dir)
	res, err := store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Q: "企业登记基本信息", Public: true, Limit: 1})
	if err != nil || res.Total == 0 {
		t.Fatalf("the demo's enterprise register is not public: %v", err)
	}
	return res.Entries[0].PackageName()
}
