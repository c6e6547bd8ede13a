package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// iotCatalogTests are the "IoTCatalog" group: every device type is a
// catalog entry, registered and kept in step by EnsureDeviceTypeEntries.
var iotCatalogTests = []subtest{
	{"EnsureIdempotent", testIoTCatalogEnsure},
	{"ItemsFollowTheType", testIoTCatalogItemSync},
	{"UnderReview", testIoTCatalogUnderReview},
}

// ensure runs EnsureDeviceTypeEntries and fails unless it created and
// updated as many entries as wanted.
func (e *env) ensure(t *testing.T, providerID int64, wantCreated, wantUpdated int) {
	t.Helper()
	created, updated, err := cityhub.EnsureDeviceTypeEntries(e.ctx, e.Store, providerID)
	if err != nil {
		t.Fatalf("ensure device type entries: %v", err)
	}
	if created != wantCreated || updated != wantUpdated {
		t.Fatalf("ensure device type entries: got %d created, %d updated; want %d, %d", created, updated, wantCreated, wantUpdated)
	}
}

// typeEntry is the stored entry of the device type called name.
func (e *env) typeEntry(t *testing.T, name string) *cityhub.CatalogEntry {
	t.Helper()
	c, err := cityhub.FindDeviceTypeEntry(e.ctx, e.Store, name)
	if err != nil {
		t.Fatalf("entry of device type %s: %v", name, err)
	}
	return c
}

// wantItems are the items the device type called name gives its entry.
func wantItems(t *testing.T, name string) []cityhub.DataItem {
	t.Helper()
	dt, ok := cityhub.DeviceTypeByName(name)
	if !ok {
		t.Fatalf("no device type %s", name)
	}
	return cityhub.DeviceTypeEntry(dt, 1).Items
}

func testIoTCatalogEnsure(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dep := e.createDepartment(t)
	types := cityhub.DeviceTypes()
	wantErr(t, func() error { _, _, err := cityhub.EnsureDeviceTypeEntries(e.ctx, e.Store, 0); return err }(), cityhub.EINVALID, "provider_id")

	e.ensure(t, dep.ID, len(types), 0)
	for _, dt := range types {
		c := e.typeEntry(t, dt.Name)
		want := cityhub.DeviceTypeEntry(&dt, dep.ID)
		if c.ProviderID != dep.ID || c.Status != cityhub.StatusDraft || c.Version != 1 || c.Name != want.Name ||
			c.Format != cityhub.FormatStream || c.UpdateCycle != cityhub.CycleRealtime || c.ClassificationCode != want.ClassificationCode ||
			!strings.HasPrefix(c.Code, want.ClassificationCode+"/") {
			t.Errorf("%s: got %+v, want a version 1 draft of %d like %+v", dt.Name, c, dep.ID, want)
		}
		wantSame(t, dt.Name+" items", c.Items, want.Items)
	}
	streams := e.search(t, cityhub.CatalogQuery{Scope: all, Format: cityhub.FormatStream})
	if streams.Total != len(types) {
		t.Fatalf("stream entries: got %d, want %d", streams.Total, len(types))
	}
	if got := e.search(t, cityhub.CatalogQuery{Scope: all, Q: "空气质量监测"}); len(got.Entries) == 0 {
		t.Errorf("full text 空气质量监测: nothing found")
	}
	records := len(e.records(t))

	// Again, and with another department: nothing new, nothing changed.
	e.ensure(t, dep.ID, 0, 0)
	e.ensure(t, e.createDepartment(t).ID, 0, 0)
	if got := e.search(t, cityhub.CatalogQuery{Scope: all, Format: cityhub.FormatStream}); got.Total != len(types) {
		t.Fatalf("stream entries after running again: got %d, want %d", got.Total, len(types))
	}
	for _, c := range streams.Entries {
		if got := e.entry(t, c.ID); got.Version != 1 || got.ProviderID != dep.ID {
			t.Errorf("%s after running again: version %d, provider %d; want 1, %d", c.Name, got.Version, got.ProviderID, dep.ID)
		}
	}
	if got := len(e.records(t)); got != records+1 { // the second department only
		t.Errorf("audit records after running again: got %d, want %d", got, records+1)
	}

	// A deleted draft comes back.
	air := e.typeEntry(t, "AirQualityObserved")
	if err := e.Store.DeleteEntry(e.ctx, air.ID); err != nil {
		t.Fatal(err)
	}
	e.ensure(t, dep.ID, 1, 0)
	if again := e.typeEntry(t, "AirQualityObserved"); again.ID == air.ID || again.Version != 1 {
		t.Errorf("after deletion: got entry %d version %d, want a new entry", again.ID, again.Version)
	}
	if rep := e.verify(t); !rep.OK {
		t.Errorf("audit chain: %s", rep.Message)
	}
}

