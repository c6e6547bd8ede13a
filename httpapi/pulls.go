package httpapi

import (
	"net/http"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
)

func (s *Server) pullRoutes() []route {
	return []route{
		{"GET", "/api/v1/catalog/entries/{id}/pull", signedIn, s.getPull, operation{
			tag: "data", summary: "The entry's scheduled pull, if any", response: cityhub.Pull{}}},
		{"PUT", "/api/v1/catalog/entries/{id}/pull", signedIn, s.setPull, operation{
			tag: "data", summary: "Fetch a CSV or JSON URL on the entry's update cycle and load it (the provider's stewards)",
			body: pullInput{}, response: cityhub.Pull{}}},
		{"POST", "/api/v1/catalog/entries/{id}/pull/run", signedIn, s.runPull, operation{
			tag: "data", summary: "Run the entry's pull now and answer with its load job", response: cityhub.LoadJob{}}},
	}
}

type pullInput struct {
	URL     string `json:"url"`
	Format  string `json:"format"`
	Mode    string `json:"mode"`
	Enabled bool   `json:"enabled"`
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	p, err := s.Store.Pull(r.Context(), e.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) setPull(w http.ResponseWriter, r *http.Request) error {
	e, err := s.dataEntry(r)
	if err != nil {
		return err
	}
	var in pullInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	p := &cityhub.Pull{EntryID: e.ID, URL: in.URL, Format: in.Format, Mode: in.Mode, Enabled: in.Enabled}
	if err := s.Store.SetPull(r.Context(), p); err != nil {
		return err
	}
	p, err = s.Store.Pull(r.Context(), e.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) runPull(w http.ResponseWriter, r *http.Request) error {
	e, err := s.dataEntry(r)
	if err != nil {
		return err
	}
	p, err := s.Store.Pull(r.Context(), e.ID)
	if err != nil {
		return err
	}
	job, err := loader.RunPull(r.Context(), s.Store, s.pullClient(), p)
	if err != nil {
		return cityhub.Errorf(cityhub.EUNAVAILABLE, "the pull failed: %v", err)
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

// pullClient fetches department URLs; PullClient overrides it (tests).
func (s *Server) pullClient() *http.Client {
	if s.PullClient != nil {
		return s.PullClient
	}
	return &http.Client{Timeout: 30 * time.Minute}
}
