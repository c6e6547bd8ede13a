package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
	"github.com/cityhub/cityhub/httpapi"
)

// Catalog files: import from XLSX or CSV (checked first, problems by row
// and column), export of a search's results, and the blank template. The
// rules are the API's (httpapi/catalog_sheet.go): data stewards and
// platform administrators import, each row only for providers they may
// edit; only reviewers keep statuses from the file.

// maxUploadBytes bounds a catalog file, as the API does.
const maxUploadBytes = httpapi.MaxUpload

// uploadBodyBytes bounds the import form's body: the file and a little for
// the other fields and the multipart framing.
const uploadBodyBytes = maxUploadBytes + 1<<20

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// canImport: as the API, data stewards and platform administrators.
func canImport(u *cityhub.User) bool {
	return u.HasRole(cityhub.RoleSteward) || u.HasRole(cityhub.RolePlatformAdmin)
}

type importData struct {
	catalogTab
	Sheet         string
	SkipInvalid   bool
	KeepStatus    bool
	CanKeepStatus bool
	MaxMiB        int
	MaxBytes      int64
	Report        *importReport
}

// importReport is catalogsheet.Report as the page shows it.
type importReport struct {
	*catalogsheet.Report
	FileName    string
	Kind        string // ok, partial or none: how the message looks
	Message     string
	Problems    []problemRow
	SkippedList string // first rows of the skipped entries, when only some were
}

type problemRow struct {
	Row, Column, Reason string
}

func (c *Console) importForm(w http.ResponseWriter, r *http.Request, p *page) error {
	if !canImport(p.User) {
		return forbidden("import catalog entries (data stewards only)")
	}
	return c.renderImport(w, r, p, http.StatusOK, importData{})
}

func (c *Console) renderImport(w http.ResponseWriter, r *http.Request, p *page, status int, d importData) error {
	d.catalogTab = catalogTabFor("import", p.User)
	d.CanKeepStatus = p.User.CanReviewCatalog()
	d.MaxMiB, d.MaxBytes = maxUploadBytes>>20, maxUploadBytes
	p.formOrder = []string{"file", "sheet"}
	p.Title, p.Nav, p.Data = p.T("import.title"), "catalog", d
	return c.render(w, r, p, status, "catalog_import")
}

func (c *Console) importCatalog(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	if !canImport(u) {
		return forbidden("import catalog entries (data stewards only)")
	}
	// With a session the CSRF check has parsed the form already; with a
	// bearer token it happens here, within the handler's body limit.
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			p.Error = p.Tf("import.too_large", maxUploadBytes>>20)
			return c.renderImport(w, r, p, http.StatusRequestEntityTooLarge, importData{})
		case errors.Is(err, http.ErrNotMultipart):
			p.Error, p.Fields = p.T("error.check_fields"), map[string]string{"file": p.T("import.choose_file")}
			return c.renderImport(w, r, p, http.StatusBadRequest, importData{})
		}
		return cityhub.Errorf(cityhub.EINVALID, "reading the upload: %v", err)
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	d := importData{Sheet: strings.TrimSpace(r.PostFormValue("sheet")),
		SkipInvalid: r.PostFormValue("skip_invalid") != "", KeepStatus: r.PostFormValue("keep_status") != ""}
	if d.KeepStatus && !u.CanReviewCatalog() {
		return forbidden("keep statuses from a file (catalog reviewers only)")
	}
	opts := cityhub.ImportOptions{CanEdit: u.CanEditCatalog, SkipInvalid: d.SkipInvalid, KeepStatus: d.KeepStatus,
		DryRun: r.PostFormValue("action") != "import"}

	refuse := func(status int, field, reason string) error {
		p.Error, p.Fields = p.T("error.check_fields"), map[string]string{field: reason}
		return c.renderImport(w, r, p, status, d)
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		return refuse(http.StatusBadRequest, "file", p.T("import.choose_file"))
	}
	defer f.Close()
	if fh.Size > maxUploadBytes {
		p.Error = p.Tf("import.too_large", maxUploadBytes>>20)
		return c.renderImport(w, r, p, http.StatusRequestEntityTooLarge, d)
	}
	format := fileFormat(fh.Filename, fh.Header.Get("Content-Type"))
	if format == "" {
		return refuse(http.StatusBadRequest, "file", p.T("import.wrong_type"))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUploadBytes+1))
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return refuse(http.StatusBadRequest, "file", p.T("import.empty_file"))
	}
	if format == catalogsheet.CSV {
		d.Sheet = "" // a CSV file has one sheet
	}
	rep, err := catalogsheet.Import(r.Context(), c.Store, bytes.NewReader(data), format, d.Sheet, opts)
	if err != nil {
		if cityhub.ErrorCode(err) != cityhub.EINVALID {
			return err
		}
		field := "file"
		if d.Sheet != "" && strings.Contains(cityhub.ErrorMessage(err), "no sheet") {
			field = "sheet"
		}
		return refuse(http.StatusBadRequest, field, p.Tf("import.unreadable", cityhub.ErrorMessage(err)))
	}
	d.Report = p.describeImport(rep, fh.Filename, opts)
	return c.renderImport(w, r, p, http.StatusOK, d)
}

// fileFormat tells XLSX from CSV by the file's name, else its type.
func fileFormat(name, contentType string) string {
	ct, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.EqualFold(path.Ext(name), ".xlsx"):
		return catalogsheet.XLSX
	case strings.EqualFold(path.Ext(name), ".csv"):
		return catalogsheet.CSV
	case ct == xlsxType:
		return catalogsheet.XLSX
	case ct == "text/csv":
		return catalogsheet.CSV
	}
	return ""
}

