package ngsild_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// threeStations creates air quality stations with pm25 30, 60 and 80,
// about 0, 1.1 and 11 km east of 121.55, 29.87.
func threeStations(t *testing.T, pl *platform) {
	t.Helper()
	at := stamp(time.Now().Add(-time.Minute))
	var entities []string
	for i, s := range []struct {
		pm25 float64
		lon  float64
		name string
	}{{30, 121.55, "月湖"}, {60, 121.561, "天一"}, {80, 121.66, "北仑"}} {
		entities = append(entities, fmt.Sprintf(`{"id": "urn:ngsi-ld:AirQualityObserved:s%d", "type": "AirQualityObserved",
			"pm25": {"type": "Property", "value": %v, "observedAt": %q},
			"stationName": %q,
			"address": {"addressLocality": "海曙区"},
			"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [%v, 29.87]}},
			"@context": %q}`, i+1, s.pm25, at, s.name, s.lon, coreContext))
	}
	entities = append(entities, fmt.Sprintf(`{"id": "urn:ngsi-ld:NoiseLevelObserved:n1", "type": "NoiseLevelObserved",
		"LAeq": {"type": "Property", "value": 55, "observedAt": %q},
		"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.55, 29.87]}},
		"@context": %q}`, at, coreContext))
	pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/create", "["+strings.Join(entities, ",")+"]").expect(t, http.StatusCreated)
}

// rawQuery encodes a query written plainly, leaving ; raw as NGSI-LD
// clients send it: k=v&k=v, where v may hold = itself.
func rawQuery(plain string) string {
	var pairs []string
	for _, kv := range strings.Split(plain, "&") {
		k, v, _ := strings.Cut(kv, "=")
		pairs = append(pairs, k+"="+strings.ReplaceAll(url.QueryEscape(v), "%3B", ";"))
	}
	return strings.Join(pairs, "&")
}

func ids(t *testing.T, r *response) string {
	t.Helper()
	var out []string
	for _, e := range r.expect(t, http.StatusOK).list(t) {
		id, _ := e["id"].(string)
		out = append(out, id[strings.LastIndex(id, ":")+1:])
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestQueryEntities(t *testing.T) {
	pl := start(t)
	threeStations(t, pl)
	tests := []struct {
		query string
		want  string
	}{
		{"type=AirQualityObserved", "s1,s2,s3"},
		{"type=AirQualityObserved,NoiseLevelObserved", "n1,s1,s2,s3"},
		{"type=AirQualityObserved&q=pm25>50", "s2,s3"},
		{"type=AirQualityObserved&q=pm25>50;pm25<70", "s2"},
		{"q=pm25==30|LAeq>=55", "n1,s1"},
		{"q=pm25==25..65", "s1,s2"},
		{"q=pm25!=30", "s2,s3"},
		{`q=stationName=="天一"`, "s2"},
		{`q=stationName~="^北"`, "s3"},
		{`q=address[addressLocality]=="海曙区";pm25<=60`, "s1,s2"},
		{"q=LAeq", "n1"},
		{"attrs=LAeq", "n1"},
		{"id=urn:ngsi-ld:AirQualityObserved:s1,urn:ngsi-ld:AirQualityObserved:s3", "s1,s3"},
		{"idPattern=^urn:ngsi-ld:AirQualityObserved:s[12]$", "s1,s2"},
		{"type=AirQualityObserved&georel=near;maxDistance==2000&geometry=Point&coordinates=[121.55,29.87]", "s1,s2"},
		{"type=AirQualityObserved&georel=near;minDistance==5000&geometry=Point&coordinates=[121.55,29.87]", "s3"},
		{"georel=within&geometry=Polygon&coordinates=[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.5,29.9],[121.5,29.8]]]", "n1,s1,s2"},
		{"type=Building", ""},
	}
	for _, tt := range tests {
		if got := ids(t, pl.request(t, "GET", "/ngsi-ld/v1/entities?"+rawQuery(tt.query), "")); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

func TestQueryPagingCountKeyValues(t *testing.T) {
	pl := start(t)
	threeStations(t, pl)
	res := pl.request(t, "GET", "/ngsi-ld/v1/entities?type=AirQualityObserved&q=pm25>50&count=true&options=keyValues", "")
	list := res.expect(t, http.StatusOK).list(t)
	if got := res.header.Get("NGSILD-Results-Count"); got != "2" {
		t.Errorf("NGSILD-Results-Count %q, want 2", got)
	}
	for _, e := range list {
		if _, ok := e["pm25"].(float64); !ok {
			t.Errorf("keyValues pm25 = %v, want a bare number", e["pm25"])
		}
		if loc, _ := e["location"].(map[string]any); loc["type"] != "Point" {
			t.Errorf("keyValues location = %v, want the GeoJSON Point", e["location"])
		}
	}

	res = pl.request(t, "GET", "/ngsi-ld/v1/entities?type=AirQualityObserved&limit=2&offset=2&count=true", "")
	if got := ids(t, res); got != "s3" || res.header.Get("NGSILD-Results-Count") != "3" {
		t.Errorf("page 2: %q count %q, want s3 of 3", got, res.header.Get("NGSILD-Results-Count"))
	}
	res = pl.request(t, "GET", "/ngsi-ld/v1/entities?q=pm25>0&limit=0&count=true", "").expect(t, http.StatusOK)
	if len(res.list(t)) != 0 || res.header.Get("NGSILD-Results-Count") != "3" {
		t.Errorf("limit=0: %s, count %q", res.body, res.header.Get("NGSILD-Results-Count"))
	}
	for _, bad := range []string{"limit=1001", "limit=-1", "q=pm25>>1", "q=(pm25>1", `q=name=="open`, "idPattern=(",
		"georel=near&geometry=Point&coordinates=[121,29]", "georel=near;maxDistance==10&geometry=Point&coordinates=oops",
		"georel=sideways&geometry=Point&coordinates=[1,2]"} {
		t.Run(bad, func(t *testing.T) {
			pl.request(t, "GET", "/ngsi-ld/v1/entities?"+rawQuery(bad), "").problem(t, http.StatusBadRequest, "BadRequestData")
		})
	}
}

func TestTypesAndAttributes(t *testing.T) {
	pl := start(t)
	threeStations(t, pl)
	types := pl.request(t, "GET", "/ngsi-ld/v1/types", "").expect(t, http.StatusOK).object(t)
	if list := fmt.Sprint(types["typeList"]); list != "[AirQualityObserved NoiseLevelObserved]" {
		t.Errorf("typeList %s", list)
	}
	info := pl.request(t, "GET", "/ngsi-ld/v1/types/AirQualityObserved", "").expect(t, http.StatusOK).object(t)
	if info["entityCount"] != 3.0 || info["id"] != "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved" {
		t.Errorf("type info %v", info)
	}
	pl.request(t, "GET", "/ngsi-ld/v1/types/Building", "").problem(t, http.StatusNotFound, "ResourceNotFound")
	attrs := pl.request(t, "GET", "/ngsi-ld/v1/attributes", "").expect(t, http.StatusOK).object(t)
	list := fmt.Sprint(attrs["attributeList"])
	for _, want := range []string{"pm25", "LAeq", "location", "stationName", "address"} {
		if !strings.Contains(list, want) {
			t.Errorf("attributeList %s lacks %s", list, want)
		}
	}
}
