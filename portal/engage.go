package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Engagement pages: applications for 有条件开放 data, ratings and comments
// on a dataset's page, dataset requests (数据需求) and the showcase
// (成果展示). The store applies the rules to the signed-in actor.

type applyData struct {
	E       *cityhub.CatalogEntry
	Current *cityhub.AccessApplication // the open (pending or granting) application, if any
	Past    []*cityhub.AccessApplication
	Form    formState
}

func (p *Portal) applyEntry(r *http.Request) (*cityhub.CatalogEntry, error) {
	e, _, err := p.publicEntry(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (p *Portal) applyForm(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	e, err := p.applyEntry(r)
	if err != nil {
		return err
	}
	if !e.AcceptsApplications() { // 无条件开放 needs no application
		http.Redirect(w, r, datasetPath(e), http.StatusSeeOther)
		return nil
	}
	if done, err := p.requireAccount(w, r, pg, datasetPath(e)+"/apply"); done || err != nil {
		return err
	}
	return p.renderApply(w, r, pg, http.StatusOK, &applyData{E: e, Form: newForm()})
}

func (p *Portal) renderApply(w http.ResponseWriter, r *http.Request, pg *page, status int, d *applyData) error {
	if pg.isPublic() {
		apps, _, err := p.acc.AccessApplications(r.Context(), cityhub.ApplicationFilter{Scope: cityhub.CatalogScope{All: true},
			UserID: pg.User.ID, EntryID: d.E.ID, Limit: 20})
		if err != nil {
			return err
		}
		now := time.Now()
		for _, a := range apps {
			if d.Current == nil && a.Open(now) {
				d.Current = a
				continue
			}
			d.Past = append(d.Past, a)
		}
	}
	pg.Title, pg.Nav, pg.Data = pg.T("apply.title")+" · "+d.E.Name, "datasets", d
	return p.render(w, r, pg, status, "apply")
}

func (p *Portal) apply(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	e, err := p.applyEntry(r)
	if err != nil {
		return err
	}
	if done, err := p.requireAccount(w, r, pg, datasetPath(e)+"/apply"); done || err != nil {
		return err
	}
	d := &applyData{E: e, Form: newForm()}
	a := &cityhub.AccessApplication{EntryID: e.ID, Purpose: r.PostFormValue("purpose"),
		IntendedUse: r.PostFormValue("intended_use"), Organization: r.PostFormValue("organization")}
	d.Form.Values = map[string]string{"purpose": a.Purpose, "intended_use": a.IntendedUse, "organization": a.Organization}
	if err := p.acc.CreateAccessApplication(r.Context(), a); err != nil {
		if e := d.Form.invalid(pg, err); e != nil {
			return e
		}
		return p.renderApply(w, r, pg, http.StatusBadRequest, d)
	}
	http.Redirect(w, r, datasetPath(e)+"/apply?sent=1", http.StatusSeeOther)
	return nil
}

// Sent tells the apply page it follows a successful application.
func (pg *page) Sent() bool { return pg.url != nil && pg.url.Query().Get("sent") == "1" }

// ----- ratings and comments -----

type feedbackData struct {
	Rating   *cityhub.RatingSummary
	Mine     int // the signed-in public user's stars
	Comments []*cityhub.Comment
	Total    int
	Action   string // the dataset's path
}

// shownComments is how many comments a dataset's page lists.
const shownComments = 50

// feedback reads a dataset's ratings and comments for its page.
func (p *Portal) feedback(ctx context.Context, pg *page, e *cityhub.CatalogEntry) (*feedbackData, error) {
	if p.acc == nil {
		return nil, nil
	}
	f := &feedbackData{Action: datasetPath(e)}
	sums, err := p.acc.RatingSummaries(ctx, []int64{e.ID})
	if err != nil {
		return nil, err
	}
	f.Rating = sums[e.ID]
	if f.Rating == nil {
		f.Rating = &cityhub.RatingSummary{EntryID: e.ID}
	}
	if f.Comments, f.Total, err = p.acc.Comments(ctx, cityhub.CommentFilter{EntryID: e.ID, Limit: shownComments}); err != nil {
		return nil, err
	}
	if pg.isPublic() {
		if f.Mine, err = p.acc.UserRating(ctx, e.ID, pg.User.ID); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Average shows a rating average with one decimal.
func (pg *page) Average(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Stars draws a rating.
func (pg *page) Stars(n int) string { return strings.Repeat("★", max(0, min(n, 5))) }

// StarOptions are the choices of a rating, 5 first.
func (pg *page) StarOptions(mine int) []option {
	var out []option
	for n := 5; n >= 1; n-- {
		out = append(out, option{strconv.Itoa(n), strings.Repeat("★", n), n == mine})
	}
	return out
}

func (p *Portal) rate(w http.ResponseWriter, r *http.Request, pg *page) error {
	e, err := p.applyEntry(r)
	if err != nil {
		return err
	}
	if done, err := p.requireAccount(w, r, pg, datasetPath(e)+"#feedback"); done || err != nil {
		return err
	}
	stars, err := strconv.Atoi(r.PostFormValue("stars"))
	if err != nil {
		return cityhub.Errorf(cityhub.EINVALID, "stars")
	}
	if _, err := p.acc.RateEntry(r.Context(), e.ID, stars); err != nil {
		return err
	}
	http.Redirect(w, r, datasetPath(e)+"#feedback", http.StatusSeeOther)
	return nil
}

func (p *Portal) comment(w http.ResponseWriter, r *http.Request, pg *page) error {
	e, err := p.applyEntry(r)
	if err != nil {
		return err
	}
	if done, err := p.requireAccount(w, r, pg, datasetPath(e)+"#feedback"); done || err != nil {
		return err
	}
	c := &cityhub.Comment{EntryID: e.ID, Body: r.PostFormValue("body")}
	if err := p.acc.CreateComment(r.Context(), c); err != nil {
		return err
	}
	http.Redirect(w, r, datasetPath(e)+"#comment-"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
	return nil
}

// ----- dataset requests -----

type requestsData struct {
	Items   []*cityhub.DataRequest
	Total   int
	Pager   pager
	Domains []option
	Form    formState
}

// requestsPage is how many requests a page lists.
const requestsPage = 20

func (p *Portal) requests(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	return p.renderRequests(w, r, pg, http.StatusOK, &requestsData{Form: newForm()})
}

func (p *Portal) renderRequests(w http.ResponseWriter, r *http.Request, pg *page, status int, d *requestsData) error {
	ctx := r.Context()
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	if d.Items, d.Total, err = p.acc.DataRequests(ctx, cityhub.DataRequestFilter{Limit: requestsPage, Offset: (n - 1) * requestsPage}); err != nil {
		return err
	}
	pages := max(1, (d.Total+requestsPage-1)/requestsPage)
	d.Pager = pager{Page: n, Pages: pages}
	if n > 1 {
		d.Pager.Prev = "/open/requests?page=" + strconv.Itoa(n-1)
	}
	if n < pages {
		d.Pager.Next = "/open/requests?page=" + strconv.Itoa(n+1)
	}
	dir, err := p.directory(ctx)
	if err != nil {
		return err
	}
	pg.dir = dir
	domains, err := p.Store.Domains(ctx)
	if err != nil {
		return err
	}
	d.Domains = append(d.Domains, option{"", pg.T("requests.any_domain"), d.Form.Values["domain"] == ""})
	for _, dm := range domains {
		d.Domains = append(d.Domains, option{dm.Code, domainLabel(dm, pg.Lang), d.Form.Values["domain"] == dm.Code})
	}
	pg.Title, pg.Nav, pg.Data = pg.T("requests.title"), "requests", d
	return p.render(w, r, pg, status, "requests")
}

func (p *Portal) createRequest(w http.ResponseWriter, r *http.Request, pg *page) error {
	if done, err := p.requireAccount(w, r, pg, "/open/requests#request-form"); done || err != nil {
		return err
	}
	d := &requestsData{Form: newForm()}
	req := &cityhub.DataRequest{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Domain: r.PostFormValue("domain")}
	d.Form.Values = map[string]string{"title": req.Title, "description": req.Description, "domain": req.Domain}
	if err := p.acc.CreateDataRequest(r.Context(), req); err != nil {
		if e := d.Form.invalid(pg, err); e != nil {
			return e
		}
		return p.renderRequests(w, r, pg, http.StatusBadRequest, d)
	}
	http.Redirect(w, r, "/open/requests#request-"+strconv.FormatInt(req.ID, 10), http.StatusSeeOther)
	return nil
}

// ----- showcase -----

type showcaseData struct {
	Items []*cityhub.ShowcaseItem
	Total int
	Form  formState
}

func (p *Portal) showcase(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	return p.renderShowcase(w, r, pg, http.StatusOK, &showcaseData{Form: newForm()})
}

func (p *Portal) renderShowcase(w http.ResponseWriter, r *http.Request, pg *page, status int, d *showcaseData) error {
	var err error
	if d.Items, d.Total, err = p.acc.ShowcaseItems(r.Context(), cityhub.ShowcaseFilter{Status: cityhub.ShowcaseApproved, Limit: 100}); err != nil {
		return err
	}
	pg.Title, pg.Nav, pg.Data = pg.T("showcase.title"), "showcase", d
	return p.render(w, r, pg, status, "showcase")
}

// datasetRef finds a dataset's package name in what a user typed: the
// name, or a portal address holding it.
var datasetRef = regexp.MustCompile(`\d{1,20}-\d{1,10}`)

func (p *Portal) submitShowcase(w http.ResponseWriter, r *http.Request, pg *page) error {
	if done, err := p.requireAccount(w, r, pg, "/open/showcase#showcase-form"); done || err != nil {
		return err
	}
	d := &showcaseData{Form: newForm()}
	it := &cityhub.ShowcaseItem{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		URL: r.PostFormValue("url")}
	datasets := r.PostFormValue("datasets")
	d.Form.Values = map[string]string{"title": it.Title, "description": it.Description, "url": it.URL, "datasets": datasets}
	for _, f := range strings.FieldsFunc(datasets, func(c rune) bool { return c == ',' || c == '，' || c == '\n' || c == ' ' || c == '\r' }) {
		name := datasetRef.FindString(f)
		e, _, err := p.publicEntry(r.Context(), name)
		if cityhub.ErrorCode(err) == cityhub.ENOTFOUND || name == "" {
			d.Form.Error = pg.T("form.invalid")
			d.Form.Fields["entry_ids"] = pg.Tf("showcase.unknown", f)
			return p.renderShowcase(w, r, pg, http.StatusBadRequest, d)
		}
		if err != nil {
			return err
		}
		it.EntryIDs = append(it.EntryIDs, e.ID)
	}
	if err := p.acc.CreateShowcaseItem(r.Context(), it); err != nil {
		if e := d.Form.invalid(pg, err); e != nil {
			return e
		}
		return p.renderShowcase(w, r, pg, http.StatusBadRequest, d)
	}
	http.Redirect(w, r, "/open/account#showcase", http.StatusSeeOther)
	return nil
}

// ExternalURL is a showcase link, checked again before it becomes an href.
func (pg *page) ExternalURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "#"
	}
	return u.String()
}
