package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/internal/htmlpage"
)

// defaultLang is the portal's language until the visitor picks another.
const defaultLang = "zh"

// page is what every template receives: the skeleton (language, title,
// navigation) and the page's own Data.
type page struct {
	htmlpage.Words
	Title       string
	Description string // the page's meta description
	Nav         string // the navigation item to mark as current
	Version     string
	Data        any
	// Charts loads ECharts and the portal's chart script.
	Charts bool
	Links  []navLink
	// User is the signed-in account (public, or staff with a console
	// session); CSRF the secret its forms carry. Accounts: sign-in is on.
	User     *cityhub.User
	CSRF     string
	Accounts bool

	url *url.URL
	loc *time.Location
	dir *directory // names of domains and providers, when the page read them
}

type navLink struct {
	Path, Label string
}

// newPage reads the language: ?lang= sets the cookie, the cookie keeps it.
func (p *Portal) newPage(w http.ResponseWriter, r *http.Request) *page {
	lang := htmlpage.Language(w, r, defaultLang, func(l string) bool { return messages[l] != nil }, r.TLS != nil)
	pg := &page{Words: htmlpage.NewWords(lang, messages[lang]), Version: p.Version, url: r.URL, loc: p.loc()}
	for _, l := range p.Links {
		label := l.ZH
		if lang == "en" && l.EN != "" {
			label = l.EN
		}
		pg.Links = append(pg.Links, navLink{Path: l.Path, Label: label})
	}
	return pg
}

// LangURL is the current page in another language.
func (pg *page) LangURL(lang string) string {
	path, q := "/open/", url.Values{}
	if pg.url != nil {
		path, q = pg.url.Path, pg.url.Query()
	}
	q.Set("lang", lang)
	return path + "?" + q.Encode()
}

// Term names a value of a vocabulary in the page's language: kind is
// format, cycle, open or itemtype.
func (pg *page) Term(kind, code string) string {
	var terms []cityhub.Term
	switch kind {
	case "format":
		terms = cityhub.Formats
	case "cycle":
		terms = cityhub.UpdateCycles
	case "open":
		terms = cityhub.OpenTypes
	case "itemtype":
		terms = cityhub.ItemTypes
	}
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

// DomainName names an open-data domain in the page's language.
func (pg *page) DomainName(code string) string {
	if pg.dir != nil {
		if d, ok := pg.dir.domainByCode[code]; ok {
			return domainLabel(d, pg.Lang)
		}
	}
	return code
}

func domainLabel(d *cityhub.Domain, lang string) string {
	if lang == "en" && d.EN != "" {
		return d.EN
	}
	return d.Name
}

// Date shows the day of t in the city's time zone.
func (pg *page) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(pg.loc).Format("2006-01-02")
}

// DatePtr is Date for an optional time.
func (pg *page) DatePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return pg.Date(*t)
}

// DateTime shows t to the minute in the city's time zone.
func (pg *page) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(pg.loc).Format("2006-01-02 15:04")
}

// Count writes n with thousands separators.
func (pg *page) Count(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	default:
		return fmt.Sprint(n)
	}
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Excerpt shortens s to n characters.
func (pg *page) Excerpt(s string, n int) string { return excerpt(s, n) }

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// DatasetPath is the portal address of an entry.
func (pg *page) DatasetPath(e *cityhub.CatalogEntry) string { return datasetPath(e) }

func datasetPath(e *cityhub.CatalogEntry) string {
	return "/open/dataset/" + url.PathEscape(e.PackageName())
}

// OrgPath is the portal address of a provider.
func (pg *page) OrgPath(id int64) string { return orgPath(id) }

func orgPath(id int64) string { return "/open/org/" + strconv.FormatInt(id, 10) }

// SearchPath is the search with one filter set.
func (pg *page) SearchPath(param, value string) string {
	return "/open/datasets?" + url.Values{param: {value}}.Encode()
}