// maxListedRows bounds the list of skipped entries shown.
const maxListedRows = 200

// describeImport words what an import did and how to go on.
func (p *page) describeImport(rep *catalogsheet.Report, name string, opts cityhub.ImportOptions) *importReport {
	out := &importReport{Report: rep, FileName: name}
	wholeFile := false
	badEntries := map[int]bool{}
	for _, pr := range rep.Problems {
		row := problemRow{Row: strconv.Itoa(pr.Row), Column: pr.Column, Reason: p.reason("", pr.Reason)}
		if pr.Row == 0 {
			row.Row = p.T("import.whole_file")
		}
		if row.Column == "" {
			row.Column = "—"
		}
		out.Problems = append(out.Problems, row)
		if pr.Entry == 0 {
			wholeFile = true
		} else {
			badEntries[pr.Entry] = true
		}
	}
	valid := max(rep.Received-len(badEntries), 0)
	dry := rep.DryRun
	switch {
	case wholeFile:
		out.Kind, out.Message = "none", p.T("import.bad_file")
	case len(rep.Problems) == 0 && rep.Received == 0:
		out.Kind, out.Message = "none", p.T("import.empty")
	case len(rep.Problems) == 0 && dry:
		out.Kind, out.Message = "ok", p.Tf("import.ok_check", rep.Received, rep.Created, rep.Updated, rep.Unchanged)
	case len(rep.Problems) == 0:
		out.Kind, out.Message = "ok", p.Tf("import.ok_import", rep.Created, rep.Updated, rep.Unchanged)
	case !opts.SkipInvalid && dry:
		out.Kind, out.Message = "none", p.Tf("import.problems_check", len(rep.Problems), len(badEntries), valid)
	case !opts.SkipInvalid:
		out.Kind, out.Message = "none", p.Tf("import.problems_none", len(rep.Problems), len(badEntries), valid)
	case rep.Skipped >= rep.Received:
		out.Kind, out.Message = "none", p.Tf("import.problems_all", rep.Received)
	case dry:
		out.Kind, out.Message = "partial", p.Tf("import.problems_skip_check", len(rep.Problems), rep.Skipped,
			rep.Created, rep.Updated, rep.Unchanged)
	default:
		out.Kind, out.Message = "partial", p.Tf("import.problems_skip", rep.Created, rep.Updated, rep.Unchanged, rep.Skipped)
	}
	if out.Kind == "partial" && len(rep.SkippedRows) > 0 {
		rows := make([]string, 0, min(len(rep.SkippedRows), maxListedRows))
		for i, n := range rep.SkippedRows {
			if i == maxListedRows {
				rows = append(rows, "…")
				break
			}
			rows = append(rows, strconv.Itoa(n))
		}
		out.SkippedList = p.Tf("import.skipped_rows", strings.Join(rows, p.T("common.list_sep")))
	}
	return out
}

// ----- export -----

// exportCatalog downloads the entries of a catalog search (the /catalog
// page's query parameters) as a workbook or as CSV with a BOM for Excel.
func (c *Console) exportCatalog(format string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *page) error {
		cq, err := httpapi.CatalogQueryFromRequest(r)
		if err != nil {
			return err
		}
		entries, err := cityhub.AllEntries(r.Context(), c.searcher(), cq, nil)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if format == catalogsheet.CSV {
			err = catalogsheet.WriteCSV(&buf, entries, true)
		} else {
			err = catalogsheet.WriteXLSX(&buf, entries, catalogsheet.WriteOptions{})
		}
		if err != nil {
			return err
		}
		q := r.URL.Query()
		q.Del("lang")
		q.Del("page")
		rec := cityhub.NewAuditRecord(r.Context(), "catalog.export", "catalog", cityhub.OutcomeSuccess,
			fmt.Sprintf(`{"entries":%d,"query":%q,"via":"console"}`, len(entries), q.Encode()))
		if err := c.Store.AppendAudit(r.Context(), rec); err != nil {
			return err
		}
		loc := c.Location
		if loc == nil {
			loc = time.Local
		}
		return download(w, r, c, "catalog-"+c.now().In(loc).Format("20060102")+"."+format, format, buf.Bytes())
	}
}

// catalogTemplate downloads a blank workbook: the header row and the
// vocabularies' drop-down lists.
func (c *Console) catalogTemplate(w http.ResponseWriter, r *http.Request, p *page) error {
	var buf bytes.Buffer
	if err := catalogsheet.WriteXLSX(&buf, nil, catalogsheet.WriteOptions{}); err != nil {
		return err
	}
	return download(w, r, c, "catalog-template.xlsx", catalogsheet.XLSX, buf.Bytes())
}

func download(w http.ResponseWriter, r *http.Request, c *Console, name, format string, body []byte) error {
	hdr := w.Header()
	if format == catalogsheet.CSV {
		hdr.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		hdr.Set("Content-Type", xlsxType)
	}
	hdr.Set("Content-Disposition", `attachment; filename="`+name+`"; filename*=UTF-8''`+url.PathEscape(name))
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if _, err := w.Write(body); err != nil {
		c.log.DebugContext(r.Context(), "write download", "err", err) // the client went away
	}
	return nil
}

// exportLinks are the /catalog page's download links for its query.
func exportLinks(q url.Values) (xlsx, csv string) {
	enc := ""
	if len(q) > 0 {
		enc = "?" + q.Encode()
	}
	return "/catalog/export.xlsx" + enc, "/catalog/export.csv" + enc
}
