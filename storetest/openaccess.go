package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// openAccessTests are the "OpenAccess" group: API keys of public accounts
// and the daily use of open datasets.
var openAccessTests = []subtest{
	{"APIKeyCRUD", testAPIKeyCRUD},
	{"APIKeyLimit", testAPIKeyLimit},
	{"APIKeyDisabledOwner", testAPIKeyDisabledOwner},
	{"APIKeyTouch", testAPIKeyTouch},
	{"UsageAdd", testUsageAdd},
	{"UsageConcurrentAdds", testUsageConcurrentAdds},
	{"UsageDropsMissingEntries", testUsageDropsMissingEntries},
	{"UsageRanges", testUsageRanges},
}

// publicUser saves a registered portal user.
func (e *env) publicUser(t *testing.T) *cityhub.User {
	t.Helper()
	return e.createUser(t, nil, cityhub.RolePublic)
}

// apiKey saves a key named name for userID and returns it with its secret.
func (e *env) apiKey(t *testing.T, userID int64, name string) (*cityhub.APIKey, string) {
	t.Helper()
	secret, hash := cityhub.NewAPIKeySecret()
	k := &cityhub.APIKey{UserID: userID, Name: name, Prefix: secret[:cityhub.APIKeyPrefixLen]}
	if err := e.Store.CreateAPIKey(e.ctx, k, hash); err != nil {
		t.Fatalf("create API key %q: %v", name, err)
	}
	return k, secret
}

