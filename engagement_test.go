package cityhub

import (
	"strings"
	"testing"
	"time"
)

// wantFields fails unless err is EINVALID naming exactly fields (none: nil error).
func wantFields(t *testing.T, what string, err error, fields ...string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Errorf("%s: got %v, want no error", what, err)
		}
		return
	}
	e, ok := err.(*Error)
	if !ok || e.Code != EINVALID {
		t.Errorf("%s: got %v, want an invalid error naming %v", what, err, fields)
		return
	}
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Errorf("%s: got fields %v, want one naming %q", what, e.Fields, f)
		}
	}
	if len(e.Fields) != len(fields) {
		t.Errorf("%s: got fields %v, want only %v", what, e.Fields, fields)
	}
}

func TestAccessApplicationValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("数", n) }
	tests := []struct {
		name   string
		app    AccessApplication
		fields []string
	}{
		{"valid", AccessApplication{EntryID: 1, Purpose: "  交通研究  "}, nil},
		{"everything at its limit", AccessApplication{EntryID: 1, Purpose: long(MaxPurposeLen),
			IntendedUse: long(MaxIntendedUseLen), Organization: long(MaxOrganizationLen)}, nil},
		{"no purpose", AccessApplication{EntryID: 1, Purpose: " \n"}, []string{"purpose"}},
		{"purpose too long", AccessApplication{EntryID: 1, Purpose: long(MaxPurposeLen + 1)}, []string{"purpose"}},
		{"use and organisation too long", AccessApplication{EntryID: 1, Purpose: "x", IntendedUse: long(MaxIntendedUseLen + 1),
			Organization: long(MaxOrganizationLen + 1)}, []string{"intended_use", "organization"}},
		{"no entry", AccessApplication{Purpose: "x"}, []string{"entry_id"}},
	}
	for _, tt := range tests {
		wantFields(t, tt.name, tt.app.Validate(), tt.fields...)
	}
	a := AccessApplication{EntryID: 1, Purpose: "  交通研究  ", Organization: " 宁波大学 "}
	a.Validate()
	if a.Purpose != "交通研究" || a.Organization != "宁波大学" {
		t.Errorf("got %q %q, want trimmed", a.Purpose, a.Organization)
	}
}

func TestApplicationDecisions(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	later, earlier := now.Add(24*time.Hour), now.Add(-time.Second)
	tests := []struct {
		name   string
		from   string
		d      ApplicationDecision
		to     string
		code   string
		fields []string
	}{
		{"approve", ApplicationPending, ApplicationDecision{Action: DecideApprove}, ApplicationApproved, "", nil},
		{"approve until later", ApplicationPending, ApplicationDecision{Action: DecideApprove, ExpiresAt: &later}, ApplicationApproved, "", nil},
		{"approve until the past", ApplicationPending, ApplicationDecision{Action: DecideApprove, ExpiresAt: &earlier}, "", EINVALID, []string{"expires_at"}},
		{"approve until now", ApplicationPending, ApplicationDecision{Action: DecideApprove, ExpiresAt: &now}, "", EINVALID, []string{"expires_at"}},
		{"refuse with reason", ApplicationPending, ApplicationDecision{Action: DecideRefuse, Reason: "用途不明确"}, ApplicationRefused, "", nil},
		{"refuse without reason", ApplicationPending, ApplicationDecision{Action: DecideRefuse, Reason: "  "}, "", EINVALID, []string{"reason"}},
		{"refuse with an expiry", ApplicationPending, ApplicationDecision{Action: DecideRefuse, Reason: "x", ExpiresAt: &later}, "", EINVALID, []string{"expires_at"}},
		{"revoke an approval", ApplicationApproved, ApplicationDecision{Action: DecideRevoke, Reason: "违反协议"}, ApplicationRevoked, "", nil},
		{"revoke without reason", ApplicationApproved, ApplicationDecision{Action: DecideRevoke}, "", EINVALID, []string{"reason"}},
		{"revoke a pending one", ApplicationPending, ApplicationDecision{Action: DecideRevoke, Reason: "x"}, "", ECONFLICT, nil},
		{"approve twice", ApplicationApproved, ApplicationDecision{Action: DecideApprove}, "", ECONFLICT, nil},
		{"approve a refused one", ApplicationRefused, ApplicationDecision{Action: DecideApprove}, "", ECONFLICT, nil},
		{"refuse an approved one", ApplicationApproved, ApplicationDecision{Action: DecideRefuse, Reason: "x"}, "", ECONFLICT, nil},
		{"unknown action", ApplicationPending, ApplicationDecision{Action: "grant"}, "", EINVALID, []string{"action"}},
	}
	for _, tt := range tests {
		a := &AccessApplication{Status: tt.from}
		to, err := a.NextStatus(&tt.d, now)
		if got := ErrorCode(err); got != tt.code || to != tt.to {
			t.Errorf("%s: got %q, %v; want %q, code %q", tt.name, to, err, tt.to, tt.code)
			continue
		}
		if tt.code == EINVALID {
			wantFields(t, tt.name, err, tt.fields...)
		}
	}
}

