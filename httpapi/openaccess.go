package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/openaccess"
)

// Open access: self-registration of public (portal) accounts, their API
// keys, and the public statistics of the open data.
//
// A public account signs in like everyone else (POST /api/v1/auth/login,
// or the session registration returns) and may then use its own account
// (/api/v1/me…) and API keys, and the open-data API; every staff endpoint
// answers it 403.

// DefaultRegisterRate limits self-registrations per client address.
var DefaultRegisterRate = openaccess.Rate{Limit: 20, Per: time.Hour}

var errPublicAccount = cityhub.Errorf(cityhub.EFORBIDDEN,
	"a public account uses only its own account, its API keys and the open-data API")

func (s *Server) openAccessRoutes() []route {
	return []route{
		{"POST", "/api/v1/public/register", public, s.register, operation{
			tag: "open access", summary: "Register a public account (citizen or developer) and sign it in; limited per client address",
			body: registerRequest{}, response: loginResponse{}, status: 201}},
		{"GET", "/api/v1/me/api-keys", account, s.listAPIKeys, operation{
			tag: "open access", summary: "The public account's API keys, revoked ones too, with their use",
			response: listOf[cityhub.APIKey]{}}},
		{"POST", "/api/v1/me/api-keys", account, s.createAPIKey, operation{
			tag: "open access", summary: "Create an API key for the open-data API (X-API-Key or Authorization); the key is shown only in this response",
			body: apiKeyInput{}, response: apiKeyCreated{}, status: 201}},
		{"DELETE", "/api/v1/me/api-keys/{id}", account, s.revokeAPIKey, operation{
			tag: "open access", summary: "Revoke one of the account's API keys", status: 204}},
		{"GET", "/api/v1/open/stats", open, s.openStats, operation{
			tag: "open access", summary: "Open-data statistics: open rate per domain against the plan's target, daily use, most used datasets",
			query: []param{{"days", "integer", "days of daily use, 1 to 366, default 30"},
				{"limit", "integer", "most used datasets, 1 to 50, default 10"}},
			response: openStats{}}},
	}
}

type registerRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

// register creates a public account and signs it in. Attempts are limited
// per client address (each costs a password hash); the account is audited
// as user.create by "public-registration".
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	actor := cityhub.ActorFrom(r.Context())
	if err := s.allowRegistration(actor.ClientAddr); err != nil {
		return err
	}
	var req registerRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	u := &cityhub.User{Username: req.Username, DisplayName: req.DisplayName, Email: req.Email, Roles: []string{cityhub.RolePublic}}
	f := cityhub.FieldErrors{}
	if err := u.Validate(); err != nil {
		mergeFieldErrors(f, err)
	}
	if u.Email == "" {
		f.Add("email", "required")
	}
	if err := cityhub.ValidatePassword(req.Password); err != nil {
		mergeFieldErrors(f, err)
	}
	if err := f.Err("invalid registration"); err != nil {
		return err
	}
	ctx := cityhub.WithActor(r.Context(), cityhub.Actor{Username: "public-registration",
		ClientAddr: actor.ClientAddr, RequestID: actor.RequestID})
	if err := s.Store.CreateUser(ctx, u, s.Auth.Hash(req.Password)); err != nil {
		return err
	}
	u, t, secret, err := s.Auth.Login(r.Context(), u.Username, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, loginResponse{Token: secret, ExpiresAt: t.ExpiresAt, User: u})
	return nil
}

func (s *Server) allowRegistration(addr string) error {
	reg := &s.registrations
	reg.once.Do(func() { reg.buckets = openaccess.NewBuckets(10_000, nil) })
	rate := s.RegisterRate
	if rate.Limit <= 0 {
		rate = DefaultRegisterRate
	}
	d := reg.buckets.Take(addr, rate)
	if d.Allowed {
		return nil
	}
	secs := strconv.Itoa(int(d.RetryAfter / time.Second))
	return &cityhub.Error{Code: cityhub.ELOCKED, Message: "too many registrations from this address; try again in " + secs + " s",
		Fields: map[string]string{"retry_after": secs}}
}

// mergeFieldErrors adds err's field reasons to f (the first per field).
func mergeFieldErrors(f cityhub.FieldErrors, err error) {
	var e *cityhub.Error
	if errors.As(err, &e) {
		for k, v := range e.Fields {
			f.Add(k, v)
		}
	}
}

// publicCaller is the signed-in public account; API keys are theirs alone
// (staff use personal tokens).
func publicCaller(r *http.Request) (*cityhub.User, error) {
	u, _ := cityhub.UserFrom(r.Context())
	if !u.HasRole(cityhub.RolePublic) {
		return nil, cityhub.Errorf(cityhub.EFORBIDDEN, "API keys belong to public accounts; staff use personal tokens (/api/v1/tokens)")
	}
	return u, nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	u, err := publicCaller(r)
	if err != nil {
		return err
	}
	ks, err := s.Store.APIKeys(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.APIKey]{Items: nonNil(ks), Total: len(ks)})
	return nil
}

