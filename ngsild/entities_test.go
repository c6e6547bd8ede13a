package ngsild_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCreateGetDelete(t *testing.T) {
	pl := start(t)
	at := time.Now().Add(-time.Minute)
	id := "urn:ngsi-ld:AirQualityObserved:aq+001/海曙"
	body := airQuality(id, 42.5, at, `"address": {"type": "Property", "value": {"addressLocality": "海曙区", "streetAddress": "中山西路"}},
		"stationName": {"type": "Property", "value": "月湖"}`)

	res := pl.request(t, "POST", "/ngsi-ld/v1/entities", body).expect(t, http.StatusCreated)
	path := "/ngsi-ld/v1/entities/" + url.PathEscape(id)
	if got := res.header.Get("Location"); got != path {
		t.Errorf("Location %q, want %q", got, path)
	}
	pl.request(t, "POST", "/ngsi-ld/v1/entities", body).problem(t, http.StatusConflict, "AlreadyExists")

	d := device(t, pl, id)
	if d.Name != "aq-001-海曙" || d.Division != "330203" || d.Type != "AirQualityObserved" || d.Lon != 121.55 {
		t.Errorf("device name %q, division %q, type %q, lon %v; want aq-001-海曙, 330203 (from addressLocality), AirQualityObserved, 121.55",
			d.Name, d.Division, d.Type, d.Lon)
	}

	res = pl.request(t, "GET", path, "").expect(t, http.StatusOK)
	if ct, link := res.header.Get("Content-Type"), res.header.Get("Link"); ct != "application/json" || !strings.Contains(link, coreContext) {
		t.Errorf("Content-Type %q and Link %q, want application/json and a Link to the core context", ct, link)
	}
	e := res.object(t)
	if e["id"] != id || e["type"] != "AirQualityObserved" {
		t.Errorf("id %v type %v", e["id"], e["type"])
	}
	pm25 := e["pm25"].(map[string]any)
	if pm25["value"] != 42.5 || pm25["unitCode"] != "GQ" || pm25["observedAt"] != stamp(at) || pm25["type"] != "Property" {
		t.Errorf("pm25 = %v, want 42.5 GQ observed %s", pm25, stamp(at))
	}
	if loc := e["location"].(map[string]any); loc["type"] != "GeoProperty" {
		t.Errorf("location %v, want a GeoProperty", loc)
	}
	if got := attr(t, e, "stationName"); got != "月湖" {
		t.Errorf("stationName %v", got)
	}

	// Asked for JSON-LD, the @context is in the body.
	res = pl.request(t, "GET", path, "", "Accept", "application/ld+json").expect(t, http.StatusOK)
	if e := res.object(t); e["@context"] != coreContext || res.header.Get("Content-Type") != "application/ld+json" {
		t.Errorf("ld+json: @context %v, Content-Type %q", e["@context"], res.header.Get("Content-Type"))
	}

	res = pl.request(t, "GET", "/ngsi-ld/v1/entities?type=AirQualityObserved", "").expect(t, http.StatusOK)
	if list := res.list(t); len(list) != 1 || list[0]["id"] != id {
		t.Errorf("by type: %s", res.body)
	}

	pl.request(t, "DELETE", path, "").expect(t, http.StatusNoContent)
	pl.request(t, "GET", path, "").problem(t, http.StatusNotFound, "ResourceNotFound")
	pl.request(t, "DELETE", path, "").problem(t, http.StatusNotFound, "ResourceNotFound")
}