func testAPIKeyCRUD(t *testing.T, open Opener) {
	e := newEnv(t, open)
	u := e.publicUser(t)
	other := e.publicUser(t)
	before := len(e.records(t))

	k, secret := e.apiKey(t, u.ID, "  我的应用  ")
	if k.ID <= 0 || k.Name != "我的应用" || k.CreatedAt.IsZero() || k.Calls != 0 || !k.Active() {
		t.Fatalf("create: got %+v, want an id, the trimmed name, a time, no calls, active", k)
	}
	if !cityhub.IsAPIKey(secret) || cityhub.IsAPIKey(cityhub.TokenPrefix+"x") || len(secret) != len(cityhub.APIKeyPrefix)+32 {
		t.Fatalf("secret %q: want %s and 32 base32 characters", secret, cityhub.APIKeyPrefix)
	}
	recs := e.records(t)
	if len(recs) != before+1 {
		t.Fatalf("audit records: got %d new, want 1", len(recs)-before)
	}
	rec := recs[len(recs)-1]
	if rec.Action != "api_key.create" || rec.Object != fmt.Sprintf("api_key:%d", k.ID) || rec.Actor != adminActor.Username {
		t.Fatalf("audit record: got %s %s by %s, want api_key.create api_key:%d by %s", rec.Action, rec.Object, rec.Actor, k.ID, adminActor.Username)
	}
	if slices.ContainsFunc([]string{secret, cityhub.HashSecret(secret)}, func(s string) bool { return strings.Contains(rec.Details, s) }) {
		t.Fatalf("audit details hold the secret or its hash: %s", rec.Details)
	}

	got, err := e.Store.APIKeyByHash(e.ctx, cityhub.HashSecret(secret))
	if err != nil {
		t.Fatalf("by hash: %v", err)
	}
	wantSame(t, "key by hash", got, k)
	got, err = e.Store.APIKey(e.ctx, k.ID)
	if err != nil {
		t.Fatalf("by id: %v", err)
	}
	wantSame(t, "key by id", got, k)
	_, err = e.Store.APIKeyByHash(e.ctx, cityhub.HashSecret(secret+"x"))
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.APIKey(e.ctx, k.ID+1000)
	wantErr(t, err, cityhub.ENOTFOUND)

	wantErr(t, e.Store.CreateAPIKey(e.ctx, &cityhub.APIKey{UserID: u.ID, Name: " "}, "h1"), cityhub.EINVALID, "name")
	wantErr(t, e.Store.CreateAPIKey(e.ctx, &cityhub.APIKey{UserID: u.ID, Name: "dup"}, cityhub.HashSecret(secret)), cityhub.ECONFLICT)
	wantErr(t, e.Store.CreateAPIKey(e.ctx, &cityhub.APIKey{UserID: 987654, Name: "orphan"}, "h2"), cityhub.ECONFLICT)

	k2, _ := e.apiKey(t, u.ID, "second")
	theirs, _ := e.apiKey(t, other.ID, "theirs")
	list, err := e.Store.APIKeys(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ids := keyIDs(list); !slices.Equal(ids, []int64{k2.ID, k.ID}) {
		t.Fatalf("list: got %v, want %v (newest first, only the user's)", ids, []int64{k2.ID, k.ID})
	}
	if list, _ := e.Store.APIKeys(e.ctx, 987654); len(list) != 0 {
		t.Fatalf("list of nobody: got %d keys, want none", len(list))
	}

	before = len(e.records(t))
	if err := e.Store.RevokeAPIKey(e.ctx, k.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	got, err = e.Store.APIKeyByHash(e.ctx, cityhub.HashSecret(secret))
	if err != nil || got.RevokedAt == nil || got.Active() {
		t.Fatalf("by hash after revoke: got %+v, %v; want the key, revoked", got, err)
	}
	recs = e.records(t)
	if rec := recs[len(recs)-1]; len(recs) != before+1 || rec.Action != "api_key.revoke" || rec.Object != fmt.Sprintf("api_key:%d", k.ID) {
		t.Fatalf("revoke audit: got %d new records, last %s %s", len(recs)-before, rec.Action, rec.Object)
	}
	wantErr(t, e.Store.RevokeAPIKey(e.ctx, k.ID), cityhub.ENOTFOUND)
	wantErr(t, e.Store.RevokeAPIKey(e.ctx, 987654), cityhub.ENOTFOUND)
	if got := len(e.records(t)); got != before+1 {
		t.Fatalf("audit records after refused revokes: got %d new, want 1", got-before)
	}
	if got, _ := e.Store.APIKey(e.ctx, theirs.ID); !got.Active() {
		t.Fatal("another user's key: got revoked, want active")
	}

	// Removing the account removes its keys.
	if err := e.Store.DeleteUser(e.ctx, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	_, err = e.Store.APIKey(e.ctx, k2.ID)
	wantErr(t, err, cityhub.ENOTFOUND)
}

func keyIDs(ks []*cityhub.APIKey) []int64 {
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func testAPIKeyLimit(t *testing.T, open Opener) {
	e := newEnv(t, open)
	u := e.publicUser(t)
	var first *cityhub.APIKey
	for i := range cityhub.MaxActiveAPIKeys {
		k, _ := e.apiKey(t, u.ID, fmt.Sprintf("key %d", i))
		if first == nil {
			first = k
		}
	}
	secret, hash := cityhub.NewAPIKeySecret()
	over := &cityhub.APIKey{UserID: u.ID, Name: "one too many", Prefix: secret[:cityhub.APIKeyPrefixLen]}
	wantErr(t, e.Store.CreateAPIKey(e.ctx, over, hash), cityhub.ECONFLICT)
	if err := e.Store.RevokeAPIKey(e.ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateAPIKey(e.ctx, over, hash); err != nil {
		t.Fatalf("after a revoke: got %v, want room for one key", err)
	}
	// The limit is per account.
	e.apiKey(t, e.publicUser(t).ID, "another account")
}

func testAPIKeyDisabledOwner(t *testing.T, open Opener) {
	e := newEnv(t, open)
	u := e.publicUser(t)
	k, secret := e.apiKey(t, u.ID, "app")
	u.Disabled = true
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err := e.Store.APIKeyByHash(e.ctx, cityhub.HashSecret(secret))
	wantErr(t, err, cityhub.ENOTFOUND)
	if _, err := e.Store.APIKey(e.ctx, k.ID); err != nil {
		t.Fatalf("by id (the owner's listing): %v", err)
	}
	u.Disabled = false
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.APIKeyByHash(e.ctx, cityhub.HashSecret(secret)); err != nil {
		t.Fatalf("by hash after enabling again: %v", err)
	}
}

func testAPIKeyTouch(t *testing.T, open Opener) {
	e := newEnv(t, open)
	u := e.publicUser(t)
	a, _ := e.apiKey(t, u.ID, "a")
	b, _ := e.apiKey(t, u.ID, "b")
	before := len(e.records(t))
	t1 := time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)
	t2 := t1.Add(time.Hour)
	if err := e.Store.TouchAPIKeys(e.ctx, nil); err != nil {
		t.Fatalf("touch nothing: %v", err)
	}
	if err := e.Store.TouchAPIKeys(e.ctx, []cityhub.APIKeyUse{{KeyID: a.ID, Calls: 5, LastAt: t2}, {KeyID: b.ID, Calls: 1, LastAt: t1},
		{KeyID: 987654, Calls: 3, LastAt: t1}}); err != nil {
		t.Fatalf("touch: %v", err)
	}
	// A late report from another node adds its calls but does not move
	// the last use back.
	if err := e.Store.TouchAPIKeys(e.ctx, []cityhub.APIKeyUse{{KeyID: a.ID, Calls: 2, LastAt: t1}}); err != nil {
		t.Fatalf("touch: %v", err)
	}
	for _, c := range []struct {
		k     *cityhub.APIKey
		calls int64
		last  time.Time
	}{{a, 7, t2}, {b, 1, t1}} {
		got, err := e.Store.APIKey(e.ctx, c.k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Calls != c.calls || got.LastUsedAt == nil || !got.LastUsedAt.Equal(c.last) {
			t.Fatalf("key %s: got %d calls, last used %v; want %d, %v", c.k.Name, got.Calls, got.LastUsedAt, c.calls, c.last)
		}
	}
	if got := len(e.records(t)); got != before {
		t.Fatalf("audit records after touch: got %d new, want none (use is not change)", got-before)
	}
}

// usageEntries saves n published entries to count use of.
func (e *env) usageEntries(t *testing.T, n int) []*cityhub.CatalogEntry {
	t.Helper()
	dept := e.createDepartment(t)
	var out []*cityhub.CatalogEntry
	for range n {
		out = append(out, e.entryIn(t, cityhub.StatusPublished, dept))
	}
	return out
}

func usageDay(entry int64, day string, views, downloads, api int64) cityhub.UsageDay {
	return cityhub.UsageDay{Day: day, UsageCount: cityhub.UsageCount{EntryID: entry, Views: views, Downloads: downloads, APICalls: api}}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func testUsageAdd(t *testing.T, open Opener) {
	e := newEnv(t, open)
	en := e.usageEntries(t, 3)
	a, b, c := en[0].ID, en[1].ID, en[2].ID
	before := len(e.records(t))
	if err := e.Store.AddUsage(e.ctx, nil); err != nil {
		t.Fatalf("add nothing: %v", err)
	}
	if err := e.Store.AddUsage(e.ctx, []cityhub.UsageDay{
		usageDay(a, "2026-03-01", 3, 1, 10), usageDay(b, "2026-03-01", 1, 0, 0),
		usageDay(a, "2026-03-02", 2, 0, 0), usageDay(c, "2026-02-27", 100, 0, 0),
	}); err != nil {
		t.Fatalf("add: %v", err)
	}
	// Adding again adds up, also within one batch.
	if err := e.Store.AddUsage(e.ctx, []cityhub.UsageDay{
		usageDay(a, "2026-03-01", 1, 1, 1), usageDay(a, "2026-03-01", 0, 0, 4), usageDay(b, "2026-03-03", 0, 2, 0),
	}); err != nil {
		t.Fatalf("add again: %v", err)
	}
	if got := len(e.records(t)); got != before {
		t.Fatalf("audit records after adding use: got %d new, want none", got-before)
	}

	got, err := e.Store.DailyUsage(e.ctx, a, day("2026-02-28"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "daily use of a", got, []cityhub.UsageDay{usageDay(a, "2026-02-28", 0, 0, 0), usageDay(a, "2026-03-01", 4, 2, 15),
		usageDay(a, "2026-03-02", 2, 0, 0), usageDay(a, "2026-03-03", 0, 0, 0)})
	got, err = e.Store.DailyUsage(e.ctx, 0, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "daily use of all", got, []cityhub.UsageDay{usageDay(0, "2026-03-01", 5, 2, 15),
		usageDay(0, "2026-03-02", 2, 0, 0), usageDay(0, "2026-03-03", 0, 2, 0)})

	most, err := e.Store.MostUsed(e.ctx, day("2026-03-01"), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "most used since 03-01", most, []cityhub.UsageCount{{EntryID: a, Views: 6, Downloads: 2, APICalls: 15},
		{EntryID: b, Views: 1, Downloads: 2}})
	most, err = e.Store.MostUsed(e.ctx, day("2026-02-01"), 2)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "top 2 since 02-01", most, []cityhub.UsageCount{{EntryID: c, Views: 100}, {EntryID: a, Views: 6, Downloads: 2, APICalls: 15}})
	most, err = e.Store.MostUsed(e.ctx, day("2026-04-01"), 5)
	if err != nil || most == nil || len(most) != 0 {
		t.Fatalf("most used with no use: got %v, %v; want an empty list", most, err)
	}

	wantErr(t, e.Store.AddUsage(e.ctx, []cityhub.UsageDay{usageDay(a, "2026-3-1", 1, 0, 0)}), cityhub.EINVALID)
}

// testUsageConcurrentAdds: batches from several nodes add up exactly.
func testUsageConcurrentAdds(t *testing.T, open Opener) {
	e := newEnv(t, open)
	en := e.usageEntries(t, 2)
	const workers, batches = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				errs <- e.Store.AddUsage(e.ctx, []cityhub.UsageDay{usageDay(en[0].ID, "2026-05-01", 1, 2, 3),
					usageDay(en[1].ID, "2026-05-01", 1, 0, 0), usageDay(en[1].ID, "2026-05-02", 0, 0, 1)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("add: %v", err)
		}
	}
	n := int64(workers * batches)
	got, err := e.Store.DailyUsage(e.ctx, 0, day("2026-05-01"), day("2026-05-02"))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "daily use", got, []cityhub.UsageDay{usageDay(0, "2026-05-01", 2*n, 2*n, 3*n), usageDay(0, "2026-05-02", 0, 0, n)})
}

func testUsageDropsMissingEntries(t *testing.T, open Opener) {
	e := newEnv(t, open)
	en := e.usageEntries(t, 1)
	draft := e.createEntry(t, e.createDepartment(t))
	if err := e.Store.AddUsage(e.ctx, []cityhub.UsageDay{usageDay(987654, "2026-03-01", 5, 0, 0),
		usageDay(en[0].ID, "2026-03-01", 1, 0, 0), usageDay(0, "2026-03-01", 9, 0, 0), usageDay(draft.ID, "2026-03-01", 2, 0, 0)}); err != nil {
		t.Fatalf("add with a missing entry: %v", err)
	}
	most, err := e.Store.MostUsed(e.ctx, day("2026-03-01"), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "most used", most, []cityhub.UsageCount{{EntryID: draft.ID, Views: 2}, {EntryID: en[0].ID, Views: 1}})
	// A removed entry takes its use along.
	if err := e.Store.DeleteEntry(e.ctx, draft.ID); err != nil {
		t.Fatalf("delete draft: %v", err)
	}
	most, err = e.Store.MostUsed(e.ctx, day("2026-03-01"), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "most used after delete", most, []cityhub.UsageCount{{EntryID: en[0].ID, Views: 1}})
}

func testUsageRanges(t *testing.T, open Opener) {
	e := newEnv(t, open)
	en := e.usageEntries(t, 1)
	a := en[0].ID
	if err := e.Store.AddUsage(e.ctx, []cityhub.UsageDay{usageDay(a, "2026-03-01", 1, 0, 0), usageDay(a, "2026-03-02", 2, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	// Days are taken in the location of the times given: 2026-03-01T20:00Z
	// is already 03-02 in Shanghai.
	sh := time.FixedZone("CST", 8*3600)
	evening := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	got, err := e.Store.DailyUsage(e.ctx, a, evening.In(sh), evening.In(sh))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "one day in Shanghai", got, []cityhub.UsageDay{usageDay(a, "2026-03-02", 2, 0, 0)})
	most, err := e.Store.MostUsed(e.ctx, evening.In(sh), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "most used since 03-02 in Shanghai", most, []cityhub.UsageCount{{EntryID: a, Views: 2}})

	got, err = e.Store.DailyUsage(e.ctx, a, day("2026-03-03"), day("2026-03-01"))
	if err != nil || len(got) != 0 {
		t.Fatalf("backwards range: got %v, %v; want no days", got, err)
	}
	_, err = e.Store.DailyUsage(e.ctx, a, day("2000-01-01"), day("2026-01-01"))
	wantErr(t, err, cityhub.EINVALID)
	// Across a year end and a leap day.
	got, err = e.Store.DailyUsage(e.ctx, 0, day("2027-12-30"), day("2028-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 63 || got[2].Day != "2028-01-01" || got[61].Day != "2028-02-29" {
		t.Fatalf("range over a year end and a leap day: got %d days (%v … %v)", len(got), got[0], got[len(got)-1])
	}
}
