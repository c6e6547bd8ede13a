package httpapi

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

// catalogRoutes are the endpoints of the resource catalog (政务信息资源目录).
func (s *Server) catalogRoutes() []route {
	entry := cityhub.CatalogEntry{}
	return []route{
		{"GET", "/api/v1/catalog/vocabularies", signedIn, s.vocabularies, operation{
			tag: "catalog", summary: "The catalog's controlled vocabularies with Chinese and English labels", response: vocabularies{}}},
		{"GET", "/api/v1/catalog/classifications", signedIn, s.listClassifications, operation{
			tag: "catalog", summary: "The classification tree (基础 / 主题 / 部门) with entry counts the caller may see",
			response: listOf[cityhub.Classification]{}}},
		{"POST", "/api/v1/catalog/classifications", signedIn, s.createClassification, operation{
			tag: "catalog", summary: "Add a node to the classification tree (platform admin)", body: classificationInput{},
			response: cityhub.Classification{}, status: 201}},
		{"GET", "/api/v1/catalog/domains", signedIn, s.listDomains, operation{
			tag: "catalog", summary: "Open-data domains; key ones carry the plan's open-rate target", response: listOf[cityhub.Domain]{}}},
		{"GET", "/api/v1/catalog/entries", signedIn, s.searchCatalog, operation{
			tag: "catalog", summary: "Search the catalog: full text in Chinese and English, filters, facets, sorting, paging",
			query: append([]param{{"q", "string", "words; Chinese of any length"}, {"classification", "string", "classification code prefix"},
				{"provider_id", "integer", "provider department"}, {"share_type", "string", "unconditional, conditional or none"},
				{"open_type", "string", "unconditional, conditional or none"}, {"format", "string", "file, sheet, database, image, stream, selfdesc"},
				{"update_cycle", "string", "realtime … yearly, irregular"}, {"domain", "string", "open-data domain code"},
				{"tag", "string", "exact tag"}, {"status", "string", "draft, submitted, approved, rejected, published, withdrawn"},
				{"sort", "string", "relevance (default with q), updated (default), name, code"},
				{"facets", "boolean", "include facet counts"}}, pagingParams...),
			response: cityhub.CatalogResult{}}},
		{"POST", "/api/v1/catalog/entries", signedIn, s.createEntry, operation{
			tag: "catalog", summary: "Create a draft entry; the platform assigns its resource code (steward of the provider)",
			body: entryInput{}, response: entry, status: 201}},
		{"GET", "/api/v1/catalog/entries/{id}", signedIn, s.getEntry, operation{
			tag: "catalog", summary: "One entry", response: entry}},
		{"PUT", "/api/v1/catalog/entries/{id}", signedIn, s.updateEntry, operation{
			tag: "catalog", summary: "Replace an entry's content as a new version (not while under review)",
			body: entryInput{}, response: entry}},
		{"DELETE", "/api/v1/catalog/entries/{id}", signedIn, s.deleteEntry, operation{
			tag: "catalog", summary: "Delete a draft that was never published", status: 204}},
		{"POST", "/api/v1/catalog/entries/{id}/transition", signedIn, s.transitionEntry, operation{
			tag: "catalog", summary: "Move an entry along its lifecycle: submit, approve, reject (reason), publish, withdraw (reason)",
			body: transitionInput{}, response: entry}},
		{"GET", "/api/v1/catalog/entries/{id}/versions", signedIn, s.entryVersions, operation{
			tag: "catalog", summary: "Every version of an entry with what changed from the one before", response: listOf[versionView]{}}},
		{"GET", "/api/v1/catalog/entries/{id}/change-requests", signedIn, s.listChangeRequests, operation{
			tag: "catalog", summary: "Requests to update an entry", response: listOf[cityhub.ChangeRequest]{}}},
		{"POST", "/api/v1/catalog/entries/{id}/change-requests", signedIn, s.createChangeRequest, operation{
			tag: "catalog", summary: "Ask the provider to update an entry (due within 15 working days)",
			body: changeRequestInput{}, response: cityhub.ChangeRequest{}, status: 201}},
		{"GET", "/api/v1/catalog/stats", signedIn, s.catalogStats, operation{
			tag: "catalog", summary: "Catalog statistics city-wide or for one provider: types, open rate per domain against the target, overdue entries",
			query: []param{{"provider_id", "integer", "one provider; city-wide when absent"}}, response: statsView{}}},
	}
}

type vocabularies struct {
	Formats       []cityhub.Term `json:"formats"`
	ShareTypes    []cityhub.Term `json:"share_types"`
	OpenTypes     []cityhub.Term `json:"open_types"`
	UpdateCycles  []cityhub.Term `json:"update_cycles"`
	Statuses      []cityhub.Term `json:"statuses"`
	Sensitivities []cityhub.Term `json:"sensitivities"`
	ItemTypes     []cityhub.Term `json:"item_types"`
}

