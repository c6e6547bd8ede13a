package cityhub

import (
	"context"
	"time"
)

// Load modes for the rows behind a catalog entry.
const (
	LoadAppend  = "append"  // add the rows
	LoadUpsert  = "upsert"  // add or replace rows by the entry's primary key
	LoadReplace = "replace" // the rows become the whole table
)

// Load job statuses.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed" // nothing of it is visible
)

// LoadJob is one load of rows into an entry's table. Its counts always add
// up: Received = Stored + Rejected + Discarded, where Discarded are valid
// rows not stored because the load was refused as a whole.
type LoadJob struct {
	ID            int64      `json:"id"`
	EntryID       int64      `json:"entry_id"`
	Mode          string     `json:"mode"`
	Source        string     `json:"source"` // file name, "api" or a URL
	Format        string     `json:"format"`
	BlockOnErrors bool       `json:"block_on_errors"` // any rejected row refuses the whole load
	Status        string     `json:"status"`
	Version       int        `json:"version,omitempty"` // the table version it made
	Received      int64      `json:"received"`
	Stored        int64      `json:"stored"`
	Rejected      int64      `json:"rejected"`
	Discarded     int64      `json:"discarded"`
	BytesRead     int64      `json:"bytes_read"`
	BytesTotal    int64      `json:"bytes_total,omitempty"`
	Error         string     `json:"error,omitempty"`
	Actor         string     `json:"actor"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// RowProblem is why one source row was rejected.
type RowProblem struct {
	Line   int    `json:"line"` // source row (CSV/XLSX row, JSON element)
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// TableColumn is a column of an entry's table: a data item, by the stable
// name the store gave it.
type TableColumn struct {
	Item   string `json:"item"`   // data item name
	Code   string `json:"code"`   // data item English name, if any
	Type   string `json:"type"`   // item type code
	Column string `json:"column"` // physical column
}

// TableVersion is one committed state of a table.
type TableVersion struct {
	Version   int       `json:"version"`
	JobID     int64     `json:"job_id"`
	Mode      string    `json:"mode"`
	Rows      int64     `json:"rows"` // rows in the table at this version
	CreatedAt time.Time `json:"created_at"`
	Note      string    `json:"note,omitempty"`
}

// TableInfo describes an entry's table.
type TableInfo struct {
	EntryID int64         `json:"entry_id"`
	Columns []TableColumn `json:"columns"`
	Version int           `json:"version"` // current; 0 before the first load
	Rows    int64         `json:"rows"`
}

// Filter operators of a row query.
const (
	OpEq  = "eq"
	OpIn  = "in"
	OpGte = "gte"
	OpLte = "lte"
	OpGt  = "gt"
	OpLt  = "lt"
)

// RowFilter is one condition on a column (data item name or code).
type RowFilter struct {
	Item   string   `json:"item"`
	Op     string   `json:"op"`
	Values []string `json:"values"`
}

// RowQuery reads rows of an entry's table. Fields, RowFilter and Masks
// carry the caller's scope: the open data API and the exchange API pass
// what their grant allows.
type RowQuery struct {
	EntryID int64
	Version int // 0: current
	Fields  []string
	Filters []RowFilter
	Q       string   // full text over text columns
	Sort    []string // item names, "-" prefix for descending; default _id
	After   int64    // keyset: rows with _id > After (in _id order)
	Offset  int      // offset paging (when After is 0)
	Limit   int      // default 100
	Total   bool     // count the matching rows
	// Distinct answers each combination of the Fields' values once, without
	// _id, ordered by Sort (items among the Fields) or else by the Fields;
	// paged by Offset only. Masked items cannot be among them.
	Distinct bool
	Masks    map[string]string // item → mask rule (see Mask)
	// Scope, set by the caller's grant: only these items may be read (nil:
	// all), and only rows matching these filters.
	AllowedItems []string
	RowScope     []RowFilter
}

// RowResult is a page of rows.
type RowResult struct {
	Version int              `json:"version"`
	Fields  []string         `json:"fields"`
	Rows    []map[string]any `json:"rows"`
	Total   *int64           `json:"total,omitempty"`
	Next    int64            `json:"next_after,omitempty"` // keyset cursor for the next page
}

// TableService keeps the rows behind catalog entries.
type TableService interface {
	// PrepareTable makes sure the entry's table has a column per data item.
	PrepareTable(ctx context.Context, e *CatalogEntry) (*TableInfo, error)
	Table(ctx context.Context, entryID int64) (*TableInfo, error)
	// StartLoad registers a running job and reserves the next version.
	StartLoad(ctx context.Context, job *LoadJob) error
	// WriteRows stores a batch of normalized values (one per table column,
	// nil for empty) for a running job, in a short transaction of its own:
	// a load never holds the database for its whole length.
	WriteRows(ctx context.Context, job *LoadJob, rows [][]any) error
	// FinishLoad makes the job's version current at once and whole, or,
	// with failure set, removes everything the job wrote.
	FinishLoad(ctx context.Context, job *LoadJob, problems []RowProblem, failure string) error
	// RecoverLoads fails the loads a crash left running and takes back
	// their rows; call it at start-up.
	RecoverLoads(ctx context.Context) (int, error)
	LoadJob(ctx context.Context, id int64) (*LoadJob, error)
	LoadJobs(ctx context.Context, entryID int64) ([]*LoadJob, error)
	RejectedRows(ctx context.Context, jobID int64) ([]RowProblem, error)
	TableVersions(ctx context.Context, entryID int64) ([]TableVersion, error)
	// RollbackTable makes version the current state again, as a new version.
	RollbackTable(ctx context.Context, entryID int64, version int) (*TableVersion, error)
	QueryRows(ctx context.Context, q RowQuery) (*RowResult, error)
	TableQuality(ctx context.Context, entryID int64) (*TableQuality, error)
}

// TableQuality is a table's quality report at its current version.
type TableQuality struct {
	EntryID       int64           `json:"entry_id"`
	Version       int             `json:"version"`
	Rows          int64           `json:"rows"`
	Columns       []ColumnQuality `json:"columns"`
	DuplicateKeys int64           `json:"duplicate_keys"` // primary-key values held by more than one current row
	LastLoad      *LoadJob        `json:"last_load,omitempty"`
	UpdatedAt     *time.Time      `json:"updated_at,omitempty"`
	Fresh         bool            `json:"fresh"` // updated within the entry's update cycle
}

// ColumnQuality is one column's completeness and, for the last load, the
// share of its values that passed the column's checks.
type ColumnQuality struct {
	Item         string  `json:"item"`
	Validator    string  `json:"validator,omitempty"`
	Filled       int64   `json:"filled"`
	Completeness float64 `json:"completeness"` // filled ÷ rows
	Rejected     int64   `json:"rejected"`     // values the last load rejected
	Validity     float64 `json:"validity"`     // 1 − rejected ÷ received, for the last load
}

// Pull is a scheduled fetch of an entry's rows from a URL.
type Pull struct {
	EntryID   int64      `json:"entry_id"`
	URL       string     `json:"url"`
	Format    string     `json:"format,omitempty"` // csv, json, …; from the response when empty
	Mode      string     `json:"mode"`
	Enabled   bool       `json:"enabled"`
	LastRun   *time.Time `json:"last_run,omitempty"`
	LastJob   int64      `json:"last_job,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// PullInterval is how often an entry's pull runs: its update cycle, and at
// least every 5 minutes for real-time entries.
func PullInterval(cycle string) time.Duration {
	if cycle == CycleRealtime {
		return 5 * time.Minute
	}
	if d := CycleLength(cycle); d > 0 {
		return d
	}
	return 7 * 24 * time.Hour // 不定期: weekly
}

// PullService keeps scheduled pulls.
type PullService interface {
	SetPull(ctx context.Context, p *Pull) error
	Pull(ctx context.Context, entryID int64) (*Pull, error)
	Pulls(ctx context.Context) ([]*Pull, error)
	RecordPull(ctx context.Context, entryID int64, at time.Time, job int64, failure string) error
}