func TestApplicationGrantsAndOpen(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	tests := []struct {
		status         string
		expires        *time.Time
		grants, isOpen bool
	}{
		{ApplicationPending, nil, false, true},
		{ApplicationApproved, nil, true, true},
		{ApplicationApproved, &future, true, true},
		{ApplicationApproved, &past, false, false},
		{ApplicationApproved, &now, false, false},
		{ApplicationRefused, nil, false, false},
		{ApplicationRevoked, nil, false, false},
	}
	for _, tt := range tests {
		a := &AccessApplication{Status: tt.status, ExpiresAt: tt.expires}
		if a.Grants(now) != tt.grants || a.Open(now) != tt.isOpen {
			t.Errorf("%s expiring %v: got grants %v open %v, want %v %v", tt.status, tt.expires, a.Grants(now), a.Open(now), tt.grants, tt.isOpen)
		}
	}
}

func TestAcceptsApplications(t *testing.T) {
	for _, tt := range []struct {
		status, open string
		want         bool
	}{
		{StatusPublished, Conditional, true},
		{StatusPublished, Unconditional, false},
		{StatusPublished, NotShared, false},
		{StatusApproved, Conditional, false},
		{StatusWithdrawn, Conditional, false},
		{StatusDraft, Conditional, false},
	} {
		e := &CatalogEntry{Status: tt.status, OpenType: tt.open}
		if got := e.AcceptsApplications(); got != tt.want {
			t.Errorf("%s/%s: got %v, want %v", tt.status, tt.open, got, tt.want)
		}
	}
}

func TestDataRequestRules(t *testing.T) {
	zero, one := int64(0), int64(1)
	wantFields(t, "valid", (&DataRequest{Title: "公交到站数据", Description: "实时到站", ProviderID: &one, Domain: "traffic"}).Validate())
	wantFields(t, "empty", (&DataRequest{Title: " ", Description: ""}).Validate(), "title", "description")
	wantFields(t, "long title", (&DataRequest{Title: strings.Repeat("x", MaxTitleLen+1), Description: "d"}).Validate(), "title")
	wantFields(t, "bad provider", (&DataRequest{Title: "t", Description: "d", ProviderID: &zero}).Validate(), "provider_id")

	open := &DataRequest{Status: RequestOpen}
	for _, tt := range []struct {
		name   string
		a      RequestAnswer
		fields []string
	}{
		{"planned", RequestAnswer{Status: RequestPlanned, Reply: "列入下季度开放计划"}, nil},
		{"answered", RequestAnswer{Status: RequestAnswered, Reply: "已有相近数据"}, nil},
		{"declined with reason", RequestAnswer{Status: RequestDeclined, Reply: "涉及个人隐私"}, nil},
		{"declined without reason", RequestAnswer{Status: RequestDeclined}, []string{"reply"}},
		{"fulfilled with entry", RequestAnswer{Status: RequestFulfilled, EntryID: &one}, nil},
		{"fulfilled without entry", RequestAnswer{Status: RequestFulfilled, Reply: "ok"}, []string{"entry_id"}},
		{"planned with entry", RequestAnswer{Status: RequestPlanned, Reply: "x", EntryID: &one}, []string{"entry_id"}},
		{"back to open", RequestAnswer{Status: RequestOpen, Reply: "x"}, []string{"status"}},
	} {
		wantFields(t, tt.name, open.Check(&tt.a), tt.fields...)
	}
	done := &DataRequest{Status: RequestFulfilled}
	if err := done.Check(&RequestAnswer{Status: RequestPlanned, Reply: "x"}); ErrorCode(err) != ECONFLICT {
		t.Errorf("answer a fulfilled request: got %v, want conflict", err)
	}
}