func (s *Server) vocabularies(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, vocabularies{cityhub.Formats, cityhub.ShareTypes, cityhub.OpenTypes, cityhub.UpdateCycles,
		cityhub.Statuses, cityhub.Sensitivities, cityhub.ItemTypes})
	return nil
}

func caller(r *http.Request) *cityhub.User {
	u, _ := cityhub.UserFrom(r.Context())
	return u
}

func (s *Server) listClassifications(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.Store.Classifications(r.Context(), cityhub.ScopeOf(caller(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.Classification]{Items: nonNil(cs), Total: len(cs)})
	return nil
}

// classificationInput is a new node: the parent follows from the code.
type classificationInput struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) createClassification(w http.ResponseWriter, r *http.Request) error {
	if !caller(r).HasRole(cityhub.RolePlatformAdmin) {
		return forbidden("change the classification tree")
	}
	var in classificationInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c := cityhub.Classification{Code: in.Code, Name: in.Name}
	if err := s.Store.CreateClassification(r.Context(), &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.Store.Domains(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.Domain]{Items: nonNil(ds), Total: len(ds)})
	return nil
}

// CatalogQueryFromRequest parses search parameters; the web console uses it too.
func CatalogQueryFromRequest(r *http.Request) (cityhub.CatalogQuery, error) {
	qv := r.URL.Query()
	cq := cityhub.CatalogQuery{Q: qv.Get("q"), Classification: qv.Get("classification"), ShareType: qv.Get("share_type"),
		OpenType: qv.Get("open_type"), Format: qv.Get("format"), UpdateCycle: qv.Get("update_cycle"),
		Domain: qv.Get("domain"), Tag: qv.Get("tag"), Status: qv.Get("status"), Sort: qv.Get("sort"),
		Facets: qv.Get("facets") == "true" || qv.Get("facets") == "1"}
	var err error
	if cq.Limit, cq.Offset, err = paging(r); err != nil {
		return cq, err
	}
	if p, err := queryID(r, "provider_id"); err != nil {
		return cq, err
	} else if p != nil {
		cq.ProviderID = *p
	}
	if utf8.RuneCountInString(cq.Q) > 200 {
		return cq, invalid("q", "at most 200 characters")
	}
	switch cq.Sort {
	case "", "relevance", "updated", "name", "code":
	default:
		return cq, invalid("sort", "relevance, updated, name or code")
	}
	checks := []struct {
		name, value string
		terms       []cityhub.Term
	}{{"share_type", cq.ShareType, cityhub.ShareTypes}, {"open_type", cq.OpenType, cityhub.OpenTypes},
		{"format", cq.Format, cityhub.Formats}, {"update_cycle", cq.UpdateCycle, cityhub.UpdateCycles},
		{"status", cq.Status, cityhub.Statuses}}
	for _, c := range checks {
		if c.value == "" {
			continue
		}
		if t, ok := cityhub.TermByLabel(c.terms, c.value); !ok || t.Code != c.value {
			return cq, invalid(c.name, "unknown value "+strconv.Quote(c.value))
		}
	}
	cq.Scope = cityhub.ScopeOf(caller(r))
	return cq, nil
}

