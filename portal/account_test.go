package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/portal"
)

const testPassword = "open-data-2024"

// browserClient is a visitor with cookies, on the portal over HTTP.
type browserClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, s *server) *browserClient {
	t.Helper()
	srv := httptest.NewServer(s.mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &browserClient{t: t, base: srv.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *browserClient) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: b.String()}
}

func (c *browserClient) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *browserClient) post(path string, form url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var (
	csrfField     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formCSRFField = regexp.MustCompile(`name="form_csrf" value="([^"]+)"`)
)

// csrf is the session's CSRF secret from a page's form.
func (c *browserClient) csrf(path string) string {
	c.t.Helper()
	res := c.get(path)
	m := csrfField.FindStringSubmatch(res.body)
	if m == nil {
		c.t.Fatalf("%s: no csrf field (%d)\n%s", path, res.status, excerptOf(res.body))
	}
	return m[1]
}

// register signs a new public account up through the form.
func (c *browserClient) register(username string) response {
	c.t.Helper()
	form := c.get("/open/register")
	m := formCSRFField.FindStringSubmatch(form.body)
	if form.status != http.StatusOK || m == nil {
		c.t.Fatalf("register form: %d", form.status)
	}
	return c.post("/open/register", url.Values{"form_csrf": {m[1]}, "username": {username}, "display_name": {"市民" + username},
		"email": {username + "@example.com"}, "password": {testPassword}, "password2": {testPassword}, "next": {"/open/account"}})
}

func (c *browserClient) login(username, password, next string) response {
	c.t.Helper()
	form := c.get("/open/login?next=" + url.QueryEscape(next))
	m := formCSRFField.FindStringSubmatch(form.body)
	if m == nil {
		c.t.Fatalf("login form: %d", form.status)
	}
	return c.post("/open/login", url.Values{"form_csrf": {m[1]}, "username": {username}, "password": {password}, "next": {next}})
}

func wantRedirect(t *testing.T, what string, res response, to string) {
	t.Helper()
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), to) {
		t.Fatalf("%s: %d to %q, want 303 to %s\n%s", what, res.status, res.header.Get("Location"), to, excerptOf(res.body))
	}
}

func sessionCookie(t *testing.T, res response) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: res.header}).Cookies() {
		if ck.Name == auth.SessionCookie {
			return ck
		}
	}
	return nil
}

