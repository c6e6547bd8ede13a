package ngsild

import (
	_ "embed"
	"encoding/json"
	"net/url"
	"strings"
)

// CoreContext is the NGSI-LD core @context the broker cites in responses.
const CoreContext = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"

const contextRel = "http://www.w3.org/ns/json-ld#context"

// The core context is embedded: the broker fetches nothing at run time.
//
//go:embed core-context.jsonld
var coreContextDoc []byte

var coreTerms = func() map[string]string {
	var doc struct {
		Context map[string]any `json:"@context"`
	}
	if err := json.Unmarshal(coreContextDoc, &doc); err != nil {
		panic("ngsild: embedded core context: " + err.Error())
	}
	terms := map[string]string{}
	addTerms(terms, doc.Context)
	return terms
}()

// A vocabulary turns the terms of one request into the broker's names:
// the short names of the Smart Data Models (pm25, AirQualityObserved).
// It is not a JSON-LD processor: it expands terms and compact IRIs through
// the request's inline contexts and the core context, then strips the
// namespaces the city's data models live in.
type vocabulary struct {
	terms map[string]string // term or prefix → IRI or compact IRI
}

// vocabularyOf reads a request's @context: a URL, an inline object or an
// array of them; nil means the core context alone.
func (h *Handler) vocabularyOf(ldContext any) (*vocabulary, *problem) {
	v := &vocabulary{terms: map[string]string{}}
	for k, iri := range coreTerms {
		v.terms[k] = iri
	}
	items, ok := ldContext.([]any)
	if !ok {
		items = []any{ldContext}
	}
	for _, item := range items {
		switch c := item.(type) {
		case nil:
		case string:
			if p := h.checkRemoteContext(c); p != nil {
				return nil, p
			}
		case map[string]any:
			addTerms(v.terms, c)
		default:
			return nil, badRequest("@context must be a URL, an object or an array of them")
		}
	}
	return v, nil
}

// checkRemoteContext accepts the contexts whose terms the broker knows
// without fetching them: the core context of any version, the Smart Data
// Models' contexts (their terms are the short names) and those allowed by
// AllowContext.
func (h *Handler) checkRemoteContext(ref string) *problem {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badRequest("@context %q is not an http(s) URL", ref)
	}
	for _, prefix := range knownContexts {
		if strings.HasPrefix(ref, prefix) {
			return nil
		}
	}
	if h.allowed[ref] {
		return nil
	}
	return contextNotAvailable("@context %s is not one this broker knows, and it fetches nothing at run time; "+
		"send the terms inline, cite the core or a Smart Data Models context, or ask the operator to allow it", ref)
}

var knownContexts = []string{
	"https://uri.etsi.org/ngsi-ld/",
	"https://smartdatamodels.org/",
	"https://raw.githubusercontent.com/smart-data-models/",
	"https://smart-data-models.github.io/",
	"https://fiware.github.io/data-models/",
}

// addTerms records an inline context's term definitions; nested scoped
// contexts and other keywords carry nothing the broker uses.
func addTerms(terms map[string]string, ctx map[string]any) {
	for term, def := range ctx {
		if strings.HasPrefix(term, "@") {
			continue
		}
		switch d := def.(type) {
		case string:
			terms[term] = d
		case map[string]any:
			if id, ok := d["@id"].(string); ok {
				terms[term] = id
			}
		}
	}
}

// name returns the broker's name for a term of the request.
func (v *vocabulary) name(term string) string {
	iri := term
	if def, ok := v.terms[term]; ok && !strings.HasPrefix(def, "@") {
		iri = def
	}
	if prefix, suffix, ok := strings.Cut(iri, ":"); ok && !strings.HasPrefix(suffix, "//") {
		if base, ok := v.terms[prefix]; ok {
			iri = base + suffix
		}
	}
	return shortName(iri)
}

// vocabBases are the namespaces whose terms the broker keeps by short name.
var vocabBases = []string{
	"https://uri.etsi.org/ngsi-ld/default-context/",
	"https://uri.etsi.org/ngsi-ld/",
	"https://uri.fiware.org/ns/dataModels#",
	"https://uri.fiware.org/ns/data-models#",
	"https://schema.org/",
	"http://schema.org/",
}

// shortName strips a known namespace from an IRI; other IRIs stay whole.
func shortName(iri string) string {
	if rest, ok := strings.CutPrefix(iri, "https://smartdatamodels.org/"); ok {
		if strings.HasPrefix(rest, "dataModel.") {
			_, rest, _ = strings.Cut(rest, "/")
		}
		if rest != "" && !strings.ContainsAny(rest, "/#:") {
			return rest
		}
		return iri
	}
	for _, base := range vocabBases {
		if rest, ok := strings.CutPrefix(iri, base); ok && rest != "" && !strings.ContainsAny(rest, "/#:") {
			return rest
		}
	}
	return iri
}

// sdmDomains places the platform's device types in the Smart Data Models;
// the utility-tunnel types are the platform's own.
var sdmDomains = map[string]string{
	"AirQualityObserved":   "Environment",
	"WaterQualityObserved": "Environment",
	"NoiseLevelObserved":   "Environment",
	"TrafficFlowObserved":  "Transportation",
	"WeatherObserved":      "Weather",
	"OffStreetParking":     "Parking",
	"Streetlight":          "Streetlighting",
}

// typeIRI is a device type's full name.
func typeIRI(name string) string {
	if domain, ok := sdmDomains[name]; ok {
		return "https://smartdatamodels.org/dataModel." + domain + "/" + name
	}
	return "https://uri.etsi.org/ngsi-ld/default-context/" + name
}

// linkContext returns the @context URL of a Link header, "" when there is
// none.
func linkContext(header []string) (string, *problem) {
	found := ""
	for _, h := range header {
		for rest := strings.TrimSpace(h); rest != ""; {
			if !strings.HasPrefix(rest, "<") {
				return "", badRequest("Link header is malformed: want <url>; rel=...")
			}
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return "", badRequest("Link header is malformed: no closing >")
			}
			target := rest[1:end]
			params, next, _ := strings.Cut(rest[end+1:], ",")
			rest = strings.TrimSpace(next)
			if !isContextRel(params) {
				continue
			}
			if found != "" {
				return "", badRequest("more than one JSON-LD @context in Link headers")
			}
			found = target
		}
	}
	return found, nil
}

func isContextRel(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "rel") && strings.Trim(strings.TrimSpace(v), `"`) == contextRel {
			return true
		}
	}
	return false
}

// linkHeader cites a context for application/json responses.
func linkHeader(ctx string) string {
	return "<" + ctx + `>; rel="` + contextRel + `"; type="application/ld+json"`
}
