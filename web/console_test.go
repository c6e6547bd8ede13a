package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
)

func TestLoginSuccess(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()

	r := c.login("admin", testPassword)
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.header.Get("Location"); got != "/" {
		t.Errorf("Location %q, want /", got)
	}
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == auth.SessionCookie {
			session = ck
		}
	}
	switch {
	case session == nil:
		t.Fatal("no session cookie")
	case !session.HttpOnly, session.SameSite != http.SameSiteLaxMode, session.Path != "/", session.Secure:
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure", session)
	case session.MaxAge <= 0 || session.Expires.IsZero():
		t.Errorf("cookie %+v: want it to expire with the token", session)
	}

	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	wantBody(t, home, `id="home"`, "admin", "平台管理员", `id="home-version">test<`, `href="/audit"`, `lang="zh-CN"`)
	s.noErrorLogs()
}

func TestLoginRedirectsToNext(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()

	r := c.get("/departments?q=" + url.QueryEscape("海曙"))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	if want := "/login?next=" + url.QueryEscape("/departments?q="+url.QueryEscape("海曙")); loc != want {
		t.Fatalf("Location %q, want %q", loc, want)
	}
	form := c.get(loc)
	wantStatus(t, form, http.StatusOK)
	next := html.UnescapeString(regexpValue(form.body, "next"))
	r = c.post("/login", url.Values{"username": {"admin"}, "password": {testPassword},
		"login_csrf": {hidden(form.body, "login_csrf")}, "next": {next}})
	wantStatus(t, r, http.StatusSeeOther)
	if got, want := r.header.Get("Location"), "/departments?q="+url.QueryEscape("海曙"); got != want {
		t.Errorf("after login Location %q, want %q", got, want)
	}
}

func TestLoginRefusesOffsiteNext(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, "javascript:alert(1)"} {
		c := s.client()
		form := c.get("/login")
		r := c.post("/login", url.Values{"username": {"admin"}, "password": {testPassword},
			"login_csrf": {hidden(form.body, "login_csrf")}, "next": {next}})
		wantStatus(t, r, http.StatusSeeOther)
		if got := r.header.Get("Location"); got != "/" {
			t.Errorf("next=%q: Location %q, want /", next, got)
		}
	}
}

// regexpValue reads the value of the hidden input name from a page.
func regexpValue(body, name string) string {
	marker := `name="` + name + `" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		return ""
	}
	rest := body[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

func TestLoginFailure(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()

	r := c.login("admin", "wrong-password-1")
	wantStatus(t, r, http.StatusUnauthorized)
	wantBody(t, r, "用户名或密码错误", `value="admin"`, `id="login-form"`)
	wantNotBody(t, r, "wrong-password-1")
	if c.get("/").status != http.StatusSeeOther {
		t.Error("signed in after a failed login")
	}

	r = c.login("", "")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="username-error"`, `id="password-error"`, "必填")
}

