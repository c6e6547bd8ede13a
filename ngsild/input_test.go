package ngsild_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const linkToCore = `<` + coreContext + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`

func TestContextRules(t *testing.T) {
	pl := start(t)
	entity := airQuality("urn:ngsi-ld:AirQualityObserved:c1", 10, time.Now().Add(-time.Minute), "")
	bare := strings.Replace(entity, `"@context": "`+coreContext+`"`, `"stationName": "x"`, 1)

	// Both a Link header and a body @context: 400, whichever the type.
	pl.request(t, "POST", "/ngsi-ld/v1/entities", entity, "Link", linkToCore).problem(t, http.StatusBadRequest, "BadRequestData")
	pl.request(t, "POST", "/ngsi-ld/v1/entities", entity, "Link", linkToCore, "Content-Type", "application/json").
		problem(t, http.StatusBadRequest, "BadRequestData")
	// ld+json must carry it; json must not.
	pl.request(t, "POST", "/ngsi-ld/v1/entities", bare).problem(t, http.StatusBadRequest, "BadRequestData")
	pl.request(t, "POST", "/ngsi-ld/v1/entities", entity, "Content-Type", "application/json").problem(t, http.StatusBadRequest, "BadRequestData")
	// A context the broker cannot know without fetching it.
	remote := strings.Replace(entity, coreContext, "https://example.org/my-context.jsonld", 1)
	pl.request(t, "POST", "/ngsi-ld/v1/entities", remote).problem(t, http.StatusServiceUnavailable, "LdContextNotAvailable")
	// Wrong media types.
	pl.request(t, "POST", "/ngsi-ld/v1/entities", entity, "Content-Type", "text/plain").problem(t, http.StatusUnsupportedMediaType, "")
	pl.request(t, "GET", "/ngsi-ld/v1/entities", "", "Accept", "text/html").problem(t, http.StatusNotAcceptable, "")

	pl.request(t, "POST", "/ngsi-ld/v1/entities", bare, "Content-Type", "application/json", "Link", linkToCore).expect(t, http.StatusCreated)
	res := pl.request(t, "GET", "/ngsi-ld/v1/entities?type=AirQualityObserved", "", "Accept", "application/json;q=0.5, application/ld+json")
	if list := res.expect(t, http.StatusOK).list(t); len(list) != 1 || list[0]["@context"] != coreContext {
		t.Errorf("ld+json list: %s, want each entity with the core @context", res.body)
	}
	pl.request(t, "GET", "/ngsi-ld/v1/subscriptions", "").problem(t, http.StatusNotImplemented, "OperationNotSupported")
}

func TestMalformedInput(t *testing.T) {
	pl := start(t)
	at := stamp(time.Now())
	tests := []struct {
		name, path, body string
		status           int
		errorType        string
	}{
		{"not JSON", "/entities", `{"id": `, 400, "BadRequestData"},
		{"trailing data", "/entities", `{} {}`, 400, "BadRequestData"},
		{"trailing bracket", "/entities", `{}]`, 400, "BadRequestData"},
		{"array for one", "/entities", `[]`, 400, "BadRequestData"},
		{"no id", "/entities", `{"type": "AirQualityObserved", "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"id not a URN", "/entities", `{"id": "aq-1", "type": "AirQualityObserved", "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"no type", "/entities", `{"id": "urn:ngsi-ld:X:1", "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"unknown type", "/entities", `{"id": "urn:ngsi-ld:Building:1", "type": "Building", "location": {"type": "Point", "coordinates": [121.5, 29.8]}, "@context": "` + coreContext + `"}`, 422, "OperationNotSupported"},
		{"no location", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"location abroad", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "location": {"type": "Point", "coordinates": [2.35, 48.85]}, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"bad observedAt", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "pm25": {"type": "Property", "value": 1, "observedAt": "yesterday"}, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"Property without value", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "pm25": {"type": "Property"}, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"wrong unit", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "pm25": {"type": "Property", "value": 1, "unitCode": "GP", "observedAt": "` + at + `"}, "location": {"type": "Point", "coordinates": [121.5, 29.8]}, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"text for a number", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "pm25": "lots", "location": {"type": "Point", "coordinates": [121.5, 29.8]}, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"bad attribute name", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "a=b": 1, "@context": "` + coreContext + `"}`, 400, "BadRequestData"},
		{"bad @context", "/entities", `{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "@context": 7}`, 400, "BadRequestData"},
		{"batch not an array", "/entityOperations/upsert", `{"id": "urn:ngsi-ld:X:1"}`, 400, "BadRequestData"},
		{"batch delete of objects", "/entityOperations/delete", `[{"id": "urn:ngsi-ld:X:1"}]`, 207, ""},
		{"attrs not an object", "/entities/urn:ngsi-ld:X:1/attrs", `"pm25"`, 400, "BadRequestData"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pl.request(t, "POST", "/ngsi-ld/v1"+tt.path, tt.body)
			if tt.errorType == "" {
				res.expect(t, tt.status)
				return
			}
			res.problem(t, tt.status, tt.errorType)
		})
	}
	big := `{"id": "urn:ngsi-ld:AirQualityObserved:big", "type": "AirQualityObserved", "note": "` + strings.Repeat("x", 1<<20) + `"}`
	pl.request(t, "POST", "/ngsi-ld/v1/entities", big).problem(t, http.StatusRequestEntityTooLarge, "BadRequestData")
}