func TestRegisterLoginAndKeys(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s)

	res := c.register("citizen-keys")
	wantRedirect(t, "register", res, "/open/account")
	ck := sessionCookie(t, res)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Fatalf("session cookie %+v", ck)
	}
	u, _, err := s.c.store.UserByUsername(s.c.ctx, "citizen-keys")
	if err != nil || !u.HasRole(cityhub.RolePublic) || len(u.Roles) != 1 {
		t.Fatalf("registered user %+v, %v", u, err)
	}
	acct := c.get("/open/account")
	if acct.status != http.StatusOK || !strings.Contains(acct.body, "市民citizen-keys") || !strings.Contains(acct.body, `id="key-form"`) {
		t.Fatalf("account: %d\n%s", acct.status, excerptOf(acct.body))
	}

	// A key is shown once, listed by its prefix, and revoked.
	token := c.csrf("/open/account")
	created := c.post("/open/account/keys", url.Values{"csrf": {token}, "name": {"我的应用"}})
	if created.status != http.StatusCreated {
		t.Fatalf("create key: %d\n%s", created.status, excerptOf(created.body))
	}
	secret := textOf(t, created.body, "new-key-secret")
	if !cityhub.IsAPIKey(secret) {
		t.Fatalf("the new key %q", secret)
	}
	k, err := s.c.store.APIKeyByHash(s.c.ctx, cityhub.HashSecret(secret))
	if err != nil || k.UserID != u.ID || k.Name != "我的应用" {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	again := c.get("/open/account")
	if strings.Contains(again.body, secret) || !strings.Contains(again.body, k.Prefix+"…") {
		t.Error("the key is shown again, or its prefix is not listed")
	}
	if again.header.Get("Cache-Control") != "no-store" {
		t.Errorf("account page Cache-Control %q", again.header.Get("Cache-Control"))
	}
	// Without the CSRF secret nothing happens.
	revokePath := "/open/account/keys/" + strconv.FormatInt(k.ID, 10) + "/revoke"
	if r := c.post(revokePath, url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("revoke without csrf: %d", r.status)
	}
	if r := c.post("/open/account/keys", url.Values{"csrf": {"wrong"}, "name": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("create key with a wrong csrf: %d", r.status)
	}
	wantRedirect(t, "revoke", c.post(revokePath, url.Values{"csrf": {token}}), "/open/account")
	if k, err = s.c.store.APIKey(s.c.ctx, k.ID); err != nil || k.Active() {
		t.Fatalf("key after revoke %+v, %v", k, err)
	}
	// Someone else's key is not found.
	other := newClient(t, s)
	wantRedirect(t, "register other", other.register("citizen-other"), "/open/account")
	if r := other.post(revokePath, url.Values{"csrf": {other.csrf("/open/account")}}); r.status != http.StatusNotFound {
		t.Errorf("revoke another's key: %d", r.status)
	}

	// Sign out, and in again.
	wantRedirect(t, "logout", c.post("/open/logout", url.Values{"csrf": {token}}), "/open/")
	wantRedirect(t, "account signed out", c.get("/open/account"), "/open/login?next=")
	if r := c.login("citizen-keys", "wrong-password-1", "/open/account"); r.status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.status)
	}
	wantRedirect(t, "login", c.login("citizen-keys", testPassword, "/open/account"), "/open/account")
	if r := c.get("/open/account"); !strings.Contains(r.body, `id="keys-table"`) {
		t.Error("signed in again: no keys")
	}
	// Off-site next is refused.
	fresh := newClient(t, s)
	wantRedirect(t, "login next", fresh.login("citizen-keys", testPassword, "//evil.example/"), "/open/account")
}

