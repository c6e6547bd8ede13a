package httpapi

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// MaxLoadUpload bounds a file uploaded over HTTP; larger files go through
// `cityhub load`, which streams from disk.
const MaxLoadUpload = 4 << 30

func (s *Server) loadRoutes() []route {
	return []route{
		{"POST", "/api/v1/catalog/entries/{id}/loads", signedIn, s.startLoad, operation{
			tag: "data", summary: "Load a file (CSV, TSV, XLSX, JSON, NDJSON) into the entry's table as a job; 202 with the job, " +
				"or 200 with the finished job when wait=true. The raw file is the body, or multipart field \"file\"",
			query: []param{{"mode", "string", "append, upsert or replace"}, {"block_on_errors", "boolean", "any rejected row refuses the load"},
				{"file", "string", "csv, tsv, xlsx, json or ndjson (else from Content-Type or file name)"},
				{"encoding", "string", "utf-8, gb18030 or gbk; detected when absent"}, {"sheet", "string", "XLSX sheet"},
				{"header_row", "integer", "1-based header row; detected when absent"},
				{"map", "string", "file column:item, repeatable, where names differ"}, {"wait", "boolean", "answer when the load is done"}},
			response: cityhub.LoadJob{}, status: 202}},
		{"GET", "/api/v1/catalog/entries/{id}/loads", signedIn, s.listLoads, operation{
			tag: "data", summary: "The entry's load jobs, newest first", response: listOf[cityhub.LoadJob]{}}},
		{"POST", "/api/v1/catalog/entries/{id}/rows", signedIn, s.pushRows, operation{
			tag: "data", summary: "Push rows from a department system: a JSON array of objects keyed by item name or code, upserted by primary key",
			query: []param{{"mode", "string", "upsert (default), append or replace"}}, response: cityhub.LoadJob{}}},
		{"GET", "/api/v1/loads/{id}", signedIn, s.getLoad, operation{
			tag: "data", summary: "A load job with its status and progress", response: cityhub.LoadJob{}}},
		{"GET", "/api/v1/loads/{id}/rejects", signedIn, s.loadRejects, operation{
			tag: "data", summary: "The rows a load rejected, with row number, column and reason (JSON, or CSV with file=csv)",
			query: []param{{"file", "string", "json (default) or csv"}}, response: listOf[cityhub.RowProblem]{}}},
	}
}

// dataEntry loads the {id} entry for writing rows: the caller must be one
// of its provider's stewards, and the entry must hold tabular data.
func (s *Server) dataEntry(r *http.Request) (*cityhub.CatalogEntry, error) {
	e, err := s.entryFor(r)
	if err != nil {
		return nil, err
	}
	if !caller(r).CanEditCatalog(e.ProviderID) {
		return nil, forbidden("load data into this entry (the provider's data stewards)")
	}
	if e.Format != cityhub.FormatSheet && e.Format != cityhub.FormatDatabase {
		return nil, cityhub.Errorf(cityhub.ECONFLICT, "rows are kept for 电子表格 and 数据库 entries; this one is %s", e.Format)
	}
	return e, nil
}

// checkMode refuses a load mode other than append, upsert or replace
// before anything is read or prepared.
func checkMode(mode string) error {
	switch mode {
	case cityhub.LoadAppend, cityhub.LoadUpsert, cityhub.LoadReplace:
		return nil
	}
	return invalid("mode", "append, upsert or replace")
}

