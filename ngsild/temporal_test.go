package ngsild_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestTemporal(t *testing.T) {
	pl := start(t)
	id := "urn:ngsi-ld:WaterQualityObserved:w1"
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i, ph := range []float64{7.1, 7.3, 6.9} {
		body := fmt.Sprintf(`[{"id": %q, "type": "WaterQualityObserved",
			"pH": {"type": "Property", "value": %v, "observedAt": %q},
			"temperature": {"type": "Property", "value": %v, "observedAt": %q},
			"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.5, 29.9]}},
			"@context": %q}]`, id, ph, stamp(t0.Add(time.Duration(i)*time.Minute)), 18+i, stamp(t0.Add(time.Duration(i)*time.Minute)), coreContext)
		if res := pl.request(t, "POST", "/ngsi-ld/v1/entityOperations/upsert/?options=update", body); res.status >= 300 {
			t.Fatalf("upsert %d: %d %s", i, res.status, res.body)
		}
	}
	path := "/ngsi-ld/v1/temporal/entities/" + id

	e := pl.request(t, "GET", path+"?attrs=pH", "").expect(t, http.StatusOK).object(t)
	ph, _ := e["pH"].([]any)
	if len(ph) != 3 {
		t.Fatalf("pH history %v, want 3 instances", e)
	}
	for i, want := range []float64{7.1, 7.3, 6.9} {
		inst := ph[i].(map[string]any)
		if inst["value"] != want || inst["observedAt"] != stamp(t0.Add(time.Duration(i)*time.Minute)) || inst["type"] != "Property" {
			t.Errorf("instance %d = %v, want %v at %s", i, inst, want, stamp(t0.Add(time.Duration(i)*time.Minute)))
		}
	}
	if _, shown := e["temperature"]; shown {
		t.Errorf("attrs=pH shows temperature")
	}

	q := url.Values{"timerel": {"after"}, "timeAt": {stamp(t0)}, "attrs": {"temperature"}, "options": {"temporalValues"}}
	e = pl.request(t, "GET", path+"?"+q.Encode(), "").expect(t, http.StatusOK).object(t)
	temp := e["temperature"].(map[string]any)
	if got := fmt.Sprint(temp["values"]); got != fmt.Sprintf("[[19 %s] [20 %s]]", stamp(t0.Add(time.Minute)), stamp(t0.Add(2*time.Minute))) {
		t.Errorf("temporalValues after t0: %s", got)
	}

	q = url.Values{"timerel": {"between"}, "timeAt": {stamp(t0)}, "endTimeAt": {stamp(t0.Add(2 * time.Minute))}, "lastN": {"1"}, "attrs": {"pH"}}
	e = pl.request(t, "GET", path+"?"+q.Encode(), "").expect(t, http.StatusOK).object(t)
	if ph := e["pH"].([]any); len(ph) != 1 || ph[0].(map[string]any)["value"] != 7.3 {
		t.Errorf("between t0 and t0+2m, lastN=1: %v, want the 7.3 of t0+1m", e["pH"])
	}

	list := pl.request(t, "GET", "/ngsi-ld/v1/temporal/entities?type=WaterQualityObserved&attrs=pH&count=true", "").expect(t, http.StatusOK).list(t)
	if len(list) != 1 || len(list[0]["pH"].([]any)) != 3 {
		t.Errorf("temporal query: %v", list)
	}
	pl.request(t, "GET", path+"?timerel=between&timeAt="+url.QueryEscape(stamp(t0)), "").problem(t, http.StatusBadRequest, "BadRequestData")
	pl.request(t, "GET", "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:none", "").problem(t, http.StatusNotFound, "ResourceNotFound")
}
