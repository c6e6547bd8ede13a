package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

// maxChartPoints bounds the rows a chart plots.
const maxChartPoints = 5000

// chartSeries is what the dataset page's chart draws: y over x, where x is
// the row's place (axis "value"), a time (axis "time", milliseconds) or a
// text (axis "category").
type chartSeries struct {
	Axis      string `json:"axis"`
	X         []any  `json:"x"`
	Y         []any  `json:"y"`
	XLabel    string `json:"x_label"`
	YLabel    string `json:"y_label"`
	Total     int64  `json:"total"` // rows matching, plotted or not
	Truncated bool   `json:"truncated"`
}

// chartJSON answers the chart's data: ?y= a numeric column, ?x= a date or
// text column ("" for the rows' order), ?q= the preview's search.
func (p *Portal) chartJSON(w http.ResponseWriter, r *http.Request, pg *page) error {
	t, err := p.openTableFromPath(r)
	if err != nil {
		return err
	}
	qv := r.URL.Query()
	y, ok := t.column(qv.Get("y"))
	if !ok || !y.Numeric {
		return cityhub.Errorf(cityhub.EINVALID, "y: a numeric column")
	}
	var x column
	if name := qv.Get("x"); name != "" {
		if x, ok = t.column(name); !ok || x.Numeric {
			return cityhub.Errorf(cityhub.EINVALID, "x: a date or text column")
		}
	}
	q := strings.TrimSpace(qv.Get("q"))
	if utf8.RuneCountInString(q) > 100 {
		q = string([]rune(q)[:100])
	}
	rq := cityhub.RowQuery{EntryID: t.E.ID, Version: t.Info.Version, AllowedItems: t.Allowed(), Q: q,
		Fields: []string{y.Name}, Limit: maxChartPoints, Total: true}
	if x.Name != "" {
		rq.Fields, rq.Sort = []string{x.Name, y.Name}, []string{x.Name}
	}
	if q != "" {
		rq.Fields = nil // the search covers every public column, as the preview's does
	}
	res, err := p.Store.QueryRows(r.Context(), rq)
	if err != nil {
		return err
	}
	s := chartSeries{Axis: "value", X: []any{}, Y: []any{}, XLabel: pg.T("chart.row_order"), YLabel: y.Name}
	if res.Total != nil {
		s.Total = *res.Total
		s.Truncated = *res.Total > int64(len(res.Rows))
	}
	if x.Name != "" {
		s.Axis, s.XLabel = "category", x.Name
		if x.Date {
			s.Axis = "time"
		}
	}
	for i, m := range res.Rows {
		yv, ok := m[y.Name].(float64)
		if !ok {
			continue // empty: a gap, not a zero
		}
		var xv any = i + 1
		if x.Name != "" {
			text := tabular.CellText(m[x.Name])
			if text == "" {
				continue
			}
			xv = text
			if x.Date {
				at, ok := parseWhen(text)
				if !ok {
					s.Axis = "category" // not every value is a time: plot them as texts
				} else if s.Axis == "time" {
					xv = at.UnixMilli()
				}
			}
		}
		s.X, s.Y = append(s.X, xv), append(s.Y, yv)
	}
	if s.Axis == "category" && x.Date { // some values were times already: back to texts
		for i, v := range s.X {
			if ms, ok := v.(int64); ok {
				s.X[i] = time.UnixMilli(ms).In(p.loc()).Format("2006-01-02")
			}
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(s)
}

// parseWhen reads a date (CCYY-MM-DD) or a date-time (RFC 3339) as the
// tables keep them.
func parseWhen(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
