package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

func (s *Server) tableRoutes() []route {
	return []route{
		{"GET", "/api/v1/catalog/entries/{id}/table", signedIn, s.getTable, operation{
			tag: "data", summary: "The entry's table: columns, current version, row count, versions", response: tableView{}}},
		{"GET", "/api/v1/catalog/entries/{id}/rows", signedIn, s.queryRows, operation{
			tag: "data", summary: "Rows of the entry's table: filters, full text, fields, sort, keyset or offset paging, exact total",
			query: []param{{"fields", "string", "comma-separated item names or codes"},
				{"filter", "string", "item:op:value[|value…], repeatable; op eq, in, gt, gte, lt, lte"},
				{"q", "string", "text contained in any text column"}, {"sort", "string", "comma-separated items, - for descending"},
				{"after", "integer", "keyset paging: rows after this _id (default order)"}, {"offset", "integer", "offset paging"},
				{"limit", "integer", "1 to 32000, default 100"}, {"total", "boolean", "count the matching rows"},
				{"version", "integer", "an earlier version of the table"}},
			response: cityhub.RowResult{}}},
		{"GET", "/api/v1/catalog/entries/{id}/table/quality", signedIn, s.tableQuality, operation{
			tag: "data", summary: "Quality report: completeness per column, validity per check in the last load, duplicate keys, freshness",
			response: cityhub.TableQuality{}}},
		{"POST", "/api/v1/catalog/entries/{id}/table/rollback", signedIn, s.rollbackTable, operation{
			tag: "data", summary: "Make an earlier version current again, as a new version (the provider's stewards)",
			body: rollbackInput{}, response: cityhub.TableVersion{}}},
	}
}

type tableView struct {
	*cityhub.TableInfo
	Versions []cityhub.TableVersion `json:"versions"`
}

func (s *Server) getTable(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	info, err := s.Store.Table(r.Context(), e.ID)
	if err != nil {
		if err := noTable(e, err); err != nil {
			return err
		}
		// Nothing loaded yet: version 0, no rows.
		info = &cityhub.TableInfo{EntryID: e.ID, Columns: []cityhub.TableColumn{}}
	}
	vs, err := s.Store.TableVersions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tableView{TableInfo: info, Versions: vs})
	return nil
}

// RowScopeOf is what a signed-in government user may read of an entry's
// rows: the provider's own people and administrators read everything;
// others never see secret items and see sensitive ones masked.
func RowScopeOf(u *cityhub.User, e *cityhub.CatalogEntry) (allowed []string, masks map[string]string) {
	if u.CanEditCatalog(e.ProviderID) || u.HasRole(cityhub.RolePlatformAdmin) ||
		u.DepartmentID != nil && *u.DepartmentID == e.ProviderID {
		return nil, nil
	}
	masks = map[string]string{}
	allowed = []string{}
	for _, it := range e.Items {
		switch it.Sensitivity {
		case cityhub.SensSecret:
			continue
		case cityhub.SensSensitive:
			masks[it.Name] = cityhub.DefaultMask(it)
		}
		allowed = append(allowed, it.Name)
	}
	return allowed, masks
}