func TestSmartDataModelsURIsAndInlineContexts(t *testing.T) {
	pl := start(t)
	body := `{
		"@context": [{"fiware": "https://uri.fiware.org/ns/dataModels#", "noise": "fiware:LAeq"}, "https://smartdatamodels.org/context.jsonld"],
		"id": "urn:ngsi-ld:NoiseLevelObserved:n1",
		"type": "https://smartdatamodels.org/dataModel.Environment/NoiseLevelObserved",
		"noise": {"type": "Property", "value": 61},
		"https://smartdatamodels.org/dataModel.Environment/LAmax": 77,
		"refDevice": {"object": "urn:ngsi-ld:Device:d1"},
		"location": {"type": "Point", "coordinates": [121.6, 29.9]}
	}`
	pl.request(t, "POST", "/ngsi-ld/v1/entities", body).expect(t, http.StatusCreated)
	res := pl.request(t, "GET", "/ngsi-ld/v1/entities?type=https://smartdatamodels.org/dataModel.Environment/NoiseLevelObserved&options=keyValues", "")
	list := res.expect(t, http.StatusOK).list(t)
	if len(list) != 1 || list[0]["LAeq"] != 61.0 || list[0]["LAmax"] != 77.0 || list[0]["type"] != "NoiseLevelObserved" {
		t.Errorf("got %s, want LAeq 61 and LAmax 77 under their short names", res.body)
	}
	e := pl.request(t, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:n1", "").expect(t, http.StatusOK).object(t)
	if rel, _ := e["refDevice"].(map[string]any); rel["type"] != "Relationship" || rel["object"] != "urn:ngsi-ld:Device:d1" {
		t.Errorf("concise refDevice came back as %v, want a Relationship", e["refDevice"])
	}
}

func TestUpsertMerges(t *testing.T) {
	pl := start(t)
	id := "urn:ngsi-ld:AirQualityObserved:aq-002"
	at := time.Now().Add(-2 * time.Minute)
	first := "[" + airQuality(id, 30, at, `"stationName": {"type": "Property", "value": "江北"}`) + "]"
	pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert", first).expect(t, http.StatusCreated)

	second := `[{"id": "` + id + `", "type": "AirQualityObserved",
		"stationCode": "NB-02",
		"no2": {"type": "Property", "value": 18, "observedAt": "` + stamp(at.Add(time.Minute)) + `"},
		"@context": "` + coreContext + `"}]`
	pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert", second).expect(t, http.StatusNoContent)

	e := pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id, "").expect(t, http.StatusOK).object(t)
	for name, want := range map[string]any{"stationName": "江北", "stationCode": "NB-02", "pm25": 30.0, "no2": 18.0} {
		if got := attr(t, e, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	// options=replace drops the attributes left out.
	third := `[{"id": "` + id + `", "type": "AirQualityObserved", "stationCode": "NB-03", "@context": "` + coreContext + `"}]`
	pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert?options=replace", third).expect(t, http.StatusNoContent)
	e = pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id, "").expect(t, http.StatusOK).object(t)
	if _, kept := e["stationName"]; kept || attr(t, e, "stationCode") != "NB-03" {
		t.Errorf("after replace: %v, want stationName gone and stationCode NB-03", e)
	}
}

// TestIoTAgentUpsert posts as the FIWARE IoT agents do: a trailing slash,
// options=update and an array of entities each with its @context.
func TestIoTAgentUpsert(t *testing.T) {
	pl := start(t)
	at := stamp(time.Now().Add(-30 * time.Second))
	body := `[
	 {"id": "urn:ngsi-ld:TrafficFlowObserved:tf-01", "type": "TrafficFlowObserved",
	  "intensity": {"type": "Property", "value": 120, "observedAt": "` + at + `"},
	  "congested": {"type": "Property", "value": true, "observedAt": "` + at + `"},
	  "laneId": {"type": "Property", "value": 2},
	  "refRoadSegment": {"type": "Relationship", "object": "urn:ngsi-ld:RoadSegment:中山路"},
	  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.54, 29.88]}},
	  "@context": ["https://smartdatamodels.org/context.jsonld", "` + coreContext + `"]},
	 {"id": "urn:ngsi-ld:TrafficFlowObserved:tf-02", "type": "TrafficFlowObserved",
	  "intensity": {"type": "Property", "value": 80, "observedAt": "` + at + `"},
	  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.56, 29.86]}},
	  "@context": "` + coreContext + `"}
	]`
	res := pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert/?options=update", body).expect(t, http.StatusCreated)
	var created []string
	if err := json.Unmarshal(res.body, &created); err != nil || len(created) != 2 {
		t.Errorf("201 body %s, want the two created ids", res.body)
	}
	pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert/?options=update", body).expect(t, http.StatusNoContent)

	e := pl.request(t, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:TrafficFlowObserved:tf-01", "").expect(t, http.StatusOK).object(t)
	if attr(t, e, "intensity") != 120.0 || attr(t, e, "congested") != true {
		t.Errorf("readings: %v", e)
	}
	if rel := e["refRoadSegment"].(map[string]any); rel["type"] != "Relationship" || rel["object"] != "urn:ngsi-ld:RoadSegment:中山路" {
		t.Errorf("refRoadSegment %v, want the Relationship back", rel)
	}
}

func TestAttrsAppendAndPatch(t *testing.T) {
	pl := start(t)
	id := "urn:ngsi-ld:AirQualityObserved:aq-003"
	pl.request(t, "POST", "/ngsi-ld/v1/entities", airQuality(id, 20, time.Now().Add(-time.Minute), "")).expect(t, http.StatusCreated)
	path := "/ngsi-ld/v1/entities/" + id + "/attrs"

	pl.request(t, "POST", path, `{"stationName": "镇海", "pm10": {"type": "Property", "value": 40}}`,
		"Content-Type", "application/json").expect(t, http.StatusNoContent)
	res := pl.request(t, "PATCH", path, `{"stationName": "镇海站", "missing": 1}`, "Content-Type", "application/json")
	out := res.expect(t, http.StatusMultiStatus).object(t)
	if up, _ := out["updated"].([]any); len(up) != 1 || up[0] != "stationName" {
		t.Errorf("updated %v, want [stationName]", out["updated"])
	}
	if nu, _ := out["notUpdated"].([]any); len(nu) != 1 || nu[0].(map[string]any)["attributeName"] != "missing" {
		t.Errorf("notUpdated %v, want missing", out["notUpdated"])
	}
	e := pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id+"?attrs=stationName,pm10", "").expect(t, http.StatusOK).object(t)
	if attr(t, e, "stationName") != "镇海站" || attr(t, e, "pm10") != 40.0 {
		t.Errorf("after append and patch: %v", e)
	}
	if _, shown := e["pm25"]; shown {
		t.Errorf("attrs=stationName,pm10 shows pm25: %v", e)
	}
	pl.request(t, "DELETE", path+"/stationName", "").expect(t, http.StatusNoContent)
	pl.request(t, "DELETE", path+"/stationName", "").problem(t, http.StatusNotFound, "ResourceNotFound")
	pl.request(t, "PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:X:none/attrs", `{"a": 1}`, "Content-Type", "application/json").
		problem(t, http.StatusNotFound, "ResourceNotFound")
}

func TestReadingOutOfRange(t *testing.T) {
	pl := start(t)
	id := "urn:ngsi-ld:AirQualityObserved:aq-004"
	at := time.Now().Add(-time.Minute)

	// A create is all or nothing.
	p := pl.request(t, "POST", "/ngsi-ld/v1/entities", airQuality(id, 5000, at, "")).problem(t, http.StatusBadRequest, "BadRequestData")
	if detail, _ := p["detail"].(string); !strings.Contains(detail, "pm25") || !strings.Contains(detail, "plausible range") {
		t.Errorf("detail %q, want pm25 and its plausible range", detail)
	}
	pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id, "").problem(t, http.StatusNotFound, "ResourceNotFound")

	// An update keeps what passes and reports the rest.
	pl.request(t, "POST", "/ngsi-ld/v1/entities", airQuality(id, 50, at, "")).expect(t, http.StatusCreated)
	later := stamp(at.Add(30 * time.Second))
	body := `[{"id": "` + id + `", "type": "AirQualityObserved",
		"pm25": {"type": "Property", "value": 5000, "observedAt": "` + later + `"},
		"no2": {"type": "Property", "value": 25, "observedAt": "` + later + `"},
		"@context": "` + coreContext + `"}]`
	out := pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert", body).expect(t, http.StatusMultiStatus).object(t)
	errs, _ := out["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one", out)
	}
	e := errs[0].(map[string]any)
	detail, _ := e["error"].(map[string]any)["detail"].(string)
	if e["entityId"] != id || !strings.Contains(detail, "pm25") || !strings.Contains(detail, "written: no2") {
		t.Errorf("error %v, want pm25 refused and no2 written", e)
	}
	got := pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id, "").expect(t, http.StatusOK).object(t)
	if attr(t, got, "pm25") != 50.0 || attr(t, got, "no2") != 25.0 {
		t.Errorf("pm25 %v (want 50 kept), no2 %v (want 25)", attr(t, got, "pm25"), attr(t, got, "no2"))
	}
}

