package cityhub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Open data: what the public portal, the CKAN-compatible API and the DCAT
// feeds may show. One rule for all three, so no door shows more than
// another.

// PublicMetadata tells whether an entry appears to the public at all: it is
// published and open, unconditionally (its data too) or on conditions
// (its metadata and an application form). 不予开放 entries never appear.
func (e *CatalogEntry) PublicMetadata() bool {
	return e.Status == StatusPublished && (e.OpenType == Unconditional || e.OpenType == Conditional)
}

// PublicData tells whether anyone may read the entry's data without an
// approved application.
func (e *CatalogEntry) PublicData() bool {
	return e.Status == StatusPublished && e.OpenType == Unconditional
}

// PublicItem tells whether a data item may ever be served publicly:
// sensitive and secret items never are, whatever the entry says.
func PublicItem(it DataItem) bool {
	return it.Sensitivity != SensSensitive && it.Sensitivity != SensSecret
}

// PublicItems returns the entry's items that may be served publicly.
func (e *CatalogEntry) PublicItems() []DataItem {
	return slices.DeleteFunc(slices.Clone(e.Items), func(it DataItem) bool { return !PublicItem(it) })
}

// PackageName is the entry's URL name on the portal and in the CKAN API:
// its resource code with the slash as a dash, e.g. 211-000123.
func (e *CatalogEntry) PackageName() string { return strings.ReplaceAll(e.Code, "/", "-") }

// CodeFromPackageName turns a package name back into a resource code.
func CodeFromPackageName(name string) string { return strings.Replace(name, "-", "/", 1) }

// Open-data ids are UUID-shaped (CKAN clients expect them) and carry the
// entry's id, so they are stable and need no table to look up.
const (
	packageIDFormat  = "c17a0000-0000-4000-8000-%012x"
	resourceIDFormat = "c17a0000-0000-4000-8001-%012x"
)

// PackageID is the entry's id as a CKAN package.
func PackageID(entryID int64) string { return fmt.Sprintf(packageIDFormat, entryID) }

// ResourceID is the id of the entry's tabular data as a CKAN (datastore)
// resource.
func ResourceID(entryID int64) string { return fmt.Sprintf(resourceIDFormat, entryID) }

// EntryIDFromPackageID and EntryIDFromResourceID read the entry's id back;
// ok is false for any other string.
func EntryIDFromPackageID(id string) (int64, bool)  { return parseOpenID(id, packageIDFormat) }
func EntryIDFromResourceID(id string) (int64, bool) { return parseOpenID(id, resourceIDFormat) }

func parseOpenID(id, format string) (int64, bool) {
	var n int64
	if len(id) != 36 {
		return 0, false
	}
	if _, err := fmt.Sscanf(id, format, &n); err != nil || n <= 0 || fmt.Sprintf(format, n) != id {
		return 0, false
	}
	return n, true
}

// Kinds of open-data use, counted per dataset and day.
const (
	UseView     = "view"     // a dataset page on the portal
	UseDownload = "download" // a file or dump
	UseAPI      = "api"      // a CKAN action or datastore call about it
)

// UsageRecorder counts the use of open datasets. Record is called on the
// request's path, so it must not wait on storage.
type UsageRecorder interface {
	Record(entryID int64, kind string)
}

// UsageCount is one dataset's use over a period.
type UsageCount struct {
	EntryID   int64 `json:"entry_id"`
	Views     int64 `json:"views"`
	Downloads int64 `json:"downloads"`
	APICalls  int64 `json:"api_calls"`
}

// UsageDay is one dataset's (or, with EntryID 0, all datasets') use on a day.
type UsageDay struct {
	Day string `json:"day"` // CCYY-MM-DD in the platform's time zone
	UsageCount
}

// UsageReader reads the counts back for the portal and its statistics.
type UsageReader interface {
	// MostUsed returns the datasets used most since a day (views,
	// downloads and API calls together), most first.
	MostUsed(ctx context.Context, since time.Time, limit int) ([]UsageCount, error)
	// DailyUsage returns a dataset's use a day (entryID 0: all datasets).
	DailyUsage(ctx context.Context, entryID int64, from, to time.Time) ([]UsageDay, error)
}
