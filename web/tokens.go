package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// defaultTokenDays is the lifetime the create form suggests.
const defaultTokenDays = 90

type tokenForm struct {
	Name   string
	Scopes []string
	Days   string
}

// Has reports whether scope is ticked.
func (f tokenForm) Has(scope string) bool { return slices.Contains(f.Scopes, scope) }

type tokenRow struct {
	*cityhub.Token
	Live bool
}

type tokensData struct {
	Tokens    []tokenRow
	Secret    string // the new token's secret, shown this once
	CanCreate bool
	Form      tokenForm
}

func (c *Console) tokens(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.renderTokens(w, r, p, http.StatusOK, "",
		tokenForm{Scopes: []string{cityhub.ScopeRead}, Days: strconv.Itoa(defaultTokenDays)})
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, p *page, status int, secret string, form tokenForm) error {
	u, current := cityhub.UserFrom(r.Context())
	ts, err := c.Store.Tokens(r.Context(), u.ID, cityhub.TokenPersonal)
	if err != nil {
		return err
	}
	now := c.now()
	d := tokensData{Secret: secret, Form: form, CanCreate: current == nil || current.Kind != cityhub.TokenPersonal}
	for _, t := range ts {
		d.Tokens = append(d.Tokens, tokenRow{Token: t, Live: t.Active(now)})
	}
	p.Title, p.Nav, p.Data = p.T("tokens.title"), "tokens", d
	return c.render(w, r, p, status, "tokens")
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, p *page) error {
	u, current := cityhub.UserFrom(r.Context())
	if current != nil && current.Kind == cityhub.TokenPersonal {
		return forbidden("create tokens with a token; sign in with your password")
	}
	if err := r.ParseForm(); err != nil {
		return cityhub.Errorf(cityhub.EINVALID, "unreadable form")
	}
	form := tokenForm{Name: r.PostFormValue("name"), Scopes: r.PostForm["scopes"], Days: strings.TrimSpace(r.PostFormValue("days"))}
	now := c.now()
	t := &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenPersonal, Name: form.Name, Scopes: slices.Clone(form.Scopes)}
	fe := cityhub.FieldErrors{}
	days := defaultTokenDays
	if form.Days != "" {
		n, err := strconv.Atoi(form.Days)
		if err != nil || n < 1 || n > 366 {
			fe.Add("expires_at", "1 to 366 days")
		} else {
			days = n
		}
	}
	t.ExpiresAt = now.AddDate(0, 0, days)
	mergeFields(fe, t.Validate(now))
	err := fe.Err("invalid token")
	var secret string
	if err == nil {
		var hash string
		secret, hash = cityhub.NewSecret()
		t.Hint = secret[:8]
		err = c.Store.CreateToken(r.Context(), t, hash)
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderTokens(w, r, p, status, "", form)
		}
		return err
	}
	p.Flash = p.T("done.token_created")
	// The secret is in this response only; the store keeps its hash.
	return c.renderTokens(w, r, p, http.StatusOK, secret,
		tokenForm{Scopes: []string{cityhub.ScopeRead}, Days: strconv.Itoa(defaultTokenDays)})
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := c.Store.Token(r.Context(), id)
	if err != nil {
		return err
	}
	if t.UserID != p.User.ID || t.Kind != cityhub.TokenPersonal {
		return cityhub.Errorf(cityhub.ENOTFOUND, "token %d not found", id)
	}
	if t.RevokedAt == nil {
		if err := c.Store.RevokeToken(r.Context(), id); err != nil {
			return err
		}
	}
	return redirect(w, r, "/tokens", "token_revoked")
}
