package ngsild_test

import (
	"testing"

	"github.com/cityhub/cityhub/ngsild"
)

func FuzzEntity(f *testing.F) {
	for _, seed := range []string{
		`{"id": "urn:ngsi-ld:AirQualityObserved:aq-1", "type": "AirQualityObserved", "pm25": {"type": "Property", "value": 12, "observedAt": "2024-05-01T08:00:00Z", "unitCode": "GQ"}, "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [121.5, 29.8]}}, "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}`,
		`{"id": "urn:ngsi-ld:TrafficFlowObserved:/#+ ", "type": ["TrafficFlowObserved"], "congested": true, "ref": {"type": "Relationship", "object": "urn:x:1"}, "name": {"type": "LanguageProperty", "languageMap": {"zh": "路"}}}`,
		`{"id": "urn:a::", "type": "https://smartdatamodels.org/dataModel.Environment/NoiseLevelObserved", "@context": [{"n": "https://smartdatamodels.org/x/LAeq", "p": "n:"}, null], "p:q": {"value": null}}`,
		`{"id": "urn:x", "type": "Streetlight", "status": [{"type": "Property", "value": 1, "datasetId": "urn:d"}], "location": {"type": "Polygon", "coordinates": []}}`,
		`{"id": "urn:ngsi-ld:WaterQualityObserved:1", "type": "WaterQualityObserved", "division": "海曙区", "address": {"addressLocality": 5}, "pH": {"type": "Property", "value": "7.2", "observedAt": "2099-01-01T00:00:00+08:00"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := ngsild.CheckEntity(body); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzQuery(f *testing.F) {
	for _, seed := range []string{`pm25>50;pm25<70`, `(pm25==1..60|name=="月湖");on==true`, `address[addressLocality]~="^海"`,
		`tags==a,b`, `name!~="(?i)x"`, `((((`, `a=="\"`, `pm25>=NaN`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if err := ngsild.CheckQuery(q); err != nil {
			t.Fatal(err)
		}
	})
}
