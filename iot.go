package cityhub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// A DeviceType is a kind of sensor, named after the FIWARE Smart Data Model
// it follows. Its properties say what a reading may carry and which values
// are plausible; its catalog entry governs the stream like any other data.
type DeviceType struct {
	Name       string        `json:"name"` // the Smart Data Model type, e.g. AirQualityObserved
	Label      string        `json:"label"`
	LabelEn    string        `json:"label_en"`
	Category   string        `json:"category"`      // air, water, traffic, noise, weather, parking, lighting, tunnel
	Offline    time.Duration `json:"offline_after"` // no reading for this long: offline
	Properties []Property    `json:"properties"`
	EntryID    int64         `json:"entry_id,omitempty"` // its catalog entry, once registered
}

// A Property is one measured quantity of a device type.
type Property struct {
	Name    string   `json:"name"` // the Smart Data Model attribute, e.g. pm25
	Label   string   `json:"label"`
	LabelEn string   `json:"label_en"`
	Kind    string   `json:"kind"`               // number, text or bool
	Unit    string   `json:"unit,omitempty"`     // UN/CEFACT common code, as NGSI-LD unitCode
	UnitSym string   `json:"unit_sym,omitempty"` // as shown: µg/m³, °C
	Min     *float64 `json:"min,omitempty"`      // plausible range, inclusive
	Max     *float64 `json:"max,omitempty"`
}

// Property kinds.
const (
	KindNumber = "number"
	KindText   = "text"
	KindBool   = "bool"
)

