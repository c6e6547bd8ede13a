package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
)

// engagementRoutes are the public side of the open-data portal:
// applications for 有条件开放 data, dataset requests (数据需求), ratings and
// comments, and the showcase (成果展示). What anyone may read sits under
// /api/v1/open/; the rules of who may change what live in the domain and
// are applied by the store to the signed-in caller.
func (s *Server) engagementRoutes() []route {
	app := cityhub.AccessApplication{}
	appList := listOf[cityhub.AccessApplication]{}
	req := cityhub.DataRequest{}
	item := cityhub.ShowcaseItem{}
	const tag = "open data"
	return []route{
		// Applications for 有条件开放 data.
		{"POST", "/api/v1/open/datasets/{name}/applications", account, s.applyForData, operation{
			tag: tag, summary: "Apply to read a 有条件开放 dataset's data (public accounts); one open application per dataset",
			body: applicationInput{}, response: app, status: 201}},
		{"GET", "/api/v1/me/applications", account, s.myApplications, operation{
			tag: tag, summary: "The caller's applications for 有条件开放 data, newest first, with their status",
			query: append([]param{{"status", "string", "pending, approved, refused or revoked"},
				{"entry_id", "integer", "one dataset"}}, pagingParams...), response: appList}},
		{"GET", "/api/v1/applications", signedIn, s.listApplications, operation{
			tag: tag, summary: "Applications the caller decides: the provider's data stewards, platform admins every provider's",
			query: append([]param{{"status", "string", "pending, approved, refused or revoked"},
				{"entry_id", "integer", "one dataset"}, {"provider_id", "integer", "one provider"}}, pagingParams...),
			response: appList}},
		{"GET", "/api/v1/applications/{id}", account, s.getApplication, operation{
			tag: tag, summary: "One application (its applicant, and those who decide it)", response: app}},
		{"POST", "/api/v1/applications/{id}/approve", signedIn, s.approveApplication, operation{
			tag: tag, summary: "Approve: the applicant's API keys read the data until expires_at (none: until revoked)",
			body: approveInput{}, response: app}},
		{"POST", "/api/v1/applications/{id}/refuse", signedIn, s.refuseApplication, operation{
			tag: tag, summary: "Refuse with a reason; the applicant may apply again", body: reasonInput{}, response: app}},
		{"POST", "/api/v1/applications/{id}/revoke", signedIn, s.revokeApplication, operation{
			tag: tag, summary: "Take an approval back, with a reason", body: reasonInput{}, response: app}},

		// Dataset requests (数据需求).
		{"GET", "/api/v1/open/requests", open, s.listDataRequests, operation{
			tag: tag, summary: "Dataset requests (数据需求) and their answers, newest first",
			query: append([]param{{"status", "string", "open, answered, planned, fulfilled or declined"},
				{"provider_id", "integer", "the department asked"}, {"domain", "string", "open-data domain code"},
				{"q", "string", "title or description contains"}}, pagingParams...),
			response: listOf[cityhub.DataRequest]{}}},
		{"POST", "/api/v1/open/requests", account, s.createDataRequest, operation{
			tag: tag, summary: "Ask for data that is not open yet (public accounts)", body: dataRequestInput{},
			response: req, status: 201}},
		{"GET", "/api/v1/open/requests/{id}", open, s.getDataRequest, operation{
			tag: tag, summary: "One dataset request with its answer", response: req}},
		{"POST", "/api/v1/open/requests/{id}/answer", signedIn, s.answerDataRequest, operation{
			tag: tag, summary: "Answer a request: answered, planned, fulfilled (with the dataset) or declined (with the reason); platform admins, or stewards of the department asked",
			body: answerInput{}, response: req}},
		{"GET", "/api/v1/me/requests", account, s.myDataRequests, operation{
			tag: tag, summary: "The caller's dataset requests", query: pagingParams, response: listOf[cityhub.DataRequest]{}}},

		// Ratings and comments.
		{"GET", "/api/v1/open/datasets/{name}/rating", open, s.getRating, operation{
			tag: tag, summary: "A dataset's ratings: count, average, stars; with the caller's own when signed in",
			response: ratingView{}}},
		{"PUT", "/api/v1/open/datasets/{name}/rating", account, s.rateDataset, operation{
			tag: tag, summary: "Rate a dataset 1 to 5 stars (public accounts); a new rating replaces the caller's",
			body: ratingInput{}, response: ratingView{}}},
		{"GET", "/api/v1/open/datasets/{name}/comments", open, s.listComments, operation{
			tag: tag, summary: "A dataset's comments, newest first, each with the provider's replies",
			query:    append([]param{{"include_hidden", "boolean", "hidden comments too, marked (platform admins)"}}, pagingParams...),
			response: listOf[cityhub.Comment]{}}},
		{"POST", "/api/v1/open/datasets/{name}/comments", account, s.postComment, operation{
			tag: tag, summary: "Comment on a dataset (public accounts), or reply to a comment with parent_id (the provider's stewards)",
			body: commentInput{}, response: cityhub.Comment{}, status: 201}},
		{"POST", "/api/v1/comments/{id}/hide", signedIn, s.hideComment, operation{
			tag: tag, summary: "Hide an abusive comment and its replies from the portal, with a reason (platform admins)",
			body: reasonInput{}, response: cityhub.Comment{}}},

		// The showcase (成果展示).
		{"GET", "/api/v1/open/showcase", open, s.listShowcase, operation{
			tag: tag, summary: "Applications built on open data, newest first",
			query: append([]param{{"status", "string", "approved (default); pending, rejected or all for platform admins"},
				{"entry_id", "integer", "only those using this dataset"}}, pagingParams...),
			response: listOf[cityhub.ShowcaseItem]{}}},
		{"POST", "/api/v1/open/showcase", account, s.submitShowcase, operation{
			tag: tag, summary: "Submit an application built on public datasets (public accounts, platform admins); shown once approved",
			body: showcaseInput{}, response: item, status: 201}},
		{"GET", "/api/v1/open/showcase/{id}", open, s.getShowcaseItem, operation{
			tag: tag, summary: "One showcase item (approved ones; others to their submitter and platform admins)", response: item}},
		{"POST", "/api/v1/open/showcase/{id}/approve", signedIn, s.approveShowcase, operation{
			tag: tag, summary: "Show an item on the portal (platform admins)", response: item}},
		{"POST", "/api/v1/open/showcase/{id}/reject", signedIn, s.rejectShowcase, operation{
			tag: tag, summary: "Reject an item or take it down, with a reason (platform admins)", body: reasonInput{}, response: item}},
		{"GET", "/api/v1/me/showcase", account, s.myShowcase, operation{
			tag: tag, summary: "The caller's showcase submissions, with their status", query: pagingParams,
			response: listOf[cityhub.ShowcaseItem]{}}},
	}
}

