package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxUpload bounds catalog files (departments' catalogs run to a few MB).
const MaxUpload = 64 << 20

func (s *Server) catalogSheetRoutes() []route {
	return []route{
		{"POST", "/api/v1/catalog/import", signedIn, s.importCatalog, operation{
			tag: "catalog", summary: "Import catalog entries from XLSX or CSV in the guideline's layout (the raw file as the body, " +
				"or multipart field \"file\"); every row is checked first, problems are reported by row and column",
			query: []param{{"file", "string", "xlsx or csv (else from Content-Type or file name)"},
				{"sheet", "string", "XLSX sheet name; default the first with a header"},
				{"skip_invalid", "boolean", "import the valid entries when some are invalid"},
				{"dry_run", "boolean", "check only, change nothing"},
				{"keep_status", "boolean", "take each entry's status from the file (platform administrators restoring a catalog)"}},
			response: catalogsheet.Report{}}},
		{"GET", "/api/v1/catalog/export", signedIn, s.exportCatalog, operation{
			tag: "catalog", summary: "Export the entries matching the search parameters of /api/v1/catalog/entries as XLSX or CSV",
			query: []param{{"file", "string", "xlsx (default) or csv"}, {"bom", "boolean", "CSV: start with a UTF-8 BOM for Excel"},
				{"q", "string", "as in the search"}, {"status", "string", "as in the search"}}}},
	}
}

func boolParam(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, invalid(name, "true or false")
}

// uploadedFile returns the catalog file of the request and its format.
func uploadedFile(r *http.Request) (io.Reader, string, error) {
	format := r.URL.Query().Get("file")
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body io.Reader = r.Body
	name := ""
	if ct == "multipart/form-data" {
		if params["boundary"] == "" {
			return nil, "", cityhub.Errorf(cityhub.EINVALID, "multipart body without a boundary")
		}
		f, h, err := r.FormFile("file")
		if err != nil {
			return nil, "", invalid("file", "send the catalog file in the multipart field \"file\"")
		}
		body, name, ct = f, h.Filename, h.Header.Get("Content-Type")
	}
	if format == "" {
		switch {
		case ct == xlsxType || strings.EqualFold(path.Ext(name), ".xlsx"):
			format = catalogsheet.XLSX
		case ct == "text/csv" || strings.EqualFold(path.Ext(name), ".csv"):
			format = catalogsheet.CSV
		}
	}
	if format != catalogsheet.XLSX && format != catalogsheet.CSV {
		return nil, "", invalid("file", "xlsx or csv (or send Content-Type "+xlsxType+" or text/csv)")
	}
	return body, format, nil
}

func (s *Server) importCatalog(w http.ResponseWriter, r *http.Request) error {
	u := caller(r)
	if !u.HasRole(cityhub.RoleSteward) && !u.HasRole(cityhub.RolePlatformAdmin) {
		return forbidden("import catalog entries (data stewards only)")
	}
	opts := cityhub.ImportOptions{CanEdit: u.CanEditCatalog}
	var err error
	if opts.SkipInvalid, err = boolParam(r, "skip_invalid"); err != nil {
		return err
	}
	if opts.DryRun, err = boolParam(r, "dry_run"); err != nil {
		return err
	}
	if opts.KeepStatus, err = boolParam(r, "keep_status"); err != nil {
		return err
	}
	if opts.KeepStatus && !u.CanReviewCatalog() {
		return forbidden("keep statuses from a file (platform administrators restoring a catalog)")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUpload)
	body, format, err := uploadedFile(r)
	if err != nil {
		return err
	}
	// Read it whole first, so an oversized upload is a clear 413.
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return cityhub.Errorf(cityhub.ETOOLARGE, "catalog file over %d MiB", MaxUpload>>20)
		}
		return cityhub.Errorf(cityhub.EINVALID, "reading the upload: %v", err)
	}
	rep, err := catalogsheet.Import(r.Context(), s.Store, bytes.NewReader(data), format, r.URL.Query().Get("sheet"), opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) exportCatalog(w http.ResponseWriter, r *http.Request) error {
	cq, err := CatalogQueryFromRequest(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("file")
	if format == "" {
		format = catalogsheet.XLSX
	}
	if format != catalogsheet.XLSX && format != catalogsheet.CSV {
		return invalid("file", "xlsx or csv")
	}
	bom, err := boolParam(r, "bom")
	if err != nil {
		return err
	}
	entries, err := cityhub.AllEntries(r.Context(), s.searcher(), cq, nil)
	if err != nil {
		return err
	}
	rec := cityhub.NewAuditRecord(r.Context(), "catalog.export", "catalog", cityhub.OutcomeSuccess,
		fmt.Sprintf(`{"entries":%d,"query":%q}`, len(entries), r.URL.RawQuery))
	if err := s.Store.AppendAudit(r.Context(), rec); err != nil {
		return err
	}
	name := "catalog-" + time.Now().Format("20060102") + "." + format
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	if format == catalogsheet.CSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		return catalogsheet.WriteCSV(w, entries, bom)
	}
	w.Header().Set("Content-Type", xlsxType)
	return catalogsheet.WriteXLSX(w, entries, catalogsheet.WriteOptions{})
}
