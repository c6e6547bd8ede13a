package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/internal/htmlpage"
)

// page is what every template receives: the skeleton (user, language,
// messages, errors) and the page's own Data.
type page struct {
	htmlpage.Words
	Title   string
	Nav     string // the nav item to mark as current
	User    *cityhub.User
	CSRF    string // the session's anti-forgery value for form posts
	Version string
	Flash   string            // a success message
	Error   string            // a problem with the request as a whole
	Fields  map[string]string // per-field problems, as the domain reports them
	Data    any
	Refresh int // reload the page after this many seconds (a running job)
	// Scripts are the page's own static scripts (paths under /static/),
	// loaded after app.js.
	Scripts []string

	url       *url.URL
	loc       *time.Location
	formOrder []string // the form's fields in page order, for the error summary
}

// newPage reads the language (?lang= sets the cookie) and the signed-in
// user, and the done= message of a post/redirect/get.
func (c *Console) newPage(w http.ResponseWriter, r *http.Request) *page {
	lang := htmlpage.Language(w, r, defaultLang, func(l string) bool { return messages[l] != nil }, c.SecureCookies)
	p := &page{Words: htmlpage.NewWords(lang, messages[lang]), Version: c.Version, url: r.URL, loc: c.Location}
	if u, t := cityhub.UserFrom(r.Context()); u != nil {
		p.User = u
		if t != nil {
			p.CSRF = t.CSRF
		}
	}
	if done := r.URL.Query().Get("done"); done != "" {
		if msg, ok := p.Message("done." + done); ok {
			p.Flash = msg
		}
	}
	return p
}

// LangURL is the current page in another language.
func (p *page) LangURL(lang string) string {
	path, q := "/", url.Values{}
	if p.url != nil {
		path, q = p.url.Path, p.url.Query()
	}
	q.Del("done")
	q.Set("lang", lang)
	return path + "?" + q.Encode()
}

// Role, Level, Scope and Outcome name domain values in the page's language.
func (p *page) Role(r string) string    { return p.named("role.", r) }
func (p *page) Level(l string) string   { return p.named("level.", l) }
func (p *page) Scope(s string) string   { return p.named("scope.", s) }
func (p *page) Outcome(o string) string { return p.named("outcome.", o) }

func (p *page) named(prefix, v string) string {
	if m, ok := p.Message(prefix + v); ok {
		return m
	}
	return v
}

// FieldError is the reason a field was refused, translated when it is one
// of the common reasons.
func (p *page) FieldError(name string) string {
	reason, ok := p.Fields[name]
	if !ok {
		return ""
	}
	return p.reason(name, reason)
}

func (p *page) reason(field, r string) string {
	if m, ok := p.Message("reason." + r); ok {
		return m
	}
	if field == "credit_code" { // "check character is 'X', expected 'Y'" and the like
		return p.Tf("reason.credit_code_invalid", r)
	}
	if codes, ok := strings.CutPrefix(r, "one of "); ok {
		if kind := vocabOfField(field); kind != "" {
			var labels []string
			for _, c := range strings.Split(codes, ", ") {
				labels = append(labels, p.Term(kind, c))
			}
			return p.Tf("reason.one_of", strings.Join(labels, p.T("common.list_sep")))
		}
	}
	for _, rp := range reasonPatterns {
		if m := rp.re.FindStringSubmatch(r); m != nil {
			return p.Tf(rp.key, m[1])
		}
	}
	return r
}

// reasonPatterns translate the domain's reasons that carry a value.
var reasonPatterns = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^one of (.+)$`), "reason.one_of"},
	{regexp.MustCompile(`^no classification (.+)$`), "reason.no_classification"},
	{regexp.MustCompile(`^no open-data domain (.+)$`), "reason.no_domain"},
	{regexp.MustCompile(`^no entry with code (.+)$`), "reason.no_entry_code"},
	{regexp.MustCompile(`^"(.+)" is not a resource code`), "reason.not_resource_code"},
	{regexp.MustCompile(`^"(.+)" appears twice$`), "reason.appears_twice"},
	{regexp.MustCompile(`^tag "(.+)" is longer than 30 characters$`), "reason.tag_too_long"},
	{regexp.MustCompile(`^fixed once published: the resource code (.+) never changes$`), "reason.classification_fixed"},
	// Rejected values of a data load.
	{regexp.MustCompile(`^a mobile number has 11 digits, got (\d+)$`), "reason.mobile_digits"},
	{regexp.MustCompile(`^at most (\d+) characters, got \d+$`), "reason.max_chars"},
}

// Invalid marks an input whose value was refused, for screen readers and CSS.
func (p *page) Invalid(name string) template.HTMLAttr {
	if _, ok := p.Fields[name]; !ok {
		return ""
	}
	// name comes from the templates, never from the request.
	return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(name) + `-error"`)
}

type fieldProblem struct {
	Name, Label, Reason string
}

// FieldList lists every field problem for the summary above the page.
func (p *page) FieldList() []fieldProblem {
	out := make([]fieldProblem, 0, len(p.Fields))
	for name, reason := range p.Fields {
		out = append(out, fieldProblem{Name: name, Label: p.fieldLabel(name), Reason: p.reason(name, reason)})
	}
	sort.Slice(out, func(i, j int) bool { return p.fieldOrder(out[i].Name) < p.fieldOrder(out[j].Name) })
	return out
}

// itemField matches the domain's keys for one data item's field.
var itemField = regexp.MustCompile(`^items\[(\d+)\]\.([a-z_]+)$`)

// fieldLabel names a field; data items' fields as "信息项 3 · 数据类型".
func (p *page) fieldLabel(name string) string {
	if m := itemField.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[1])
		return p.Tf("catalog.item_field", n+1, p.named("field.item_", m[2]))
	}
	return p.named("field.", name)
}

// fieldOrder sorts the problems as the form shows its fields when the
// page says (formOrder), by name otherwise; data items' fields by row.
func (p *page) fieldOrder(name string) string {
	key := name
	if m := itemField.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[1])
		name, key = "items", fmt.Sprintf("items[%06d].%s", n, m[2])
	}
	for i, f := range p.formOrder {
		if f == name {
			return fmt.Sprintf("%03d %s", i, key)
		}
	}
	return "999 " + key
}

// Time and TimePtr format times for tables.
func (p *page) Time(t time.Time) string { return formatTime(t, p.loc) }

func (p *page) TimePtr(t *time.Time) string {
	if t == nil {
		return p.T("common.never")
	}
	return formatTime(*t, p.loc)
}

// divisionName names a GB/T 2260 code, "" when it is unknown.
func divisionName(code string) string {
	d, ok := cityhub.LookupDivision(code)
	if !ok {
		return ""
	}
	return d.Name
}