// Property returns the type's property called name.
func (t *DeviceType) Property(name string) (Property, bool) {
	for _, p := range t.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// A Value is one property's value in a reading: Num for numbers and
// booleans (1 or 0), Text for text.
type Value struct {
	Key  string  `json:"key"`
	Num  float64 `json:"num,omitempty"`
	Text string  `json:"text,omitempty"`
	Kind string  `json:"kind"`
}

// Check converts a decoded JSON value (float64, string, bool or json.Number
// already parsed) into a Value of p, or says why it cannot.
func (p Property) Check(v any) (Value, error) {
	out := Value{Key: p.Name, Kind: p.Kind}
	switch p.Kind {
	case KindNumber:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case string: // firmware often sends numbers as strings
			n, err := ParseNumber(x)
			if err != nil {
				return out, fmt.Errorf("%s: %q is not a number", p.Name, x)
			}
			f = n
		default:
			return out, fmt.Errorf("%s: want a number, got %s", p.Name, jsonKind(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return out, fmt.Errorf("%s: not a finite number", p.Name)
		}
		if (p.Min != nil && f < *p.Min) || (p.Max != nil && f > *p.Max) {
			return out, fmt.Errorf("%s: %v %s outside the plausible range %s", p.Name, f, p.UnitSym, p.rangeText())
		}
		out.Num = f
	case KindBool:
		switch x := v.(type) {
		case bool:
			out.Num = 0
			if x {
				out.Num = 1
			}
		case float64:
			if x != 0 && x != 1 {
				return out, fmt.Errorf("%s: want true or false, got %v", p.Name, x)
			}
			out.Num = x
		default:
			return out, fmt.Errorf("%s: want true or false, got %s", p.Name, jsonKind(v))
		}
	default:
		switch x := v.(type) {
		case string:
			if len(x) > 200 {
				return out, fmt.Errorf("%s: text longer than 200 bytes", p.Name)
			}
			out.Text = x
		case float64, bool:
			out.Text = fmt.Sprint(x)
		default:
			return out, fmt.Errorf("%s: want text, got %s", p.Name, jsonKind(v))
		}
	}
	return out, nil
}

func (p Property) rangeText() string {
	lo, hi := "−∞", "∞"
	if p.Min != nil {
		lo = fmt.Sprint(*p.Min)
	}
	if p.Max != nil {
		hi = fmt.Sprint(*p.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case string:
		return "text"
	default:
		return "a number"
	}
}

// A Device is one sensor or gateway of the city.
type Device struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"` // unique; gateways address their devices by it
	Type         string  `json:"type"`
	DepartmentID int64   `json:"department_id"`
	Division     string  `json:"division"` // GB/T 2260 district
	Lon          float64 `json:"lon"`
	Lat          float64 `json:"lat"`
	Gateway      bool    `json:"gateway,omitempty"` // may publish for the devices behind it
	Disabled     bool    `json:"disabled,omitempty"`
	EntityID     string  `json:"entity_id"` // NGSI-LD URN, urn:ngsi-ld:<Type>:<name>
	// Attributes are what the device or its integrator says about itself
	// (firmware, address, …): ThingsBoard client attributes and NGSI-LD
	// attributes that are not measured properties.
	Attributes map[string]any `json:"attributes"`
	CreatedAt  time.Time      `json:"created_at"`
	LastSeen   *time.Time     `json:"last_seen,omitempty"` // arrival of the newest accepted reading
}

// Online says whether the device sent within its type's timeout.
func (d *Device) Online(t *DeviceType, now time.Time) bool {
	return !d.Disabled && d.LastSeen != nil && now.Sub(*d.LastSeen) <= t.Offline
}

// Validate checks a device's own fields; the store checks references.
func (d *Device) Validate() error {
	fe := FieldErrors{}
	d.Name = strings.TrimSpace(d.Name)
	switch {
	case d.Name == "":
		fe.Add("name", "required")
	case len(d.Name) > 100:
		fe.Add("name", "at most 100 bytes")
	case strings.ContainsAny(d.Name, "/#+ \t\n"):
		fe.Add("name", "may not contain spaces or the MQTT characters / # +")
	}
	if d.Type == "" {
		fe.Add("type", "required")
	}
	if d.DepartmentID == 0 {
		fe.Add("department_id", "required")
	}
	if _, known := DeviceTypeByName(d.Type); d.Type != "" && !known {
		fe.Add("type", "unknown device type")
	}
	if d.Division != "" {
		if _, ok := LookupDivision(d.Division); !ok {
			fe.Add("division", "not a GB/T 2260 code the platform knows")
		}
	}
	if d.Lon < 73 || d.Lon > 136 || d.Lat < 3 || d.Lat > 54 {
		fe.Add("location", "longitude 73–136 and latitude 3–54 (China, WGS 84)")
	}
	if d.EntityID == "" {
		d.EntityID = "urn:ngsi-ld:" + d.Type + ":" + d.Name
	} else if !strings.HasPrefix(d.EntityID, "urn:") {
		fe.Add("entity_id", "must be a URN")
	}
	return fe.Err("invalid device")
}

// A Reading is what one device observed at one time.
type Reading struct {
	DeviceID int64
	Time     time.Time // observation time, millisecond precision
	Values   []Value
}

// ReadingOutcome says what became of one reading in a write.
type ReadingOutcome int

const (
	Stored    ReadingOutcome = iota
	Duplicate                // the same reading is stored already
	Conflict                 // another reading of this device at this time is stored
)

// SeriesStore keeps readings, their rollups and each device's latest values.
type SeriesStore interface {
	// Write stores readings durably before it returns and tells each
	// reading's outcome in order.
	Write(ctx context.Context, readings []Reading) ([]ReadingOutcome, error)
	// Series returns one device property's points over a range.
	Series(ctx context.Context, q SeriesQuery) ([]Point, error)
	// Latest returns the newest value of every property of the devices.
	Latest(ctx context.Context, deviceIDs []int64) (map[int64][]LatestValue, error)
	// Prune drops raw readings older than before; rollups stay.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// Stats tells how much is stored.
	Stats(ctx context.Context) (SeriesStats, error)
	Close() error
}

// SeriesQuery selects one property of one device from From (inclusive) to
// To (exclusive). Step 0 returns raw values; otherwise one point a step,
// aggregated by Agg, from the finest rollup that fits.
type SeriesQuery struct {
	DeviceID int64
	Key      string
	From, To time.Time
	Step     time.Duration // 0 (raw), or a multiple of a minute
	Agg      string        // avg (default), min, max, sum, count, last
	Limit    int           // raw points at most; 0 means 10,000
}

// Aggregates a series query understands.
var Aggregates = []string{"avg", "min", "max", "sum", "count", "last"}

// Summary is a mergeable summary of numeric values, the content of a
// rollup bucket: merging (min of mins, sum of sums, last by observation
// time) lets late readings correct a bucket without recomputing it.
type Summary struct {
	Min, Max, Sum float64
	Count         int64
	LastTS        int64 // observation time of Last, ms since the epoch
	Last          float64
}

// Add counts one value observed at ts (ms since the epoch).
func (a *Summary) Add(ts int64, v float64) {
	a.Merge(&Summary{Min: v, Max: v, Sum: v, Count: 1, LastTS: ts, Last: v})
}

// Merge adds another summary's values.
func (a *Summary) Merge(b *Summary) {
	if b.Count == 0 {
		return
	}
	if a.Count == 0 || b.Min < a.Min {
		a.Min = b.Min
	}
	if a.Count == 0 || b.Max > a.Max {
		a.Max = b.Max
	}
	if a.Count == 0 || b.LastTS >= a.LastTS {
		a.LastTS, a.Last = b.LastTS, b.Last
	}
	a.Sum += b.Sum
	a.Count += b.Count
}

// Value is the summary under one of Aggregates; avg when unknown.
func (a *Summary) Value(agg string) float64 {
	switch agg {
	case "min":
		return a.Min
	case "max":
		return a.Max
	case "sum":
		return a.Sum
	case "count":
		return float64(a.Count)
	case "last":
		return a.Last
	}
	return a.Sum / float64(a.Count)
}

// RawLimit is the most raw points a query returns: Limit, 10,000 when
// unset or over 100,000.
func (q *SeriesQuery) RawLimit() int {
	if q.Limit <= 0 || q.Limit > 100000 {
		return 10000
	}
	return q.Limit
}

// Check validates the query for every series store and fills in the
// default aggregate: a non-empty range; step 0 (raw) or whole minutes, at
// most 100,000 of them; a known aggregate.
func (q *SeriesQuery) Check() error {
	if !q.From.Before(q.To) {
		return Errorf(EINVALID, "the range is empty: from must be before to")
	}
	if q.Step == 0 {
		return nil
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return Errorf(EINVALID, "step must be a whole number of minutes, got %s", q.Step)
	}
	if q.Agg == "" {
		q.Agg = "avg"
	}
	if !slices.Contains(Aggregates, q.Agg) {
		return Errorf(EINVALID, "aggregate %q unknown; use one of %s", q.Agg, strings.Join(Aggregates, ", "))
	}
	if q.To.Sub(q.From)/q.Step > 100000 {
		return Errorf(EINVALID, "more than 100,000 steps; choose a longer step")
	}
	return nil
}

// A Point is a time and a value; Text carries text readings in raw queries.
type Point struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
	Text  string    `json:"text,omitempty"`
}

// LatestValue is a property's newest value by observation time.
type LatestValue struct {
	Value
	Time time.Time `json:"t"`
}

// SeriesStats counts what the series store holds.
type SeriesStats struct {
	Readings int64 `json:"readings"` // raw readings kept
	Values   int64 `json:"values"`
	Bytes    int64 `json:"bytes"` // on disk, all tables
}

// MaxLateness is how old a reading may be when it arrives.
const MaxLateness = 7 * 24 * time.Hour

// DeviceService keeps devices and their access tokens.
type DeviceService interface {
	CreateDevice(ctx context.Context, d *Device) (token string, err error)
	UpdateDevice(ctx context.Context, d *Device) error
	DeleteDevice(ctx context.Context, id int64) error
	Device(ctx context.Context, id int64) (*Device, error)
	DeviceByName(ctx context.Context, name string) (*Device, error)
	DeviceByEntityID(ctx context.Context, entityID string) (*Device, error)
	// DeviceByToken finds the enabled device a token belongs to.
	DeviceByToken(ctx context.Context, token string) (*Device, error)
	Devices(ctx context.Context, q DeviceQuery) ([]*Device, int, error)
	RotateDeviceToken(ctx context.Context, id int64) (string, error)
	// MergeDeviceAttributes sets the given attributes (null removes one);
	// devices send them, so it is not audited.
	MergeDeviceAttributes(ctx context.Context, id int64, attrs map[string]any) error
	// TouchDevices records arrival times; it is not audited.
	TouchDevices(ctx context.Context, seen map[int64]time.Time) error
}

// DeviceQuery filters the device list.
type DeviceQuery struct {
	Type         string
	DepartmentID int64
	Division     string
	Q            string // name contains
	Limit        int
	Offset       int
}

// NewDeviceToken makes a device access token (shown once) and the hash the
// store keeps.
func NewDeviceToken() (token, hash string) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), HashDeviceToken(string(b))
}

// HashDeviceToken is how a device token is kept and looked up.
func HashDeviceToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CanManageDevices: platform administrators any device; a department's
// administrators and data stewards its own.
func (u *User) CanManageDevices(departmentID int64) bool {
	if u.HasRole(RolePlatformAdmin) {
		return true
	}
	return (u.HasRole(RoleSteward) || u.HasRole(RoleDeptAdmin)) && u.DepartmentID != nil && *u.DepartmentID == departmentID
}