// openDataset resolves {name}, a package name (or CKAN package id), to an
// entry the public may see; others are not found.
func (s *Server) openDataset(r *http.Request) (*cityhub.CatalogEntry, error) {
	name := r.PathValue("name")
	var e *cityhub.CatalogEntry
	var err error
	if id, ok := cityhub.EntryIDFromPackageID(name); ok {
		e, err = s.Store.Entry(r.Context(), id)
	} else {
		e, err = s.Store.EntryByCode(r.Context(), cityhub.CodeFromPackageName(name))
	}
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND || err == nil && !e.PublicMetadata() {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no dataset %q on the open-data portal", name)
	}
	return e, err
}

// queryTerm reads an optional query parameter that must be one of terms.
func queryTerm(r *http.Request, name string, terms []cityhub.Term, extra ...string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" || slices.Contains(extra, v) || slices.ContainsFunc(terms, func(t cityhub.Term) bool { return t.Code == v }) {
		return v, nil
	}
	return "", invalid(name, "unknown value "+strconv.Quote(v))
}

func queryFlag(r *http.Request, name string) bool {
	v := r.URL.Query().Get(name)
	return v == "true" || v == "1"
}

func queryEntryID(r *http.Request) (int64, error) {
	id, err := queryID(r, "entry_id")
	if id == nil || err != nil {
		return 0, err
	}
	return *id, nil
}

