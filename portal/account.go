package portal

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/cityhub/cityhub"
)

// The account page: the public account's API keys, applications for
// 有条件开放 data, dataset requests and showcase submissions.

type accountData struct {
	Keys      []*cityhub.APIKey
	NewKey    *cityhub.APIKey
	NewSecret string // the key just created: shown this once
	Apps      []*cityhub.AccessApplication
	Requests  []*cityhub.DataRequest
	Showcase  []*cityhub.ShowcaseItem
	Form      formState
}

// accountLists is how many of each list the account page shows.
const accountLists = 100

func (p *Portal) account(w http.ResponseWriter, r *http.Request, pg *page) error {
	if done, err := p.requireAccount(w, r, pg, "/open/account"); done || err != nil {
		return err
	}
	return p.renderAccount(w, r, pg, http.StatusOK, &accountData{Form: newForm()})
}

func (p *Portal) renderAccount(w http.ResponseWriter, r *http.Request, pg *page, status int, d *accountData) error {
	pg.Title, pg.Nav, pg.Data = pg.T("account.title"), "account", d
	if !pg.isPublic() { // staff: a note, and the way to the console
		return p.render(w, r, pg, status, "account")
	}
	ctx := r.Context()
	uid := pg.User.ID
	var err error
	if d.Keys, err = p.acc.APIKeys(ctx, uid); err != nil {
		return err
	}
	if d.Apps, _, err = p.acc.AccessApplications(ctx, cityhub.ApplicationFilter{Scope: cityhub.CatalogScope{All: true},
		UserID: uid, Limit: accountLists}); err != nil {
		return err
	}
	if d.Requests, _, err = p.acc.DataRequests(ctx, cityhub.DataRequestFilter{UserID: uid, Limit: accountLists}); err != nil {
		return err
	}
	if d.Showcase, _, err = p.acc.ShowcaseItems(ctx, cityhub.ShowcaseFilter{SubmitterID: uid, Limit: accountLists}); err != nil {
		return err
	}
	return p.render(w, r, pg, status, "account")
}

func (p *Portal) createKey(w http.ResponseWriter, r *http.Request, pg *page) error {
	if done, err := p.requireAccount(w, r, pg, "/open/account"); done || err != nil {
		return err
	}
	if !pg.isPublic() {
		return cityhub.Errorf(cityhub.EFORBIDDEN, "API keys belong to public accounts")
	}
	d := &accountData{Form: newForm()}
	name := r.PostFormValue("name")
	d.Form.Values["name"] = name
	secret, hash := cityhub.NewAPIKeySecret()
	k := &cityhub.APIKey{UserID: pg.User.ID, Name: name, Prefix: secret[:cityhub.APIKeyPrefixLen]}
	if err := p.acc.CreateAPIKey(r.Context(), k, hash); err != nil {
		if e := d.Form.invalid(pg, err); e != nil {
			return e
		}
		return p.renderAccount(w, r, pg, http.StatusBadRequest, d)
	}
	d.NewKey, d.NewSecret = k, secret
	d.Form = newForm()
	return p.renderAccount(w, r, pg, http.StatusCreated, d)
}

func (p *Portal) revokeKey(w http.ResponseWriter, r *http.Request, pg *page) error {
	if done, err := p.requireAccount(w, r, pg, "/open/account"); done || err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 || !pg.isPublic() {
		return notFound()
	}
	k, err := p.acc.APIKey(r.Context(), id)
	if err != nil {
		return err
	}
	if k.UserID != pg.User.ID {
		return notFound()
	}
	if err := p.acc.RevokeAPIKey(r.Context(), id); err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		return err
	}
	if p.Keys != nil {
		p.Keys.ForgetAPIKey(id)
	}
	http.Redirect(w, r, "/open/account#keys", http.StatusSeeOther)
	return nil
}

// AppStatus names an application's status in the page's language.
func (pg *page) AppStatus(s string) string { return pg.termOf(cityhub.ApplicationStatuses, s) }

// RequestStatus names a data request's status.
func (pg *page) RequestStatus(s string) string { return pg.termOf(cityhub.RequestStatuses, s) }

// ShowcaseStatus names a showcase item's status.
func (pg *page) ShowcaseStatus(s string) string { return pg.termOf(cityhub.ShowcaseStatuses, s) }

func (pg *page) termOf(terms []cityhub.Term, code string) string {
	for _, t := range terms {
		if t.Code == code {
			if pg.Lang == "en" {
				return t.EN
			}
			return t.ZH
		}
	}
	return code
}

// PackagePath is the portal address of a package name.
func (pg *page) PackagePath(name string) string { return "/open/dataset/" + url.PathEscape(name) }
