package ngsild

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
)

// A window is a temporal query's time range: from inclusive, to exclusive.
type window struct{ from, to time.Time }

const (
	maxPoints     = 10000  // points of one attribute in an answer
	maxLastNScope = 100000 // points read to find the last N
)

// parseWindow reads timerel, timeAt, endTimeAt and timeproperty; without
// timerel the window is all history the series store keeps.
func parseWindow(q url.Values, now time.Time) (window, *problem) {
	if tp := q.Get("timeproperty"); tp != "" && tp != "observedAt" {
		return window{}, notSupported(http.StatusNotImplemented, "temporal queries work on observedAt only")
	}
	w := window{from: time.UnixMilli(0), to: now.Add(24 * time.Hour)}
	rel := q.Get("timerel")
	if rel == "" {
		if q.Get("timeAt") != "" {
			return w, badRequest("timeAt needs timerel (before, after or between)")
		}
		return w, nil
	}
	at, err := time.Parse(time.RFC3339Nano, q.Get("timeAt"))
	if err != nil {
		return w, badRequest("timerel needs timeAt, an RFC 3339 date-time")
	}
	switch rel {
	case "before":
		w.to = at
	case "after":
		w.from = at.Add(time.Millisecond) // strictly after, at the store's precision
	case "between":
		end, err := time.Parse(time.RFC3339Nano, q.Get("endTimeAt"))
		if err != nil || !end.After(at) {
			return w, badRequest("timerel=between needs endTimeAt, an RFC 3339 date-time after timeAt")
		}
		w.from, w.to = at, end
	default:
		return w, badRequest("timerel is before, after or between")
	}
	if !w.from.Before(w.to) {
		return w, badRequest("the time window is empty")
	}
	return w, nil
}

// A temporalQuery is what a temporal request asks of each entity.
type temporalQuery struct {
	window     window
	attrs      attrSet
	lastN      int
	simplified bool // options=temporalValues
}

func parseTemporal(q url.Values, voc *vocabulary) (*temporalQuery, *problem) {
	win, p := parseWindow(q, time.Now())
	if p != nil {
		return nil, p
	}
	tq := &temporalQuery{window: win, attrs: attrList(q, voc), simplified: options(q)["temporalValues"]}
	if tq.lastN, p = intParam(q, "lastN", 0, maxPoints); p != nil {
		return nil, p
	}
	return tq, nil
}

func (h *Handler) getTemporal(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	tq, p := parseTemporal(rd.query, rd.voc)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	dev, err := h.devices.DeviceByEntityID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, h.notFoundOr(r, err))
		return
	}
	doc, err := h.temporalEntity(r.Context(), dev, tq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, rd.format, doc)
}

func (h *Handler) queryTemporal(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	tq, p := parseTemporal(rd.query, rd.voc)
	if p != nil {
		h.fail(w, r, p)
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
	docs := make([]document, len(matches))
	for i, m := range matches {
		if docs[i], err = h.temporalEntity(r.Context(), m.dev, tq); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if s.count {
		w.Header().Set("NGSILD-Results-Count", strconv.Itoa(total))
	}
	reply(w, http.StatusOK, rd.format, docs)
}

// temporalEntity shows a device's measured properties over the window:
// each an array of instances, or with temporalValues [value, time] pairs.
func (h *Handler) temporalEntity(ctx context.Context, dev *cityhub.Device, tq *temporalQuery) (document, error) {
	doc := document{"id": dev.EntityID, "type": dev.Type}
	typ := h.typeOf(dev.Type)
	if typ == nil {
		return doc, nil
	}
	limit := maxPoints
	if tq.lastN > 0 {
		limit = maxLastNScope // the store reads oldest first: read more, keep the tail
	}
	for _, prop := range typ.Properties {
		if !tq.attrs.has(prop.Name) {
			continue
		}
		points, err := h.series.Series(ctx, cityhub.SeriesQuery{DeviceID: dev.ID, Key: prop.Name,
			From: tq.window.from, To: tq.window.to, Limit: limit})
		if err != nil {
			return nil, err
		}
		if tq.lastN > 0 && len(points) > tq.lastN {
			points = points[len(points)-tq.lastN:]
		}
		if len(points) > maxPoints {
			points = points[:maxPoints]
		}
		if len(points) > 0 {
			doc[prop.Name] = instances(prop, points, tq.simplified)
		}
	}
	return doc, nil
}

func instances(prop cityhub.Property, points []cityhub.Point, simplified bool) any {
	if simplified {
		values := make([][2]any, len(points))
		for i, pt := range points {
			values[i] = [2]any{pointValue(prop, pt), formatTime(pt.Time)}
		}
		return document{"type": kindProperty, "values": values}
	}
	list := make([]document, len(points))
	for i, pt := range points {
		inst := document{"type": kindProperty, "value": pointValue(prop, pt), "observedAt": formatTime(pt.Time)}
		if prop.Unit != "" {
			inst["unitCode"] = prop.Unit
		}
		list[i] = inst
	}
	return list
}

func pointValue(prop cityhub.Property, pt cityhub.Point) any {
	switch prop.Kind {
	case cityhub.KindText:
		return pt.Text
	case cityhub.KindBool:
		return pt.Value != 0
	}
	return pt.Value
}
