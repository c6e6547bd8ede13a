package ngsild

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	mimeJSON   = "application/json"
	mimeJSONLD = "application/ld+json"
	maxBody    = 1 << 20
)

// A body is a decoded request body and where its @context comes from.
type body struct {
	value any
	ld    bool   // application/ld+json: each entity carries its @context
	link  string // the Link header's context (application/json)
}

// readBody checks the content type, bounds and decodes the body.
func readBody(w http.ResponseWriter, r *http.Request) (*body, *problem) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != mimeJSON && ct != mimeJSONLD) {
		return nil, newProblem(http.StatusUnsupportedMediaType, "", "Unsupported media type",
			"send application/json (with the @context in a Link header) or application/ld+json (with it in the body)")
	}
	b := &body{ld: ct == mimeJSONLD}
	var p *problem
	if b.link, p = linkContext(r.Header.Values("Link")); p != nil {
		return nil, p
	}
	if b.ld && b.link != "" {
		return nil, badRequest("application/ld+json carries its @context in the body; a Link header as well is ambiguous")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, newProblem(http.StatusRequestEntityTooLarge, "BadRequestData", "Request too large", "the body is over %d bytes", maxBody)
	case err != nil:
		return nil, badRequest("reading the body: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&b.value); err != nil {
		return nil, badRequest("the body is not valid JSON: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, badRequest("the body has data after its JSON value")
	}
	return b, nil
}

// entityContext finds the @context of one entity of a body and says
// whether it sits where the content type wants it.
func (b *body) entityContext(m map[string]any) (any, *problem) {
	inBody, has := m["@context"]
	switch {
	case b.ld && !has:
		return nil, badRequest("application/ld+json needs @context in the body (in each entity of a batch)")
	case !b.ld && has && b.link != "":
		return nil, badRequest("@context both in the body and in a Link header; send one")
	case !b.ld && has:
		return nil, badRequest("application/json carries the @context in a Link header; send application/ld+json for @context in the body")
	case has:
		return inBody, nil
	case b.link != "":
		return b.link, nil
	}
	return nil, nil
}

// A format is how a response is written.
type format struct {
	ld      bool // application/ld+json: @context in the body
	context any  // cited: the request's context, or the core one
}

// A read is a GET request's response format, vocabulary and query.
type read struct {
	format *format
	voc    *vocabulary
	query  url.Values
}

// readRequest negotiates the response format from Accept and reads the
// Link context and the query; nil means an error was written.
func (h *Handler) readRequest(w http.ResponseWriter, r *http.Request) *read {
	ld, ok := acceptsLD(r.Header.Get("Accept"))
	if !ok {
		h.fail(w, r, newProblem(http.StatusNotAcceptable, "", "Not acceptable", "this broker answers application/json or application/ld+json"))
		return nil
	}
	q, p := queryOf(r)
	if p != nil {
		h.fail(w, r, p)
		return nil
	}
	link, p := linkContext(r.Header.Values("Link"))
	if p != nil {
		h.fail(w, r, p)
		return nil
	}
	f := &format{ld: ld, context: CoreContext}
	var ctx any
	if link != "" {
		f.context, ctx = link, link
	}
	voc, p := h.vocabularyOf(ctx)
	if p != nil {
		h.fail(w, r, p)
		return nil
	}
	return &read{format: f, voc: voc, query: q}
}

// queryOf reads the query string splitting on & alone: NGSI-LD puts ; in
// values (q=a>1;b<2, georel=near;maxDistance==100), and url.ParseQuery
// drops such pairs.
func queryOf(r *http.Request) (url.Values, *problem) {
	out := url.Values{}
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, badRequest("the query string is not URL-encoded properly near %q", clip(pair))
		}
		out.Add(key, value)
	}
	return out, nil
}

// acceptsLD reads Accept: whether ld+json is preferred, and whether
// either JSON type is acceptable at all.
func acceptsLD(accept string) (ld, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return false, true
	}
	best, bestQ, bestExact := "", 0.0, false
	for _, entry := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		offer, exact := "", true
		switch mt {
		case mimeJSON, mimeJSONLD:
			offer = mt
		case "application/*", "*/*":
			offer, exact = mimeJSON, false
		default:
			continue
		}
		if q > bestQ || (q == bestQ && exact && !bestExact) {
			best, bestQ, bestExact = offer, q, exact
		}
	}
	return best == mimeJSONLD, best != ""
}

// reply writes a document (an entity, a list, a type list) in f.
func reply(w http.ResponseWriter, status int, f *format, doc any) {
	if f.ld {
		w.Header().Set("Content-Type", mimeJSONLD)
		doc = withContext(doc, f.context)
	} else {
		w.Header().Set("Content-Type", mimeJSON)
		link := CoreContext
		if s, ok := f.context.(string); ok {
			link = s
		}
		w.Header().Set("Link", linkHeader(link))
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(doc)
}

// withContext puts @context into a document, or into each of a list.
func withContext(doc any, ctx any) any {
	switch d := doc.(type) {
	case document:
		d["@context"] = ctx
	case []document:
		for _, e := range d {
			e["@context"] = ctx
		}
	}
	return doc
}

// writeJSON writes plain JSON: batch results and update results.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mimeJSON)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