type apiKeyInput struct {
	Name string `json:"name"`
}

type apiKeyCreated struct {
	Key *cityhub.APIKey `json:"key"`
	// Secret is the key itself: send it as X-API-Key (or Authorization).
	// It is not shown again.
	Secret string `json:"secret"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in apiKeyInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	u, err := publicCaller(r)
	if err != nil {
		return err
	}
	secret, hash := cityhub.NewAPIKeySecret()
	k := &cityhub.APIKey{UserID: u.ID, Name: in.Name, Prefix: secret[:cityhub.APIKeyPrefixLen]}
	if err := s.Store.CreateAPIKey(r.Context(), k, hash); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyCreated{Key: k, Secret: secret})
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	u, err := publicCaller(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	k, err := s.Store.APIKey(r.Context(), id)
	if err != nil {
		return err
	}
	if k.UserID != u.ID {
		return cityhub.Errorf(cityhub.ENOTFOUND, "API key %d not found", id)
	}
	if err := s.Store.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	if s.Limiter != nil {
		s.Limiter.ForgetAPIKey(id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// openStats is the public statistics of the open data.
type openStats struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Target is the plan's open rate per key domain, as a fraction.
	Target float64 `json:"target"`
	// Open is the number of published open entries (unconditionally or on
	// conditions); Openable those that may be opened; OpenRate the first
	// over the second.
	Open     int           `json:"open"`
	Openable int           `json:"openable"`
	OpenRate float64       `json:"open_rate"`
	Domains  []openDomain  `json:"domains"`
	Usage    openUsage     `json:"usage"`
	MostUsed []usedDataset `json:"most_used"`
}

type openDomain struct {
	cityhub.DomainRate
	MeetsTarget bool `json:"meets_target"` // nothing openable counts as met
}

type openUsage struct {
	From  string             `json:"from"` // first day, CCYY-MM-DD
	To    string             `json:"to"`   // last day (today)
	Total cityhub.UsageCount `json:"total"`
	Days  []cityhub.UsageDay `json:"days"`
}

type usedDataset struct {
	cityhub.UsageCount
	Name        string `json:"name"`
	PackageName string `json:"package_name"` // its name on the portal and in the CKAN API
	PackageID   string `json:"package_id"`
	Provider    string `json:"provider"`
	Domain      string `json:"domain,omitempty"`
}

func (s *Server) usage() cityhub.UsageReader {
	if s.Usage != nil {
		return s.Usage
	}
	return s.Store
}

func (s *Server) openStats(w http.ResponseWriter, r *http.Request) error {
	days, err := queryInt(r, "days")
	if err != nil {
		return err
	}
	if days == 0 {
		days = 30
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 10
	}
	if days > 366 {
		return invalid("days", "at most 366")
	}
	if limit > 50 {
		return invalid("limit", "at most 50")
	}
	ctx := r.Context()
	now := time.Now()
	st, err := s.Store.CatalogStats(ctx, s.Policy.StatsQuery(0, now))
	if err != nil {
		return err
	}
	target := s.Policy.Target()
	out := openStats{GeneratedAt: now.UTC(), Target: target, Domains: []openDomain{}, MostUsed: []usedDataset{}}
	for _, d := range st.Departments {
		out.Open += d.PublishedOpen
		out.Openable += d.Openable
	}
	if out.Openable > 0 {
		out.OpenRate = float64(out.Open) / float64(out.Openable)
	}
	for _, d := range st.Domains {
		out.Domains = append(out.Domains, openDomain{DomainRate: d, MeetsTarget: d.Openable == 0 || d.Rate >= target})
	}

	from := now.AddDate(0, 0, -(days - 1))
	daily, err := s.usage().DailyUsage(ctx, 0, from, now)
	if err != nil {
		return err
	}
	out.Usage = openUsage{Days: nonNil(daily)}
	if len(daily) > 0 {
		out.Usage.From, out.Usage.To = daily[0].Day, daily[len(daily)-1].Day
	}
	for _, d := range daily {
		out.Usage.Total.Views += d.Views
		out.Usage.Total.Downloads += d.Downloads
		out.Usage.Total.APICalls += d.APICalls
	}

	// Datasets no longer public drop out of the ranking; ask for a few more.
	most, err := s.usage().MostUsed(ctx, from, limit+10)
	if err != nil {
		return err
	}
	for _, c := range most {
		if len(out.MostUsed) == limit {
			break
		}
		e, err := s.Store.Entry(ctx, c.EntryID)
		if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if !e.PublicMetadata() {
			continue
		}
		out.MostUsed = append(out.MostUsed, usedDataset{UsageCount: c, Name: e.Name, PackageName: e.PackageName(),
			PackageID: cityhub.PackageID(e.ID), Provider: e.ProviderName, Domain: e.Domain})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, out)
	return nil
}