// Applications.

type applicationInput struct {
	Purpose      string `json:"purpose"`
	IntendedUse  string `json:"intended_use"`
	Organization string `json:"organization"`
}

type approveInput struct {
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"` // RFC 3339; none: until revoked
}

type reasonInput struct {
	Reason string `json:"reason"`
}

func (s *Server) applyForData(w http.ResponseWriter, r *http.Request) error {
	var in applicationInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.openDataset(r)
	if err != nil {
		return err
	}
	a := &cityhub.AccessApplication{EntryID: e.ID, Purpose: in.Purpose, IntendedUse: in.IntendedUse, Organization: in.Organization}
	if err := s.Store.CreateAccessApplication(r.Context(), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) writeApplications(w http.ResponseWriter, r *http.Request, f cityhub.ApplicationFilter) error {
	var err error
	if f.Status, err = queryTerm(r, "status", cityhub.ApplicationStatuses); err != nil {
		return err
	}
	if f.EntryID, err = queryEntryID(r); err != nil {
		return err
	}
	if f.Limit, f.Offset, err = paging(r); err != nil {
		return err
	}
	apps, total, err := s.Store.AccessApplications(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.AccessApplication]{Items: nonNil(apps), Total: total, Limit: f.Limit, Offset: f.Offset})
	return nil
}

func (s *Server) myApplications(w http.ResponseWriter, r *http.Request) error {
	return s.writeApplications(w, r, cityhub.ApplicationFilter{Scope: cityhub.CatalogScope{All: true}, UserID: caller(r).ID})
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) error {
	scope := cityhub.DecisionScope(caller(r))
	if !scope.All && len(scope.Departments) == 0 {
		return forbidden("decide applications for open data (the provider's data stewards)")
	}
	p, err := queryID(r, "provider_id")
	if err != nil {
		return err
	}
	if p != nil {
		if !scope.InScope(*p) {
			return forbidden("decide applications for this provider's data")
		}
		scope = cityhub.CatalogScope{Departments: []int64{*p}}
	}
	return s.writeApplications(w, r, cityhub.ApplicationFilter{Scope: scope})
}

// applicationFor loads the {id} application if the caller is its applicant
// or may decide it; others find none.
func (s *Server) applicationFor(r *http.Request) (*cityhub.AccessApplication, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	a, err := s.Store.AccessApplication(r.Context(), id)
	if err != nil {
		return nil, err
	}
	u := caller(r)
	if a.UserID != u.ID && !cityhub.DecisionScope(u).InScope(a.ProviderID) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "application %d not found", id)
	}
	return a, nil
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) error {
	a, err := s.applicationFor(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) decideApplication(w http.ResponseWriter, r *http.Request, d cityhub.ApplicationDecision) error {
	a, err := s.applicationFor(r)
	if err != nil {
		return err
	}
	a, err = s.Store.DecideAccessApplication(r.Context(), a.ID, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) approveApplication(w http.ResponseWriter, r *http.Request) error {
	var in approveInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	return s.decideApplication(w, r, cityhub.ApplicationDecision{Action: cityhub.DecideApprove, Reason: in.Reason, ExpiresAt: in.ExpiresAt})
}

func (s *Server) refuseApplication(w http.ResponseWriter, r *http.Request) error {
	var in reasonInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	return s.decideApplication(w, r, cityhub.ApplicationDecision{Action: cityhub.DecideRefuse, Reason: in.Reason})
}

func (s *Server) revokeApplication(w http.ResponseWriter, r *http.Request) error {
	var in reasonInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	return s.decideApplication(w, r, cityhub.ApplicationDecision{Action: cityhub.DecideRevoke, Reason: in.Reason})
}

// Dataset requests.

type dataRequestInput struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	ProviderID  *int64 `json:"provider_id"`
	Domain      string `json:"domain"`
}

type answerInput struct {
	Status  string `json:"status"`
	Reply   string `json:"reply"`
	EntryID *int64 `json:"entry_id"` // fulfilled: the dataset
}

func (s *Server) writeDataRequests(w http.ResponseWriter, r *http.Request, f cityhub.DataRequestFilter) error {
	var err error
	if f.Limit, f.Offset, err = paging(r); err != nil {
		return err
	}
	rs, total, err := s.Store.DataRequests(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.DataRequest]{Items: nonNil(rs), Total: total, Limit: f.Limit, Offset: f.Offset})
	return nil
}