func loadOptions(r *http.Request) (loader.Options, error) {
	qv := r.URL.Query()
	opts := loader.Options{Mode: qv.Get("mode"), Read: tabular.Options{Format: tabular.Format(qv.Get("file")),
		Encoding: qv.Get("encoding"), Sheet: qv.Get("sheet")}}
	if err := checkMode(opts.Mode); err != nil {
		return opts, err
	}
	if f := opts.Read.Format; f != "" && !slices.Contains(tabular.Formats, f) {
		return opts, invalid("file", "csv, tsv, xlsx, json or ndjson")
	}
	var err error
	if opts.BlockOnErrors, err = boolParam(r, "block_on_errors"); err != nil {
		return opts, err
	}
	if opts.Read.HeaderRow, err = queryInt(r, "header_row"); err != nil {
		return opts, err
	}
	for _, m := range qv["map"] {
		col, item, ok := strings.Cut(m, ":")
		if !ok || col == "" || item == "" {
			return opts, invalid("map", "file column:item")
		}
		if opts.Mapping == nil {
			opts.Mapping = map[string]string{}
		}
		opts.Mapping[col] = item
	}
	return opts, nil
}

// spool saves the upload to a file in the spool directory, so the load can
// go on after the request ends; it returns the file name the client gave.
func (s *Server) spool(w http.ResponseWriter, r *http.Request) (*os.File, string, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxLoadUpload)
	var body io.Reader = r.Body
	name, ct := "", r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt == "multipart/form-data" && r.MultipartForm != nil {
		// A caller parsed the form already (its files sit in memory or
		// temporary files).
		fhs := r.MultipartForm.File["file"]
		if len(fhs) == 0 {
			return nil, "", "", invalid("file", "send the file in the multipart field \"file\"")
		}
		part, err := fhs[0].Open()
		if err != nil {
			return nil, "", "", err
		}
		defer part.Close()
		body, name, ct = part, fhs[0].Filename, fhs[0].Header.Get("Content-Type")
	} else if mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", "", cityhub.Errorf(cityhub.EINVALID, "multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, "", "", invalid("file", "send the file in the multipart field \"file\"")
			}
			if part.FormName() == "file" {
				body, name, ct = part, part.FileName(), part.Header.Get("Content-Type")
				break
			}
		}
	}
	if err := os.MkdirAll(s.SpoolDir, 0o700); err != nil {
		return nil, "", "", err
	}
	f, err := os.CreateTemp(s.SpoolDir, "load-*")
	if err != nil {
		return nil, "", "", err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		os.Remove(f.Name())
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, "", "", cityhub.Errorf(cityhub.ETOOLARGE, "file over %d GiB; load it with `cityhub load`", MaxLoadUpload>>30)
		}
		return nil, "", "", cityhub.Errorf(cityhub.EINVALID, "reading the upload: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", "", err
	}
	return f, name, ct, nil
}

func (s *Server) startLoad(w http.ResponseWriter, r *http.Request) error {
	e, err := s.dataEntry(r)
	if err != nil {
		return err
	}
	opts, err := loadOptions(r)
	if err != nil {
		return err
	}
	wait, err := boolParam(r, "wait")
	if err != nil {
		return err
	}
	f, name, ct, err := s.spool(w, r)
	if err != nil {
		return err
	}
	st, _ := f.Stat()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	f.Seek(0, io.SeekStart)
	if opts.Read.Format == "" {
		if opts.Read.Format, err = tabular.DetectFormat(name, ct, head[:n]); err != nil {
			f.Close()
			os.Remove(f.Name())
			return invalid("file", err.Error())
		}
	}
	opts.Source = path.Base(name)
	if name == "" {
		opts.Source = "upload." + string(opts.Read.Format)
	}

	// The load outlives the request; its context is the server's. The
	// request answers 202 as soon as the job is registered (a copy of it:
	// the load goes on changing its own), or the error that kept it from
	// starting; with wait=true, when it is done.
	started := make(chan cityhub.LoadJob, 1)
	done := make(chan *cityhub.LoadJob, 1)
	failed := make(chan error, 1)
	ctx := cityhub.WithActor(s.background(), cityhub.ActorFrom(r.Context()))
	s.loads.Add(1)
	go func() {
		defer s.loads.Done()
		defer os.Remove(f.Name())
		defer f.Close()
		job, err := loader.Load(ctx, startSignal{s.Store, started}, e, f, st.Size(), opts)
		if err != nil {
			failed <- err
			return
		}
		done <- job
	}()
	if wait {
		select {
		case err := <-failed:
			return err
		case job := <-done:
			writeJSON(w, http.StatusOK, job)
			return nil
		}
	}
	select {
	case err := <-failed:
		return err
	case job := <-started:
		writeJSON(w, http.StatusAccepted, &job)
	}
	return nil
}