func (s *Server) searchCatalog(w http.ResponseWriter, r *http.Request) error {
	cq, err := CatalogQueryFromRequest(r)
	if err != nil {
		return err
	}
	res, err := s.searcher().SearchCatalog(r.Context(), cq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// entryInput is what callers write on an entry; code, status and versions
// belong to the platform.
type entryInput struct {
	ClassificationCode string             `json:"classification_code"`
	Name               string             `json:"name"`
	ProviderID         int64              `json:"provider_id"`
	Abstract           string             `json:"abstract"`
	Format             string             `json:"format"`
	Items              []cityhub.DataItem `json:"items"`
	ShareType          string             `json:"share_type"`
	ShareCondition     string             `json:"share_condition"`
	ShareMethod        string             `json:"share_method"`
	ShareBasis         string             `json:"share_basis"`
	OpenType           string             `json:"open_type"`
	OpenCondition      string             `json:"open_condition"`
	OpenBasis          string             `json:"open_basis"`
	UpdateCycle        string             `json:"update_cycle"`
	PublishDate        string             `json:"publish_date"`
	RelatedCodes       []string           `json:"related_codes"`
	Tags               []string           `json:"tags"`
	Domain             string             `json:"domain"`
	Note               string             `json:"note"` // why this version (updates only)
}

func (in entryInput) entry() *cityhub.CatalogEntry {
	return &cityhub.CatalogEntry{ClassificationCode: in.ClassificationCode, Name: in.Name, ProviderID: in.ProviderID,
		Abstract: in.Abstract, Format: in.Format, Items: in.Items, ShareType: in.ShareType, ShareCondition: in.ShareCondition,
		ShareMethod: in.ShareMethod, ShareBasis: in.ShareBasis, OpenType: in.OpenType, OpenCondition: in.OpenCondition,
		OpenBasis: in.OpenBasis, UpdateCycle: in.UpdateCycle, PublishDate: in.PublishDate, RelatedCodes: in.RelatedCodes,
		Tags: in.Tags, Domain: in.Domain}
}

func (s *Server) createEntry(w http.ResponseWriter, r *http.Request) error {
	var in entryInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.ProviderID == 0 && caller(r).DepartmentID != nil {
		in.ProviderID = *caller(r).DepartmentID // a steward's own department by default
	}
	if in.ProviderID != 0 && !caller(r).CanEditCatalog(in.ProviderID) {
		return forbidden("write this department's catalog")
	}
	e := in.entry()
	if err := s.Store.CreateEntry(r.Context(), e); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// entryFor loads the {id} entry if the caller may see it; others look absent.
func (s *Server) entryFor(r *http.Request) (*cityhub.CatalogEntry, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	e, err := s.Store.Entry(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !caller(r).CanSeeEntry(e) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	return e, nil
}

func (s *Server) getEntry(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) updateEntry(w http.ResponseWriter, r *http.Request) error {
	old, err := s.entryFor(r)
	if err != nil {
		return err
	}
	var in entryInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	u := caller(r)
	// A body without provider_id is invalid (400 from the store), not a
	// move to a department the caller may not write.
	if !u.CanEditCatalog(old.ProviderID) || in.ProviderID != 0 && !u.CanEditCatalog(in.ProviderID) {
		return forbidden("edit this entry (only the provider's data stewards)")
	}
	e := in.entry()
	e.ID = old.ID
	if err := s.Store.UpdateEntry(r.Context(), e, in.Note); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteEntry(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	if !caller(r).CanEditCatalog(e.ProviderID) {
		return forbidden("delete this entry")
	}
	if err := s.Store.DeleteEntry(r.Context(), e.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type transitionInput struct {
	Action cityhub.Transition `json:"action"`
	Reason string             `json:"reason"`
}

func (s *Server) transitionEntry(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	var in transitionInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if _, err := e.NextStatus(in.Action, "x"); err != nil && cityhub.ErrorCode(err) == cityhub.EINVALID {
		return err // unknown action, before the permission check
	}
	if !caller(r).CanTransition(in.Action, e.ProviderID) {
		return forbidden(string(in.Action) + " this entry")
	}
	e, err = s.Store.TransitionEntry(r.Context(), e.ID, in.Action, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// versionView is a version with its changes from the version before.
type versionView struct {
	Version int                   `json:"version"`
	Action  string                `json:"action"`
	Actor   string                `json:"actor"`
	At      time.Time             `json:"at"`
	Note    string                `json:"note,omitempty"`
	Changes []cityhub.Change      `json:"changes"`
	Entry   *cityhub.CatalogEntry `json:"entry"`
}

// VersionViews pairs each version with its diff from the one before; the
// console shows the same history.
func VersionViews(vs []*cityhub.CatalogVersion) []versionView {
	out := make([]versionView, len(vs))
	prev := &cityhub.CatalogEntry{}
	for i, v := range vs {
		out[i] = versionView{Version: v.Version, Action: v.Action, Actor: v.Actor, At: v.At, Note: v.Note,
			Changes: nonNil(cityhub.Diff(prev, v.Entry)), Entry: v.Entry}
		prev = v.Entry
	}
	return out
}

func (s *Server) entryVersions(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	vs, err := s.Store.EntryVersions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	views := VersionViews(vs)
	writeJSON(w, http.StatusOK, listOf[versionView]{Items: views, Total: len(views)})
	return nil
}

type changeRequestInput struct {
	Reason string `json:"reason"`
}

func (s *Server) listChangeRequests(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	crs, err := s.Store.ChangeRequests(r.Context(), e.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.ChangeRequest]{Items: nonNil(crs), Total: len(crs)})
	return nil
}

func (s *Server) createChangeRequest(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	var in changeRequestInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	cr := &cityhub.ChangeRequest{EntryID: e.ID, Reason: in.Reason}
	if err := s.Store.CreateChangeRequest(r.Context(), cr); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cr)
	return nil
}

// statsView is the statistics with the target they are measured against.
type statsView struct {
	*cityhub.CatalogStats
	OpenRateTarget float64   `json:"open_rate_target"`
	ChangeDeadline time.Time `json:"change_deadline"` // requests older than this are overdue
	AsOf           time.Time `json:"as_of"`
}

// CatalogStats computes statistics as of now with the working-day calendar.
func (s *Server) CatalogStats(r *http.Request, providerID int64) (*statsView, error) {
	q := s.Policy.StatsQuery(providerID, time.Now())
	st, err := s.Store.CatalogStats(r.Context(), q)
	if err != nil {
		return nil, err
	}
	return &statsView{CatalogStats: st, OpenRateTarget: s.Policy.Target(), ChangeDeadline: q.ChangeDeadline, AsOf: q.Now}, nil
}

func (s *Server) catalogStats(w http.ResponseWriter, r *http.Request) error {
	p, err := queryID(r, "provider_id")
	if err != nil {
		return err
	}
	var provider int64
	if p != nil {
		provider = *p
	}
	st, err := s.CatalogStats(r, provider)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
