package ngsild

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// options reads the comma-separated options parameter.
func options(q url.Values) map[string]bool {
	out := map[string]bool{}
	for _, v := range q["options"] {
		for _, o := range strings.Split(v, ",") {
			out[strings.TrimSpace(o)] = true
		}
	}
	return out
}

// keyValues says whether the simplified representation is asked for.
func keyValues(q url.Values) bool {
	f := q.Get("format")
	return options(q)["keyValues"] || f == "keyValues" || f == "simplified"
}

// attrList reads the attrs parameter; nil picks all.
func attrList(q url.Values, voc *vocabulary) attrSet {
	list := splitList(q.Get("attrs"))
	if len(list) == 0 {
		return nil
	}
	set := attrSet{}
	for _, a := range list {
		set[voc.name(a)] = true
	}
	return set
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// A selection is what a query asks of the entities.
type selection struct {
	types  []string // short names; none: every type
	ids    map[string]bool
	idRe   *regexp.Regexp
	attrs  attrSet
	q      expr
	geo    *geoQuery
	limit  int
	offset int
	count  bool
}

const (
	defaultLimit = 20
	maxLimit     = 1000
)

// parseSelection reads the query parameters of GET /entities and
// /temporal/entities.
func parseSelection(q url.Values, voc *vocabulary) (*selection, *problem) {
	s := &selection{attrs: attrList(q, voc), limit: defaultLimit, count: q.Get("count") == "true"}
	for _, t := range splitList(q.Get("type")) {
		s.types = append(s.types, voc.name(t))
	}
	if ids := splitList(q.Get("id")); len(ids) > 0 {
		s.ids = map[string]bool{}
		for _, id := range ids {
			s.ids[id] = true
		}
	}
	if pattern := q.Get("idPattern"); pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil || len(pattern) > 256 {
			return nil, badRequest("idPattern is not a regular expression (of at most 256 bytes)")
		}
		s.idRe = re
	}
	var p *problem
	if qs := q.Get("q"); qs != "" {
		if s.q, p = parseQ(qs, voc); p != nil {
			return nil, p
		}
	}
	if s.geo, p = parseGeoQuery(q, voc); p != nil {
		return nil, p
	}
	if s.limit, p = intParam(q, "limit", defaultLimit, maxLimit); p != nil {
		return nil, p
	}
	if s.offset, p = intParam(q, "offset", 0, 1<<30); p != nil {
		return nil, p
	}
	if s.limit == 0 && !s.count {
		return nil, badRequest("limit=0 is only for count=true")
	}
	return s, nil
}

func intParam(q url.Values, name string, def, max int) (int, *problem) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, badRequest("%s is a whole number from 0 to %d", name, max)
	}
	return n, nil
}

// A match is one selected device with its latest values.
type match struct {
	dev    *cityhub.Device
	latest []cityhub.LatestValue
}

// selectDevices finds the devices a selection asks for and the total
// before paging.
func (h *Handler) selectDevices(ctx context.Context, s *selection) ([]match, int, error) {
	if s.ids == nil && s.idRe == nil && s.q == nil && s.geo == nil && s.attrs == nil && len(s.types) <= 1 {
		return h.selectPage(ctx, s)
	}
	var candidates []*cityhub.Device
	types := s.types
	if len(types) == 0 {
		types = []string{""}
	}
	for _, t := range types {
		devs, err := h.allDevices(ctx, t)
		if err != nil {
			return nil, 0, err
		}
		candidates = append(candidates, devs...)
	}
	var kept []*cityhub.Device
	for _, d := range candidates {
		if (s.ids == nil || s.ids[d.EntityID]) && (s.idRe == nil || s.idRe.MatchString(d.EntityID)) &&
			(s.geo == nil || s.geo.matches(d.Lon, d.Lat)) {
			kept = append(kept, d)
		}
	}
	latest, err := h.latestOf(ctx, kept)
	if err != nil {
		return nil, 0, err
	}
	var all []match
	for _, d := range kept {
		m := match{d, latest[d.ID]}
		if s.q == nil && s.attrs == nil {
			all = append(all, m)
			continue
		}
		values := renderEntity(d, h.typeOf(d.Type), m.latest, nil, true)
		if (s.q == nil || s.q.eval(values)) && hasAny(values, s.attrs) {
			all = append(all, m)
		}
	}
	total := len(all)
	start := min(s.offset, total)
	return all[start:min(start+s.limit, total)], total, nil
}

// selectPage lets the store page when only the type filters.
func (h *Handler) selectPage(ctx context.Context, s *selection) ([]match, int, error) {
	dq := cityhub.DeviceQuery{Limit: max(s.limit, 1), Offset: s.offset}
	if len(s.types) == 1 {
		if h.typeOf(s.types[0]) == nil {
			return nil, 0, nil // a type no device has
		}
		dq.Type = s.types[0]
	}
	devs, total, err := h.devices.Devices(ctx, dq)
	if err != nil || s.limit == 0 {
		return nil, total, err
	}
	latest, err := h.latestOf(ctx, devs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]match, len(devs))
	for i, d := range devs {
		out[i] = match{d, latest[d.ID]}
	}
	return out, total, nil
}

// allDevices lists every device of a type ("" for all), page by page.
func (h *Handler) allDevices(ctx context.Context, typ string) ([]*cityhub.Device, error) {
	if typ != "" && h.typeOf(typ) == nil {
		return nil, nil
	}
	const page = 10000 // the store's largest page
	var out []*cityhub.Device
	for {
		devs, total, err := h.devices.Devices(ctx, cityhub.DeviceQuery{Type: typ, Limit: page, Offset: len(out)})
		if err != nil {
			return nil, err
		}
		out = append(out, devs...)
		if len(devs) < page || len(out) >= total {
			return out, nil
		}
	}
}

func (h *Handler) latestOf(ctx context.Context, devs []*cityhub.Device) (map[int64][]cityhub.LatestValue, error) {
	ids := make([]int64, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	return h.series.Latest(ctx, ids)
}

// hasAny says whether an entity has one of the attributes asked for.
func hasAny(values document, attrs attrSet) bool {
	if attrs == nil {
		return true
	}
	for name := range attrs {
		if _, ok := values[name]; ok {
			return true
		}
	}
	return false
}

func (h *Handler) queryEntities(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	s, p := parseSelection(rd.query, rd.voc)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	matches, total, err := h.selectDevices(r.Context(), s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kv := keyValues(rd.query)
	docs := make([]document, len(matches))
	for i, m := range matches {
		docs[i] = renderEntity(m.dev, h.typeOf(m.dev.Type), m.latest, s.attrs, kv)
	}
	if s.count {
		w.Header().Set("NGSILD-Results-Count", strconv.Itoa(total))
	}
	reply(w, http.StatusOK, rd.format, docs)
}