// RowQueryFromRequest parses the rows endpoint's parameters; the console
// and the open data API read the same.
func RowQueryFromRequest(r *http.Request, entryID int64) (cityhub.RowQuery, error) {
	qv := r.URL.Query()
	rq := cityhub.RowQuery{EntryID: entryID, Q: qv.Get("q")}
	if f := qv.Get("fields"); f != "" {
		rq.Fields = splitList(f)
	}
	if srt := qv.Get("sort"); srt != "" {
		rq.Sort = splitList(srt)
	}
	for _, f := range qv["filter"] {
		parts := strings.SplitN(f, ":", 3)
		if len(parts) != 3 {
			return rq, invalid("filter", "item:op:value, e.g. 区县:eq:海曙区 or 注册资本:gte:100")
		}
		rq.Filters = append(rq.Filters, cityhub.RowFilter{Item: parts[0], Op: parts[1], Values: strings.Split(parts[2], "|")})
	}
	var err error
	if rq.Limit, err = queryInt(r, "limit"); err != nil {
		return rq, err
	}
	if rq.Offset, err = queryInt(r, "offset"); err != nil {
		return rq, err
	}
	after, err := queryInt(r, "after")
	if err != nil {
		return rq, err
	}
	rq.After = int64(after)
	if rq.Version, err = queryInt(r, "version"); err != nil {
		return rq, err
	}
	total, err := boolParam(r, "total")
	rq.Total = total
	return rq, err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) queryRows(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	rq, err := RowQueryFromRequest(r, e.ID)
	if err != nil {
		return err
	}
	rq.AllowedItems, rq.Masks = RowScopeOf(caller(r), e)
	res, err := s.Store.QueryRows(r.Context(), rq)
	if err != nil {
		res, err = s.unloadedRows(r.Context(), e, rq, apiFields(err))
		if err != nil {
			return err
		}
	}
	if err := s.auditRead(r.Context(), e, rq, len(res.Rows)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// apiFields names the request parameters in a query error: the store
// speaks of RowQuery's filters, the client sent filter=….
func apiFields(err error) error {
	var qe *cityhub.Error
	if !errors.As(err, &qe) || qe.Fields["filters"] == "" {
		return err
	}
	fields := maps.Clone(qe.Fields)
	fields["filter"] = fields["filters"]
	delete(fields, "filters")
	return &cityhub.Error{Code: qe.Code, Message: qe.Message, Fields: fields}
}

// noTable says whether a table lookup failed only because nothing was ever
// loaded into a sheet or database entry (nil), or why else it failed.
func noTable(e *cityhub.CatalogEntry, err error) error {
	if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		return err
	}
	if e.Format != cityhub.FormatSheet && e.Format != cityhub.FormatDatabase {
		return cityhub.Errorf(cityhub.ECONFLICT, "rows are kept for 电子表格 and 数据库 entries; this one is %s", e.Format)
	}
	return nil
}

// unloadedRows answers a row query on an entry whose table was never
// loaded with an empty page; any other failure is returned as is.
func (s *Server) unloadedRows(ctx context.Context, e *cityhub.CatalogEntry, rq cityhub.RowQuery, qerr error) (*cityhub.RowResult, error) {
	if cityhub.ErrorCode(qerr) != cityhub.ENOTFOUND || rq.Version != 0 {
		return nil, qerr
	}
	if _, err := s.Store.Table(ctx, e.ID); err == nil {
		return nil, qerr // the table exists: the query itself found nothing to read
	} else if err := noTable(e, err); err != nil {
		return nil, err
	}
	res := &cityhub.RowResult{Fields: rq.Fields, Rows: []map[string]any{}}
	if res.Fields == nil {
		res.Fields = []string{}
		for _, it := range e.Items {
			if rq.AllowedItems == nil || slices.Contains(rq.AllowedItems, it.Name) {
				res.Fields = append(res.Fields, it.Name)
			}
		}
	}
	if rq.Total {
		res.Total = new(int64)
	}
	return res, nil
}

// auditRead records a data access: who read which entry's rows, how.
func (s *Server) auditRead(ctx context.Context, e *cityhub.CatalogEntry, rq cityhub.RowQuery, rows int) error {
	details, _ := json.Marshal(map[string]any{"rows": rows, "fields": rq.Fields, "filters": rq.Filters, "q": rq.Q,
		"version": rq.Version, "masked": slices.Sorted(maps.Keys(rq.Masks))})
	return s.Store.AppendAudit(ctx, cityhub.NewAuditRecord(ctx, "data.read", "catalog:"+strconv.FormatInt(e.ID, 10),
		cityhub.OutcomeSuccess, string(details)))
}

type rollbackInput struct {
	Version int `json:"version"`
}

func (s *Server) rollbackTable(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	if !caller(r).CanEditCatalog(e.ProviderID) {
		return forbidden("roll back this table (the provider's data stewards)")
	}
	var in rollbackInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.Store.RollbackTable(r.Context(), e.ID, in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) tableQuality(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	q, err := s.Store.TableQuality(r.Context(), e.ID)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		q, err = &cityhub.TableQuality{EntryID: e.ID, Columns: []cityhub.ColumnQuality{}}, nil // never loaded
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}