func TestAuthorization(t *testing.T) {
	pl := start(t)
	id := "urn:ngsi-ld:AirQualityObserved:aq-005"
	body := airQuality(id, 10, time.Now().Add(-time.Minute), "")
	pl.request(t, "GET", "/ngsi-ld/v1/entities", "", "Authorization", "").problem(t, http.StatusUnauthorized, "")
	pl.request(t, "POST", "/ngsi-ld/v1/entities", body, "Authorization", "Bearer consumer").problem(t, http.StatusForbidden, "")
	p := pl.request(t, "POST", "/ngsi-ld/v1/entities", body, "Authorization", "Bearer admin").problem(t, http.StatusForbidden, "")
	if detail, _ := p["detail"].(string); !strings.Contains(detail, "department") {
		t.Errorf("admin without a department: %q, want it to say so", detail)
	}
	pl.request(t, "POST", "/ngsi-ld/v1/entities", body).expect(t, http.StatusCreated)

	attrs := "/ngsi-ld/v1/entities/" + id + "/attrs"
	pl.request(t, "POST", attrs, `{"note": "x"}`, "Content-Type", "application/json", "Authorization", "Bearer police").
		problem(t, http.StatusForbidden, "")
	pl.request(t, "DELETE", "/ngsi-ld/v1/entities/"+id, "", "Authorization", "Bearer police").problem(t, http.StatusForbidden, "")
	pl.request(t, "POST", attrs, `{"note": "x"}`, "Content-Type", "application/json", "Authorization", "Bearer admin").
		expect(t, http.StatusNoContent)
	pl.request(t, "GET", "/ngsi-ld/v1/entities/"+id, "", "Authorization", "Bearer police").expect(t, http.StatusOK)
}