func (s *Server) listDataRequests(w http.ResponseWriter, r *http.Request) error {
	f := cityhub.DataRequestFilter{Domain: r.URL.Query().Get("domain"), Query: r.URL.Query().Get("q")}
	var err error
	if f.Status, err = queryTerm(r, "status", cityhub.RequestStatuses); err != nil {
		return err
	}
	p, err := queryID(r, "provider_id")
	if err != nil {
		return err
	}
	if p != nil {
		f.ProviderID = *p
	}
	if len([]rune(f.Query)) > 200 {
		return invalid("q", "at most 200 characters")
	}
	return s.writeDataRequests(w, r, f)
}

func (s *Server) myDataRequests(w http.ResponseWriter, r *http.Request) error {
	return s.writeDataRequests(w, r, cityhub.DataRequestFilter{UserID: caller(r).ID})
}

func (s *Server) createDataRequest(w http.ResponseWriter, r *http.Request) error {
	var in dataRequestInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	req := &cityhub.DataRequest{Title: in.Title, Description: in.Description, ProviderID: in.ProviderID, Domain: in.Domain}
	if err := s.Store.CreateDataRequest(r.Context(), req); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, req)
	return nil
}

func (s *Server) getDataRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	req, err := s.Store.DataRequest(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

func (s *Server) answerDataRequest(w http.ResponseWriter, r *http.Request) error {
	var in answerInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	req, err := s.Store.AnswerDataRequest(r.Context(), id, cityhub.RequestAnswer{Status: in.Status, Reply: in.Reply, EntryID: in.EntryID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// Ratings and comments.

type ratingInput struct {
	Stars int `json:"stars"`
}

// ratingView is a dataset's ratings with the caller's own stars (0: none).
type ratingView struct {
	cityhub.RatingSummary
	Mine int `json:"mine"`
}

type commentInput struct {
	Body     string `json:"body"`
	ParentID *int64 `json:"parent_id"` // a reply to this comment (the provider's stewards)
}

func (s *Server) writeRating(w http.ResponseWriter, r *http.Request, e *cityhub.CatalogEntry) error {
	sums, err := s.Store.RatingSummaries(r.Context(), []int64{e.ID})
	if err != nil {
		return err
	}
	view := ratingView{RatingSummary: *sums[e.ID]}
	if u := caller(r); u != nil {
		if view.Mine, err = s.Store.UserRating(r.Context(), e.ID, u.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) getRating(w http.ResponseWriter, r *http.Request) error {
	e, err := s.openDataset(r)
	if err != nil {
		return err
	}
	return s.writeRating(w, r, e)
}

func (s *Server) rateDataset(w http.ResponseWriter, r *http.Request) error {
	var in ratingInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.openDataset(r)
	if err != nil {
		return err
	}
	if _, err := s.Store.RateEntry(r.Context(), e.ID, in.Stars); err != nil {
		return err
	}
	return s.writeRating(w, r, e)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) error {
	e, err := s.openDataset(r)
	if err != nil {
		return err
	}
	f := cityhub.CommentFilter{EntryID: e.ID, IncludeHidden: queryFlag(r, "include_hidden") && caller(r).CanModerate()}
	if f.Limit, f.Offset, err = paging(r); err != nil {
		return err
	}
	cs, total, err := s.Store.Comments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.Comment]{Items: nonNil(cs), Total: total, Limit: f.Limit, Offset: f.Offset})
	return nil
}

func (s *Server) postComment(w http.ResponseWriter, r *http.Request) error {
	var in commentInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.openDataset(r)
	if err != nil {
		return err
	}
	c := &cityhub.Comment{EntryID: e.ID, ParentID: in.ParentID, Body: in.Body}
	if err := s.Store.CreateComment(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) hideComment(w http.ResponseWriter, r *http.Request) error {
	var in reasonInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.Store.HideComment(r.Context(), id, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// The showcase.

type showcaseInput struct {
	Title       string  `json:"title"`
	Description string  `json:"description"`
	URL         string  `json:"url"`
	EntryIDs    []int64 `json:"entry_ids"` // the public datasets it uses
}

func (s *Server) writeShowcase(w http.ResponseWriter, r *http.Request, f cityhub.ShowcaseFilter) error {
	var err error
	if f.EntryID, err = queryEntryID(r); err != nil {
		return err
	}
	if f.Limit, f.Offset, err = paging(r); err != nil {
		return err
	}
	items, total, err := s.Store.ShowcaseItems(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.ShowcaseItem]{Items: nonNil(items), Total: total, Limit: f.Limit, Offset: f.Offset})
	return nil
}

func (s *Server) listShowcase(w http.ResponseWriter, r *http.Request) error {
	status, err := queryTerm(r, "status", cityhub.ShowcaseStatuses, "all")
	if err != nil {
		return err
	}
	switch status {
	case "", cityhub.ShowcaseApproved:
		status = cityhub.ShowcaseApproved
	case "all":
		status = ""
		fallthrough
	default:
		switch u := caller(r); {
		case u == nil:
			return cityhub.Errorf(cityhub.EUNAUTHORIZED, "sign in to see showcase items that are not approved")
		case !u.CanModerate():
			return forbidden("see showcase items that are not approved")
		}
	}
	return s.writeShowcase(w, r, cityhub.ShowcaseFilter{Status: status})
}

func (s *Server) myShowcase(w http.ResponseWriter, r *http.Request) error {
	return s.writeShowcase(w, r, cityhub.ShowcaseFilter{SubmitterID: caller(r).ID})
}

func (s *Server) submitShowcase(w http.ResponseWriter, r *http.Request) error {
	var in showcaseInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	it := &cityhub.ShowcaseItem{Title: in.Title, Description: in.Description, URL: in.URL, EntryIDs: in.EntryIDs}
	if err := s.Store.CreateShowcaseItem(r.Context(), it); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, it)
	return nil
}

func (s *Server) getShowcaseItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.Store.ShowcaseItem(r.Context(), id)
	if err != nil {
		return err
	}
	if u := caller(r); it.Status != cityhub.ShowcaseApproved && !u.CanModerate() && (u == nil || u.ID != it.SubmitterID) {
		return cityhub.Errorf(cityhub.ENOTFOUND, "showcase item %d not found", id)
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) decideShowcase(w http.ResponseWriter, r *http.Request, approve bool, reason string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.Store.DecideShowcaseItem(r.Context(), id, approve, reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) approveShowcase(w http.ResponseWriter, r *http.Request) error {
	return s.decideShowcase(w, r, true, "")
}

func (s *Server) rejectShowcase(w http.ResponseWriter, r *http.Request) error {
	var in reasonInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	return s.decideShowcase(w, r, false, in.Reason)
}