func TestCommentAndRatingValidation(t *testing.T) {
	zero := int64(0)
	wantFields(t, "valid", (&Comment{EntryID: 1, Body: " 数据很有用 "}).Validate())
	wantFields(t, "empty", (&Comment{EntryID: 1, Body: "  "}).Validate(), "body")
	wantFields(t, "long", (&Comment{EntryID: 1, Body: strings.Repeat("好", MaxCommentLen+1)}).Validate(), "body")
	wantFields(t, "bad parent", (&Comment{EntryID: 1, Body: "x", ParentID: &zero}).Validate(), "parent_id")
	for stars, ok := range map[int]bool{0: false, 1: true, 3: true, 5: true, 6: false, -1: false} {
		if err := ValidateStars(stars); (err == nil) != ok {
			t.Errorf("ValidateStars(%d): got %v, want ok %v", stars, err, ok)
		}
	}
}

func TestShowcaseValidate(t *testing.T) {
	valid := func() ShowcaseItem {
		return ShowcaseItem{Title: "宁波停车助手", Description: "查找附近空余车位", URL: "https://parking.example.cn/app", EntryIDs: []int64{3, 1, 3}}
	}
	it := valid()
	wantFields(t, "valid", it.Validate())
	if len(it.EntryIDs) != 2 || it.EntryIDs[0] != 1 || it.EntryIDs[1] != 3 {
		t.Errorf("got entry ids %v, want [1 3]", it.EntryIDs)
	}
	for _, tt := range []struct {
		name   string
		mod    func(*ShowcaseItem)
		fields []string
	}{
		{"http", func(s *ShowcaseItem) { s.URL = "http://example.cn" }, nil},
		{"javascript", func(s *ShowcaseItem) { s.URL = "javascript:alert(1)" }, []string{"url"}},
		{"data", func(s *ShowcaseItem) { s.URL = "data:text/html,<b>x</b>" }, []string{"url"}},
		{"ftp", func(s *ShowcaseItem) { s.URL = "ftp://example.cn/app" }, []string{"url"}},
		{"relative", func(s *ShowcaseItem) { s.URL = "/apps/1" }, []string{"url"}},
		{"no host", func(s *ShowcaseItem) { s.URL = "https://" }, []string{"url"}},
		{"credentials", func(s *ShowcaseItem) { s.URL = "https://user:pw@example.cn" }, []string{"url"}},
		{"quote", func(s *ShowcaseItem) { s.URL = `https://example.cn/"onmouseover="x` }, []string{"url"}},
		{"too long", func(s *ShowcaseItem) { s.URL = "https://example.cn/" + strings.Repeat("a", MaxURLLen) }, []string{"url"}},
		{"no datasets", func(s *ShowcaseItem) { s.EntryIDs = nil }, []string{"entry_ids"}},
		{"bad dataset", func(s *ShowcaseItem) { s.EntryIDs = []int64{0, 2} }, []string{"entry_ids"}},
		{"too many datasets", func(s *ShowcaseItem) {
			s.EntryIDs = nil
			for i := range MaxShowcaseEntries + 1 {
				s.EntryIDs = append(s.EntryIDs, int64(i+1))
			}
		}, []string{"entry_ids"}},
		{"no title or description", func(s *ShowcaseItem) { s.Title, s.Description = "", " " }, []string{"title", "description"}},
	} {
		it := valid()
		tt.mod(&it)
		wantFields(t, tt.name, it.Validate(), tt.fields...)
	}

	for _, tt := range []struct {
		from    string
		approve bool
		reason  string
		to      string
		code    string
	}{
		{ShowcasePending, true, "", ShowcaseApproved, ""},
		{ShowcaseRejected, true, "", ShowcaseApproved, ""},
		{ShowcaseApproved, true, "", "", ECONFLICT},
		{ShowcasePending, false, "链接失效", ShowcaseRejected, ""},
		{ShowcaseApproved, false, "链接失效", ShowcaseRejected, ""},
		{ShowcasePending, false, "", "", EINVALID},
		{ShowcaseRejected, false, "again", "", ECONFLICT},
	} {
		it := &ShowcaseItem{Status: tt.from}
		to, err := it.NextStatus(tt.approve, tt.reason)
		if to != tt.to || ErrorCode(err) != tt.code {
			t.Errorf("%s approve=%v: got %q, %v; want %q, code %q", tt.from, tt.approve, to, err, tt.to, tt.code)
		}
	}
}