func testIoTCatalogItemSync(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dep := e.createDepartment(t)
	e.ensure(t, dep.ID, len(cityhub.DeviceTypes()), 0)

	// The entry as an older definition of the type made it: one property
	// fewer, another described differently. Meanwhile a steward raised
	// pm25's sensitivity and opened the stream unconditionally, and the
	// entry was published.
	c := e.typeEntry(t, "AirQualityObserved")
	want := wantItems(t, "AirQualityObserved")
	c.Items = slices.Clone(want[:len(want)-1])
	c.Items[2].Description = "旧的说明"
	c.Items[2].Sensitivity = cityhub.SensInternal
	c.OpenType, c.OpenCondition, c.OpenBasis = cityhub.Unconditional, "", ""
	if err := e.Store.UpdateEntry(e.ctx, c, "整理"); err != nil {
		t.Fatal(err)
	}
	c = e.transition(t, c.ID, toPublished...)

	e.ensure(t, dep.ID, 0, 1)
	got := e.entry(t, c.ID)
	want[2].Sensitivity = cityhub.SensInternal
	wantSame(t, "items after the sync", got.Items, want)
	if got.Version != c.Version+1 || got.Status != cityhub.StatusPublished || got.OpenType != cityhub.Unconditional || got.Code != c.Code {
		t.Errorf("after the sync: version %d, status %s, open type %s, code %s; want %d, published, unconditional, %s",
			got.Version, got.Status, got.OpenType, got.Code, c.Version+1, c.Code)
	}
	vs := e.versions(t, c.ID)
	if last := vs[len(vs)-1]; last.Action != "update" || !strings.Contains(last.Note, "AirQualityObserved") || last.Actor != adminActor.Username {
		t.Errorf("last version: got %s by %s (%q), want an update by %s naming the type", last.Action, last.Actor, last.Note, adminActor.Username)
	}
	e.ensure(t, dep.ID, 0, 0)
	if again := e.entry(t, c.ID); again.Version != got.Version {
		t.Errorf("after running again: version %d, want %d", again.Version, got.Version)
	}
	if got := e.search(t, cityhub.CatalogQuery{Scope: all, Format: cityhub.FormatStream}); got.Total != len(cityhub.DeviceTypes()) {
		t.Errorf("stream entries: got %d, want %d: the sync must not duplicate", got.Total, len(cityhub.DeviceTypes()))
	}
}

func testIoTCatalogUnderReview(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dep := e.createDepartment(t)
	e.ensure(t, dep.ID, len(cityhub.DeviceTypes()), 0)

	// Out of step and submitted: it cannot change, so it gets one request.
	c := e.typeEntry(t, "WaterQualityObserved")
	want := wantItems(t, "WaterQualityObserved")
	c.Items = slices.Clone(want[:len(want)-1])
	if err := e.Store.UpdateEntry(e.ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	c = e.transition(t, c.ID, cityhub.ActSubmit)
	for range 2 {
		e.ensure(t, dep.ID, 0, 0)
	}
	if got := e.entry(t, c.ID); got.Version != c.Version || got.Status != cityhub.StatusSubmitted {
		t.Fatalf("under review: version %d, status %s; want %d, submitted", got.Version, got.Status, c.Version)
	}
	crs, err := e.Store.ChangeRequests(e.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(crs) != 1 || crs[0].ResolvedAt != nil || !strings.Contains(crs[0].Reason, want[len(want)-1].Name) {
		t.Fatalf("change requests: got %+v, want one open request naming %s", crs, want[len(want)-1].Name)
	}

	// Reviewed and published: the next run updates it and answers the request.
	c = e.transition(t, c.ID, cityhub.ActApprove, cityhub.ActPublish)
	e.ensure(t, dep.ID, 0, 1)
	got := e.entry(t, c.ID)
	wantSame(t, "items after the review", got.Items, want)
	if crs, _ := e.Store.ChangeRequests(e.ctx, c.ID); len(crs) != 1 || crs[0].ResolvedVer != got.Version {
		t.Errorf("change requests after the update: got %+v, want the one resolved by version %d", crs, got.Version)
	}
}