func TestLoginAndRegisterNeedFormToken(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s)
	c.get("/open/login") // sets the form cookie
	if r := c.post("/open/login", url.Values{"username": {"x"}, "password": {"y"}}); r.status != http.StatusForbidden {
		t.Errorf("login without the form token: %d", r.status)
	}
	if r := c.post("/open/register", url.Values{"username": {"nobody-csrf"}, "email": {"a@b.c"},
		"password": {testPassword}, "password2": {testPassword}}); r.status != http.StatusForbidden {
		t.Errorf("register without the form token: %d", r.status)
	}
	if _, _, err := s.c.store.UserByUsername(s.c.ctx, "nobody-csrf"); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Errorf("an account was created: %v", err)
	}
	// Bad input comes back with the fields marked.
	form := c.get("/open/register")
	m := formCSRFField.FindStringSubmatch(form.body)
	r := c.post("/open/register", url.Values{"form_csrf": {m[1]}, "username": {"Bad Name!"}, "email": {""},
		"password": {"short"}, "password2": {"other"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("bad registration: %d", r.status)
	}
	for _, id := range []string{"error-username", "error-email", "error-password", "error-password2", "form-error"} {
		if !strings.Contains(r.body, `id="`+id+`"`) {
			t.Errorf("bad registration: no #%s", id)
		}
	}
}

func TestApplyForConditionalData(t *testing.T) {
	s := newServer(t)
	e := s.c.conditional
	c := newClient(t, s)
	applyPath := datasetPath(e) + "/apply"
	wantRedirect(t, "apply signed out", c.get(applyPath), "/open/login?next="+url.QueryEscape(applyPath))
	wantRedirect(t, "register", c.register("citizen-apply"), "/open/account")

	form := c.get(applyPath)
	if form.status != http.StatusOK || !strings.Contains(form.body, `id="apply-form"`) || !strings.Contains(form.body, e.Name) {
		t.Fatalf("apply form: %d\n%s", form.status, excerptOf(form.body))
	}
	token := csrfField.FindStringSubmatch(form.body)[1]
	if r := c.post(applyPath, url.Values{"purpose": {"研究"}}); r.status != http.StatusForbidden {
		t.Errorf("apply without csrf: %d", r.status)
	}
	if r := c.post(applyPath, url.Values{"csrf": {token}, "purpose": {"  "}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, `id="error-purpose"`) {
		t.Errorf("apply without purpose: %d", r.status)
	}
	wantRedirect(t, "apply", c.post(applyPath, url.Values{"csrf": {token}, "purpose": {"城市交通研究"},
		"organization": {"某大学"}}), applyPath+"?sent=1")
	sent := c.get(applyPath + "?sent=1")
	if textOf(t, sent.body, "apply-status") != "待审核" || !strings.Contains(sent.body, `id="apply-sent"`) ||
		strings.Contains(sent.body, `id="apply-form"`) {
		t.Errorf("after applying: status %q", textOf(t, sent.body, "apply-status"))
	}
	acct := c.get("/open/account")
	apps := textOf(t, acct.body, "apps-table")
	if !strings.Contains(apps, e.Name) || !strings.Contains(apps, "待审核") {
		t.Errorf("account applications: %s", apps)
	}
	// An open dataset needs no application.
	wantRedirect(t, "apply for open data", c.get(datasetPath(s.c.rows)+"/apply"), datasetPath(s.c.rows))
	if r := c.get(datasetPath(s.c.closed) + "/apply"); r.status != http.StatusNotFound {
		t.Errorf("apply for closed data: %d", r.status)
	}
}

func TestRatingsAndComments(t *testing.T) {
	s := newServer(t)
	e := s.c.lamps
	anon := s.ok(datasetPath(e))
	if !strings.Contains(anon.body, `id="feedback"`) || !strings.Contains(anon.body, `id="signin-note"`) ||
		strings.Contains(anon.body, `id="comment-form"`) {
		t.Fatal("signed out: no feedback section, or a comment form")
	}
	c := newClient(t, s)
	wantRedirect(t, "register", c.register("citizen-rate"), "/open/account")
	page := c.get(datasetPath(e))
	token := csrfField.FindStringSubmatch(page.body)[1]
	if r := c.post(datasetPath(e)+"/comments", url.Values{"body": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("comment without csrf: %d", r.status)
	}
	wantRedirect(t, "rate", c.post(datasetPath(e)+"/rating", url.Values{"csrf": {token}, "stars": {"4"}}), datasetPath(e))
	wantRedirect(t, "comment", c.post(datasetPath(e)+"/comments", url.Values{"csrf": {token}, "body": {"路灯数据很有用 <b>谢谢</b>"}}),
		datasetPath(e)+"#comment-")
	if r := c.post(datasetPath(e)+"/rating", url.Values{"csrf": {token}, "stars": {"9"}}); r.status != http.StatusBadRequest {
		t.Errorf("9 stars: %d", r.status)
	}

	sums, err := s.c.store.RatingSummaries(s.c.ctx, []int64{e.ID})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.ok(datasetPath(e))
	if got, want := textOf(t, pub.body, "rating-average"), strconv.FormatFloat(sums[e.ID].Average, 'f', 1, 64); got != want {
		t.Errorf("average %s, want %s", got, want)
	}
	if got := textOf(t, pub.body, "rating-count"); !strings.Contains(got, strconv.Itoa(sums[e.ID].Count)) {
		t.Errorf("count %s, want %d", got, sums[e.ID].Count)
	}
	comments := sectionOf(t, pub.body, "comments")
	if !strings.Contains(html.UnescapeString(comments), "路灯数据很有用 <b>谢谢</b>") || strings.Contains(comments, "<b>谢谢") ||
		!strings.Contains(comments, "市民citizen-rate") || !strings.Contains(comments, "★★★★") {
		t.Errorf("comments: %s", comments)
	}
	// The provider's reply shows under it.
	list, _, err := s.c.store.Comments(s.c.ctx, cityhub.CommentFilter{EntryID: e.ID, Limit: 10})
	if err != nil || len(list) == 0 {
		t.Fatal(err)
	}
	steward := staffUser(t, s, "steward-reply", cityhub.RoleSteward, e.ProviderID)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{UserID: steward.ID, Username: steward.Username})
	if err := s.c.store.CreateComment(ctx, &cityhub.Comment{EntryID: e.ID, ParentID: &list[0].ID, Body: "感谢反馈，数据每月更新。"}); err != nil {
		t.Fatal(err)
	}
	if r := s.ok(datasetPath(e)); !strings.Contains(sectionOf(t, r.body, "comments"), "感谢反馈，数据每月更新。") {
		t.Error("the provider's reply is not shown")
	}
	// The signed-in user sees their own rating selected.
	if r := c.get(datasetPath(e)); !strings.Contains(r.body, `<option value="4" selected>`) {
		t.Error("own rating not selected")
	}
}

func TestRequestsAndShowcase(t *testing.T) {
	s := newServer(t)
	anon := s.ok("/open/requests")
	if !strings.Contains(anon.body, `id="signin-note"`) || strings.Contains(anon.body, `id="request-form"`) {
		t.Error("signed out: a request form")
	}
	c := newClient(t, s)
	wantRedirect(t, "register", c.register("citizen-req"), "/open/account")
	token := c.csrf("/open/requests")
	if r := c.post("/open/requests", url.Values{"title": {"公交到站数据"}, "description": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("request without csrf: %d", r.status)
	}
	if r := c.post("/open/requests", url.Values{"csrf": {token}, "title": {""}, "description": {""}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, `id="error-title"`) {
		t.Errorf("empty request: %d", r.status)
	}
	wantRedirect(t, "request", c.post("/open/requests", url.Values{"csrf": {token}, "title": {"公交实时到站数据"},
		"description": {"希望开放公交车辆实时到站信息，用于出行应用。"}, "domain": {""}}), "/open/requests#request-")
	reqs, _, err := s.c.store.DataRequests(s.c.ctx, cityhub.DataRequestFilter{Query: "公交实时到站数据", Limit: 5})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("stored requests %v, %v", reqs, err)
	}
	admin := staffUser(t, s, "admin-answer", cityhub.RolePlatformAdmin, 0)
	actx := cityhub.WithActor(context.Background(), cityhub.Actor{UserID: admin.ID, Username: admin.Username})
	if _, err := s.c.store.AnswerDataRequest(actx, reqs[0].ID, cityhub.RequestAnswer{Status: cityhub.RequestPlanned,
		Reply: "已列入下季度开放计划。"}); err != nil {
		t.Fatal(err)
	}
	list := s.ok("/open/requests")
	item := textOf(t, list.body, "request-"+strconv.FormatInt(reqs[0].ID, 10))
	if !strings.Contains(item, "公交实时到站数据") || !strings.Contains(item, "已列入开放计划") || !strings.Contains(item, "已列入下季度开放计划。") {
		t.Errorf("public request: %s", item)
	}
	if acct := c.get("/open/account"); !strings.Contains(textOf(t, acct.body, "my-requests"), "公交实时到站数据") {
		t.Error("the request is not in the account")
	}

	// Showcase: submitted for review, shown once approved.
	token = c.csrf("/open/showcase")
	if r := c.post("/open/showcase", url.Values{"csrf": {token}, "title": {"路灯地图"}, "description": {"d"},
		"url": {"https://lamps.example.com/"}, "datasets": {"999-999999"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, `id="error-entry_ids"`) {
		t.Errorf("unknown dataset: %d", r.status)
	}
	wantRedirect(t, "showcase", c.post("/open/showcase", url.Values{"csrf": {token}, "title": {"路灯地图"},
		"description": {"在地图上查看全市智慧路灯。"}, "url": {"https://lamps.example.com/"},
		"datasets": {"http://x" + datasetPath(s.c.lamps) + ", " + s.c.rows.PackageName()}}), "/open/account#showcase")
	items, _, err := s.c.store.ShowcaseItems(s.c.ctx, cityhub.ShowcaseFilter{SubmitterID: mustUser(t, s, "citizen-req").ID})
	if err != nil || len(items) != 1 || len(items[0].EntryIDs) != 2 || items[0].Status != cityhub.ShowcasePending {
		t.Fatalf("stored showcase %+v, %v", items, err)
	}
	if strings.Contains(s.ok("/open/showcase").body, "路灯地图") {
		t.Error("a pending item is shown")
	}
	if acct := c.get("/open/account"); !strings.Contains(textOf(t, acct.body, "showcase"), "待审核") {
		t.Error("the submission is not in the account")
	}
	if _, err := s.c.store.DecideShowcaseItem(actx, items[0].ID, true, ""); err != nil {
		t.Fatal(err)
	}
	shown := textOf(t, s.ok("/open/showcase").body, "showcase-"+strconv.FormatInt(items[0].ID, 10))
	if !strings.Contains(shown, "路灯地图") || !strings.Contains(shown, s.c.lamps.Name) || !strings.Contains(shown, s.c.rows.Name) {
		t.Errorf("approved item: %s", shown)
	}
}

func TestStaffOnPortal(t *testing.T) {
	s := newServer(t)
	staff := staffUser(t, s, "steward-portal", cityhub.RoleSteward, s.c.lamps.ProviderID)
	// The portal's sign-in is for public accounts.
	c := newClient(t, s)
	r := c.login(staff.Username, testPassword, "/open/account")
	if r.status != http.StatusForbidden || sessionCookie(t, r) != nil && sessionCookie(t, r).Value != "" {
		t.Errorf("staff sign-in on the portal: %d", r.status)
	}
	// With a console session, staff see the pages and a note instead of the
	// public forms, which keep working for public accounts.
	_, _, secret, err := auth.New(s.c.store).Login(cityhub.WithActor(context.Background(), cityhub.Actor{ClientAddr: "127.0.0.1"}),
		staff.Username, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	ck := &http.Cookie{Name: auth.SessionCookie, Value: secret}
	for _, path := range []string{"/open/account", datasetPath(s.c.lamps), datasetPath(s.c.conditional) + "/apply", "/open/requests", "/open/showcase"} {
		res := s.get(path, ck)
		if res.status != http.StatusOK || !strings.Contains(res.body, `id="staff-note"`) {
			t.Errorf("%s as staff: %d, no staff note", path, res.status)
		}
		for _, form := range []string{`id="comment-form"`, `id="apply-form"`, `id="request-form"`, `id="showcase-form"`, `id="key-form"`} {
			if strings.Contains(res.body, form) {
				t.Errorf("%s as staff shows %s", path, form)
			}
		}
	}
	// Posting anyway is refused by the store's rules.
	page := s.get("/open/account", ck)
	token := csrfField.FindStringSubmatch(page.body)[1]
	req := httptest.NewRequest(http.MethodPost, "http://portal.test/open/account/keys", strings.NewReader(url.Values{"csrf": {token}, "name": {"k"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("staff key: %d", rec.Code)
	}
}

func TestStatsPage(t *testing.T) {
	s := newServer(t, func(p *portal.Portal) { p.Policy = cityhub.CatalogPolicy{OpenRateTarget: 0.5} })
	c := s.c
	loc := time.FixedZone("CST", 8*3600)
	today := cityhub.UseDay(time.Now(), loc)
	if err := c.store.AddUsage(c.ctx, []cityhub.UsageDay{{Day: today, UsageCount: cityhub.UsageCount{EntryID: c.lamps.ID, Views: 7, Downloads: 3, APICalls: 11}}}); err != nil {
		t.Fatal(err)
	}
	res := s.ok("/open/stats")
	for _, lang := range []string{"en", "zh"} {
		s.ok("/open/stats?lang=" + lang)
	}
	now := time.Now().In(loc)
	st, err := c.store.CatalogStats(c.ctx, cityhub.CatalogPolicy{}.StatsQuery(0, now))
	if err != nil {
		t.Fatal(err)
	}
	open, openable := 0, 0
	for _, d := range st.Departments {
		open += d.PublishedOpen
		openable += d.Openable
	}
	if textOf(t, res.body, "stats-open") != strconv.Itoa(open) || textOf(t, res.body, "stats-openable") != strconv.Itoa(openable) {
		t.Errorf("overall %s/%s, want %d/%d", textOf(t, res.body, "stats-open"), textOf(t, res.body, "stats-openable"), open, openable)
	}
	if textOf(t, res.body, "stats-target") != "50.0%" {
		t.Errorf("target %s", textOf(t, res.body, "stats-target"))
	}
	if len(st.Domains) == 0 {
		t.Fatal("no domains in the statistics")
	}
	for _, d := range st.Domains {
		row := sectionOf(t, res.body, "domain-"+d.Domain)
		want := []string{">" + strconv.Itoa(d.Published) + "<", ">" + strconv.Itoa(d.Openable) + "<",
			strconv.FormatFloat(d.Rate*100, 'f', 1, 64) + "%"}
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("domain %s: no %q in %s", d.Domain, w, row)
			}
		}
	}
	days, err := c.store.DailyUsage(c.ctx, 0, now.AddDate(0, 0, -29), now)
	if err != nil {
		t.Fatal(err)
	}
	var total cityhub.UsageCount
	for _, d := range days {
		total.Views += d.Views
		total.Downloads += d.Downloads
		total.APICalls += d.APICalls
	}
	if total.APICalls < 11 {
		t.Fatalf("usage total %+v", total)
	}
	for id, n := range map[string]int64{"usage-views": total.Views, "usage-downloads": total.Downloads, "usage-api": total.APICalls} {
		if got := textOf(t, res.body, id); got != commas(n) {
			t.Errorf("%s %s, want %d", id, got, n)
		}
	}
	if !strings.Contains(textOf(t, res.body, "most-used-list"), c.lamps.Name) {
		t.Error("the lamps are not among the most used")
	}
	if !strings.Contains(res.body, `data-series="{`) || !strings.Contains(res.body, "/static/echarts/echarts.min.js") {
		t.Error("no chart data or ECharts")
	}
}

// staffUser creates a staff account with testPassword.
func staffUser(t *testing.T, s *server, name, role string, dept int64) *cityhub.User {
	t.Helper()
	u := &cityhub.User{Username: name, DisplayName: name, Roles: []string{role}}
	if dept != 0 {
		u.DepartmentID = &dept
	}
	if err := s.c.store.CreateUser(s.c.ctx, u, auth.HashPassword(testPassword, auth.DefaultParams)); err != nil {
		t.Fatal(err)
	}
	return u
}

func mustUser(t *testing.T, s *server, name string) *cityhub.User {
	t.Helper()
	u, _, err := s.c.store.UserByUsername(s.c.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAccountPagesInBothLanguages(t *testing.T) {
	s := newServer(t)
	key := regexp.MustCompile(`>\s*(form|login|register|account|apply|feedback|requests|showcase|stats|nav|error)\.[a-z_]+\s*<|"(form|login|register|account|apply|feedback|requests|showcase|stats)\.[a-z_]+"`)
	c := newClient(t, s)
	wantRedirect(t, "register", c.register("citizen-langs"), "/open/account")
	for _, lang := range []string{"zh", "en"} {
		for _, path := range []string{"/open/requests", "/open/showcase", "/open/stats", "/open/login", "/open/register", datasetPath(s.c.lamps)} {
			res := s.ok(path + "?lang=" + lang)
			if m := key.FindString(res.body); m != "" {
				t.Errorf("%s in %s shows the key %s", path, lang, m)
			}
		}
		for _, path := range []string{"/open/account", datasetPath(s.c.conditional) + "/apply", datasetPath(s.c.lamps), "/open/requests", "/open/showcase"} {
			res := c.get(path + "?lang=" + lang)
			if res.status != http.StatusOK {
				t.Errorf("%s in %s signed in: %d", path, lang, res.status)
			}
			if m := key.FindString(res.body); m != "" {
				t.Errorf("%s in %s signed in shows the key %s", path, lang, m)
			}
		}
	}
}