func TestLoginWithoutFormTokenIsRefused(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	r := c.post("/login", url.Values{"username": {"admin"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusForbidden)
	wantBody(t, r, "登录表单已过期")
}

func TestLoginLockout(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	for i := 0; i < auth.DefaultPolicy.MaxAccountFailures; i++ {
		wantStatus(t, c.login("admin", "wrong-password-1"), http.StatusUnauthorized)
	}
	// Locked now: even the right password is refused, with a clear message.
	r := c.login("admin", testPassword)
	wantStatus(t, r, http.StatusTooManyRequests)
	wantBody(t, r, "已被暂时锁定", "15 分钟")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}

	c.get("/?lang=en")
	r = c.login("admin", testPassword)
	wantStatus(t, r, http.StatusTooManyRequests)
	wantBody(t, r, "the account is locked")
}

func TestSignedOutRedirectsToLogin(t *testing.T) {
	s := newStack(t)
	c := s.client()
	for _, path := range []string{"/", "/departments", "/departments/1", "/users", "/users/1", "/tokens", "/audit?actor=x",
		"/catalog?q=x", "/catalog/tree", "/catalog/stats", "/catalog/new", "/catalog/entries/1", "/catalog/departments/1"} {
		r := c.get(path)
		if r.status != http.StatusSeeOther {
			t.Errorf("GET %s: status %d, want 303", path, r.status)
			continue
		}
		if want := "/login?next=" + url.QueryEscape(path); r.header.Get("Location") != want {
			t.Errorf("GET %s: Location %q, want %q", path, r.header.Get("Location"), want)
		}
	}
	r := c.post("/departments", url.Values{"name": {"x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("signed-out POST: status %d Location %q, want 303 /login", r.status, r.header.Get("Location"))
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	c.signIn("admin")
	form := url.Values{"name": {"新部门"}, "credit_code": {creditCode(t, 3)}, "division_code": {"330205"}, "level": {"district"}}

	wantStatus(t, c.post("/departments", form), http.StatusForbidden)
	form.Set("csrf", "not-the-token")
	wantStatus(t, c.post("/departments", form), http.StatusForbidden)
	wantStatus(t, c.post("/logout", url.Values{}), http.StatusForbidden)
	if _, n, _ := s.store.Departments(context.Background(), cityhub.DepartmentFilter{}); n != 2 {
		t.Fatalf("%d departments after refused posts, want 2", n)
	}

	form.Set("csrf", c.csrf())
	r := c.post("/departments", form)
	wantStatus(t, r, http.StatusSeeOther)
	list := c.get(r.header.Get("Location"))
	wantBody(t, list, "新部门", "部门已创建", "江北区")
}

func TestRoleBasedAccess(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	s.user("auditor", nil, cityhub.RoleAuditor)
	s.user("consumer", s.district, cityhub.RoleConsumer)
	s.user("haishu-admin", s.district, cityhub.RoleDeptAdmin)
	s.user("city-steward", s.city, cityhub.RoleSteward)

	t.Run("auditor", func(t *testing.T) {
		c := s.client()
		c.signIn("auditor")
		r := c.get("/audit")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `id="audit-table"`, "auth.login", `id="audit-head"`)
		users := c.get("/users")
		wantStatus(t, users, http.StatusOK)
		wantBody(t, users, "consumer", "city-steward", "haishu-admin")
		wantNotBody(t, users, `id="user-create"`)
		depts := c.get("/departments")
		wantNotBody(t, depts, `id="department-create"`, "/delete")
		wantStatus(t, c.get("/departments/1"), http.StatusForbidden)
	})

	t.Run("consumer", func(t *testing.T) {
		c := s.client()
		c.signIn("consumer")
		home := c.get("/")
		wantNotBody(t, home, `href="/audit"`)
		r := c.get("/audit")
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, `id="error-page"`, "无权访问")
		wantNotBody(t, r, `id="audit-table"`)

		users := c.get("/users")
		wantStatus(t, users, http.StatusOK)
		wantBody(t, users, "consumer", "仅显示您自己")
		wantNotBody(t, users, "city-steward", "haishu-admin", `id="user-create"`)

		form := url.Values{"csrf": {c.csrf()}, "username": {"sneaky"}, "password": {testPassword},
			"roles": {cityhub.RolePlatformAdmin}}
		wantStatus(t, c.post("/users", form), http.StatusForbidden)
		if _, _, err := s.store.UserByUsername(context.Background(), "sneaky"); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			t.Errorf("user created by a data consumer (err %v)", err)
		}
		recs, err := s.store.AuditRecords(context.Background(), cityhub.AuditFilter{Action: "access.denied", Actor: "consumer", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) < 2 {
			t.Errorf("%d access.denied records for consumer, want 2 (GET /audit, POST /users)", len(recs))
		}
	})

	t.Run("department admin", func(t *testing.T) {
		c := s.client()
		c.signIn("haishu-admin")
		users := c.get("/users")
		wantStatus(t, users, http.StatusOK)
		wantBody(t, users, "consumer", "haishu-admin", "本部门用户", `id="user-create"`)
		wantNotBody(t, users, "city-steward", `value="platform_admin"`, `value="auditor"`)

		csrf := c.csrf()
		// Roles outside a department admin's authority are refused.
		r := c.post("/users", url.Values{"csrf": {csrf}, "username": {"boss"}, "password": {testPassword},
			"department_id": {id(s.district.ID)}, "roles": {cityhub.RolePlatformAdmin}})
		wantStatus(t, r, http.StatusForbidden)
		// So is another department.
		r = c.post("/users", url.Values{"csrf": {csrf}, "username": {"elsewhere"}, "password": {testPassword},
			"department_id": {id(s.city.ID)}, "roles": {cityhub.RoleConsumer}})
		wantStatus(t, r, http.StatusForbidden)
		r = c.post("/users", url.Values{"csrf": {csrf}, "username": {"new-consumer"}, "display_name": {"新用户"},
			"password": {testPassword}, "department_id": {id(s.district.ID)}, "roles": {cityhub.RoleConsumer}})
		wantStatus(t, r, http.StatusSeeOther)
		wantBody(t, c.get(r.header.Get("Location")), "new-consumer", "用户已创建", "海曙区大数据中心")

		// Another department's user looks absent.
		steward, _, err := s.store.UserByUsername(context.Background(), "city-steward")
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.get("/users/"+id(steward.ID)), http.StatusNotFound)
		wantStatus(t, c.post("/users/"+id(steward.ID)+"/disable", url.Values{"csrf": {csrf}}), http.StatusNotFound)
	})
	s.noErrorLogs()
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

func TestDepartmentBadCreditCode(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	c.signIn("admin")

	good := creditCode(t, 7)
	bad := good[:17] + string(otherCheckChar(good[17]))
	form := url.Values{"csrf": {c.csrf()}, "name": {"江北区数据局"}, "short_name": {"江北数据"},
		"credit_code": {bad}, "division_code": {"330205"}, "level": {"district"}, "parent_id": {id(s.city.ID)}}
	r := c.post("/departments", form)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r,
		`id="error-summary"`, `id="credit_code-error"`, "不是有效的统一社会信用代码",
		`aria-invalid="true" aria-describedby="credit_code-error"`,
		`value="江北区数据局"`, `value="江北数据"`, `value="`+bad+`"`, `value="330205"`,
		`<option value="district" selected>`, `<option value="`+id(s.city.ID)+`" selected>`)
	if _, n, _ := s.store.Departments(context.Background(), cityhub.DepartmentFilter{}); n != 2 {
		t.Errorf("%d departments after a refused create, want 2", n)
	}

	// Several problems show at once, each next to its field.
	form.Set("credit_code", "")
	form.Set("division_code", "999999")
	form.Set("level", "")
	r = c.post("/departments", form)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="credit_code-error"`, `id="division_code-error"`, `id="level-error"`, "不是已知的 GB/T 2260 行政区划代码")

	// A duplicate credit code is a conflict on that field.
	form.Set("credit_code", s.city.CreditCode)
	form.Set("division_code", "330205")
	form.Set("level", "district")
	r = c.post("/departments", form)
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, `id="credit_code-error"`, "已被使用")

	form.Set("credit_code", good)
	r = c.post("/departments", form)
	wantStatus(t, r, http.StatusSeeOther)
	list := c.get(r.header.Get("Location"))
	wantBody(t, list, "江北区数据局", good, "330205", "江北区", "区县级", "宁波市大数据发展管理局")
	s.noErrorLogs()
}

// otherCheckChar returns a valid character that is not c.
func otherCheckChar(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

func TestDepartmentEditAndDelete(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	s.user("worker", s.district, cityhub.RoleSteward)
	c := s.client()
	c.signIn("admin")
	csrf := c.csrf()

	edit := c.get("/departments/" + id(s.district.ID))
	wantStatus(t, edit, http.StatusOK)
	wantBody(t, edit, `value="海曙区大数据中心"`, `value="`+s.district.CreditCode+`"`)

	form := url.Values{"csrf": {csrf}, "name": {"海曙区数据资源中心"}, "short_name": {"海曙数据"},
		"credit_code": {s.district.CreditCode}, "division_code": {"330203"}, "level": {"district"}, "parent_id": {id(s.district.ID)}}
	r := c.post("/departments/"+id(s.district.ID), form)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="parent_id-error"`, `value="海曙区数据资源中心"`)

	form.Set("parent_id", id(s.city.ID))
	r = c.post("/departments/"+id(s.district.ID), form)
	wantStatus(t, r, http.StatusSeeOther)
	d, err := s.store.Department(context.Background(), s.district.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "海曙区数据资源中心" {
		t.Errorf("name %q after edit", d.Name)
	}

	// A department with users cannot go.
	r = c.post("/departments/"+id(s.district.ID)+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "该部门仍有用户或下级部门")

	empty := s.department("临时部门", "", creditCode(t, 9), "330211", cityhub.LevelDistrict, nil)
	r = c.post("/departments/"+id(empty.ID)+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	wantBody(t, c.get(r.header.Get("Location")), "部门已删除")
	wantStatus(t, c.get("/departments/"+id(empty.ID)), http.StatusNotFound)
	s.noErrorLogs()
}

func TestUserCreateFieldErrorsAndManagement(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	c.signIn("admin")
	csrf := c.csrf()

	r := c.post("/users", url.Values{"csrf": {csrf}, "username": {"Bad Name!"}, "display_name": {"张三"},
		"password": {"short"}, "email": {"nope"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="username-error"`, `id="password-error"`, `id="email-error"`, `id="roles-error"`,
		`value="张三"`, "至少 10 个字符", "至少选择一个角色")

	r = c.post("/users", url.Values{"csrf": {csrf}, "username": {"zhang.san"}, "display_name": {"张三"},
		"password": {testPassword}, "department_id": {id(s.city.ID)}, "roles": {cityhub.RoleSteward, cityhub.RoleConsumer}})
	wantStatus(t, r, http.StatusSeeOther)
	detail := c.get(r.header.Get("Location"))
	wantBody(t, detail, "zhang.san", "数据管理员", "数据使用者", `id="user-manage"`)
	path := r.header.Get("Location")
	path = path[:strings.Index(path, "?")]

	r = c.post(path+"/password", url.Values{"csrf": {csrf}, "password": {"weak"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="password-error"`)
	wantStatus(t, c.post(path+"/password", url.Values{"csrf": {csrf}, "password": {"Another-pass-99"}}), http.StatusSeeOther)
	other := s.client()
	wantStatus(t, other.login("zhang.san", "Another-pass-99"), http.StatusSeeOther)

	wantStatus(t, c.post(path+"/disable", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
	wantBody(t, c.get(path), "已停用")
	if other.get("/").status != http.StatusSeeOther {
		t.Error("a disabled user's session still works")
	}
	wantStatus(t, c.post(path+"/enable", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
	wantBody(t, c.get(path), "正常")

	// Nobody manages themself here.
	admin, _, _ := s.store.UserByUsername(context.Background(), "admin")
	wantNotBody(t, c.get("/users/"+id(admin.ID)), `id="user-manage"`)
	wantStatus(t, c.post("/users/"+id(admin.ID)+"/disable", url.Values{"csrf": {csrf}}), http.StatusForbidden)
	s.noErrorLogs()
}

func TestTokens(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	c := s.client()
	c.signIn("steward")
	csrf := c.csrf()

	r := c.post("/tokens", url.Values{"csrf": {csrf}, "name": {""}, "days": {"999"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="name-error"`, `id="expires_at-error"`, `id="scopes-error"`)

	r = c.post("/tokens", url.Values{"csrf": {csrf}, "name": {"同步脚本"}, "days": {"30"}, "scopes": {"read"}})
	wantStatus(t, r, http.StatusOK)
	secret := between(r.body, `<code id="token-secret">`, `</code>`)
	if !strings.HasPrefix(secret, cityhub.TokenPrefix) {
		t.Fatalf("no secret shown after create:\n%s", r.body)
	}
	wantBody(t, r, "只显示这一次", "同步脚本")

	// The token works for the API, read-only…
	req, _ := http.NewRequest("GET", s.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if resp := s.client().do(req); resp.status != http.StatusOK || !strings.Contains(resp.body, `"steward"`) {
		t.Errorf("API with the new token: %d %s", resp.status, resp.body)
	}
	// …and is never shown again.
	list := c.get("/tokens")
	wantBody(t, list, "同步脚本", secret[:8])
	wantNotBody(t, list, secret)

	ts, err := s.store.Tokens(context.Background(), mustUser(t, s, "steward").ID, cityhub.TokenPersonal)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tokens %v, %v", ts, err)
	}
	r = c.post("/tokens/"+id(ts[0].ID)+"/revoke", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	wantBody(t, c.get(r.header.Get("Location")), "令牌已吊销", "已吊销")
	if resp := s.client().do(req); resp.status != http.StatusUnauthorized {
		t.Errorf("revoked token: status %d, want 401", resp.status)
	}

	// Someone else's token looks absent.
	s.user("other", s.city, cityhub.RoleConsumer)
	o := s.client()
	o.signIn("other")
	wantStatus(t, o.post("/tokens/"+id(ts[0].ID)+"/revoke", url.Values{"csrf": {o.csrf()}}), http.StatusNotFound)
	s.noErrorLogs()
}

func mustUser(t *testing.T, s *stack, username string) *cityhub.User {
	t.Helper()
	u, _, err := s.store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestAuditPage(t *testing.T) {
	s := newStack(t)
	s.user("auditor", nil, cityhub.RoleAuditor)
	for i := 0; i < 5; i++ {
		s.user("user"+strconv.Itoa(i), s.city, cityhub.RoleConsumer)
	}
	c := s.client()
	c.signIn("auditor")

	r := c.get("/audit?verify=1")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="verify-result" class="verify ok"`, "审计链完整", `id="public-key"`, `id="head-json"`)

	// Filters and keyset paging.
	r = c.get("/audit?action=user.create&limit=2")
	wantStatus(t, r, http.StatusOK)
	if n := strings.Count(r.body, ">user.create<"); n != 2 {
		t.Errorf("%d user.create rows, want 2", n)
	}
	m := regexp.MustCompile(`<a href="([^"]*)" rel="next" id="audit-older"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no link to older records:\n%s", r.body)
	}
	older := html.UnescapeString(m[1])
	if !strings.Contains(older, "before=") || !strings.Contains(older, "action=user.create") {
		t.Fatalf("older link %q", older)
	}
	r2 := c.get(older)
	wantStatus(t, r2, http.StatusOK)
	if n := strings.Count(r2.body, ">user.create<"); n != 2 {
		t.Errorf("%d user.create rows on page 2, want 2", n)
	}

	r = c.get("/audit?since=yesterday&outcome=maybe")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="since-error"`, `value="yesterday"`)

	r = c.get("/audit?outcome=denied&actor=nobody")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "没有符合条件的记录")
	s.noErrorLogs()
}

func TestLanguageSwitch(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	r := c.get("/login?lang=en")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `lang="en"`, "Sign in", `href="/login?lang=zh"`)
	c.signIn("admin")
	for _, path := range []string{"/", "/departments", "/users", "/tokens", "/audit", "/catalog", "/catalog/stats"} {
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `lang="en"`, "Sign out")
		wantNotBody(t, r, "退出登录")
	}
	wantBody(t, c.get("/departments"), "Departments", "Unified social credit code", "District")
	r = c.get("/?lang=zh")
	wantBody(t, r, `lang="zh-CN"`, "退出登录")
}

func TestLogout(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	c.signIn("admin")
	r := c.post("/logout", url.Values{"csrf": {c.csrf()}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.header.Get("Location") != "/login" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	if c.get("/").status != http.StatusSeeOther {
		t.Error("still signed in after logout")
	}
	ts, _ := s.store.Tokens(context.Background(), mustUser(t, s, "admin").ID, cityhub.TokenSession)
	if len(ts) != 1 || ts[0].RevokedAt == nil {
		t.Errorf("session token not revoked: %+v", ts)
	}
}

func TestStaticAndErrors(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	r := c.get("/static/style.css")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css Content-Type %q", ct)
	}
	wantStatus(t, c.get("/static/app.js"), http.StatusOK)
	wantStatus(t, c.get("/static/"), http.StatusNotFound)
	wantStatus(t, c.get("/static/nope.css"), http.StatusNotFound)

	r = c.get("/no/such/page")
	wantStatus(t, r, http.StatusNotFound)
	wantBody(t, r, `id="error-page"`, "未找到")
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	// The API keeps its JSON 404s.
	r = c.get("/api/v1/nothing")
	wantStatus(t, r, http.StatusNotFound)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("API 404 Content-Type %q", r.header.Get("Content-Type"))
	}

	c.signIn("admin")
	wantStatus(t, c.get("/users/999999"), http.StatusNotFound)
	wantStatus(t, c.get("/departments/abc"), http.StatusNotFound)
	s.noErrorLogs()
}

func TestPagesEscapeUserInput(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	s.department(`<script>alert("x")</script>局`, "", creditCode(t, 11), "330212", cityhub.LevelDistrict, nil)
	c := s.client()
	c.signIn("admin")
	r := c.get("/departments?q=" + url.QueryEscape(`"><b>q`))
	wantStatus(t, r, http.StatusOK)
	wantNotBody(t, r, `"><b>q`)
	r = c.get("/departments")
	wantNotBody(t, r, `<script>alert`)
	wantBody(t, r, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;局`)
}