func TestEngagementRoles(t *testing.T) {
	a, b := int64(1), int64(2)
	public := &User{ID: 1, Roles: []string{RolePublic}}
	stewardA := &User{ID: 2, Roles: []string{RoleSteward}, DepartmentID: &a}
	consumerA := &User{ID: 3, Roles: []string{RoleConsumer}, DepartmentID: &a}
	deptAdminA := &User{ID: 4, Roles: []string{RoleDeptAdmin}, DepartmentID: &a}
	admin := &User{ID: 5, Roles: []string{RolePlatformAdmin}}
	reviewer := &User{ID: 6, Roles: []string{RoleReviewer}, DepartmentID: &a}
	disabled := &User{ID: 7, Roles: []string{RolePublic}, Disabled: true}
	disabledAdmin := &User{ID: 8, Roles: []string{RolePlatformAdmin}, Disabled: true}

	type rule struct {
		name string
		can  func(*User) bool
		who  []*User
	}
	reqA, reqNone := &DataRequest{ProviderID: &a}, &DataRequest{}
	everyone := []*User{public, stewardA, consumerA, deptAdminA, admin, reviewer, disabled, disabledAdmin, nil}
	for _, r := range []rule{
		{"apply", (*User).CanApplyForData, []*User{public}},
		{"request data", (*User).CanRequestData, []*User{public}},
		{"rate and comment", (*User).CanRateAndComment, []*User{public}},
		{"decide for A", func(u *User) bool { return u.CanDecideApplication(a) }, []*User{stewardA, admin}},
		{"decide for B", func(u *User) bool { return u.CanDecideApplication(b) }, []*User{admin}},
		{"reply for A", func(u *User) bool { return u.CanReplyToComments(a) }, []*User{stewardA, admin}},
		{"answer a request to A", func(u *User) bool { return u.CanAnswerRequest(reqA) }, []*User{stewardA, admin}},
		{"answer a request to nobody", func(u *User) bool { return u.CanAnswerRequest(reqNone) }, []*User{admin}},
		{"moderate", (*User).CanModerate, []*User{admin}},
		{"submit to the showcase", (*User).CanSubmitShowcase, []*User{public, admin}},
	} {
		for _, u := range everyone {
			want := false
			for _, w := range r.who {
				want = want || w == u
			}
			if got := r.can(u); got != want {
				id := int64(0)
				if u != nil {
					id = u.ID
				}
				t.Errorf("%s, user %d: got %v, want %v", r.name, id, got, want)
			}
		}
	}

	if s := DecisionScope(admin); !s.All {
		t.Errorf("admin's decision scope %+v, want all", s)
	}
	if s := DecisionScope(stewardA); s.All || !s.InScope(a) || s.InScope(b) {
		t.Errorf("steward's decision scope %+v, want department %d only", s, a)
	}
	for _, u := range []*User{public, consumerA, deptAdminA, reviewer, disabledAdmin, nil} {
		if s := DecisionScope(u); s.All || len(s.Departments) > 0 {
			t.Errorf("decision scope of %+v: got %+v, want none", u, s)
		}
	}
}