// startSignal passes a copy of the job to started once the store has
// registered it.
type startSignal struct {
	loader.Store
	started chan<- cityhub.LoadJob
}

func (s startSignal) StartLoad(ctx context.Context, job *cityhub.LoadJob) error {
	err := s.Store.StartLoad(ctx, job)
	if err == nil {
		select {
		case s.started <- *job:
		default:
		}
	}
	return err
}

// background is the context loads run in: cancelled when the server stops.
func (s *Server) background() context.Context {
	if s.Background != nil {
		return s.Background
	}
	return context.Background()
}

// WaitLoads blocks until every running load has recorded its outcome.
func (s *Server) WaitLoads() { s.loads.Wait() }

func (s *Server) pushRows(w http.ResponseWriter, r *http.Request) error {
	e, err := s.dataEntry(r)
	if err != nil {
		return err
	}
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = cityhub.LoadUpsert
	}
	if err := checkMode(mode); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<20)
	job, err := loader.Load(r.Context(), s.Store, e, r.Body, -1, loader.Options{Mode: mode, Source: "api",
		Read: tabular.Options{Format: tabular.JSON}})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if job.Status == cityhub.JobFailed {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, job)
	return nil
}

func (s *Server) listLoads(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	jobs, err := s.Store.LoadJobs(r.Context(), e.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.LoadJob]{Items: jobs, Total: len(jobs)})
	return nil
}

// jobFor loads the {id} job and its entry if the caller may see the entry.
func (s *Server) jobFor(r *http.Request) (*cityhub.LoadJob, *cityhub.CatalogEntry, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, nil, err
	}
	job, err := s.Store.LoadJob(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.Store.Entry(r.Context(), job.EntryID)
	if err != nil || !caller(r).CanSeeEntry(e) {
		return nil, nil, cityhub.Errorf(cityhub.ENOTFOUND, "load job %d not found", id)
	}
	return job, e, nil
}

func (s *Server) getLoad(w http.ResponseWriter, r *http.Request) error {
	job, _, err := s.jobFor(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) loadRejects(w http.ResponseWriter, r *http.Request) error {
	file := r.URL.Query().Get("file")
	if file != "" && file != "json" && file != "csv" {
		return invalid("file", "json or csv")
	}
	job, e, err := s.jobFor(r)
	if err != nil {
		return err
	}
	problems, err := s.Store.RejectedRows(r.Context(), job.ID)
	if err != nil {
		return err
	}
	// The values of rejected rows are data like any other: outside the
	// provider, secret items' values are left out and sensitive ones masked.
	if allowed, masks := RowScopeOf(caller(r), e); allowed != nil {
		for i, p := range problems {
			switch {
			case masks[p.Column] != "":
				problems[i].Value = cityhub.Mask(masks[p.Column], p.Value)
			case !slices.Contains(allowed, p.Column):
				problems[i].Value = ""
			}
		}
	}
	if file != "csv" {
		writeJSON(w, http.StatusOK, listOf[cityhub.RowProblem]{Items: problems, Total: len(problems)})
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", "attachment; filename=rejected-"+strconv.FormatInt(job.ID, 10)+".csv")
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"行号 row", "列 column", "值 value", "原因 reason"})
	for _, p := range problems {
		cw.Write([]string{strconv.Itoa(p.Line), cityhub.SpreadsheetSafe(p.Column), cityhub.SpreadsheetSafe(p.Value), cityhub.SpreadsheetSafe(p.Reason)})
	}
	cw.Flush()
	return cw.Error()
}
