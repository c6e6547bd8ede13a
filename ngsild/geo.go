package ngsild

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A geoQuery is an NGSI-LD geo-query on the devices' locations: near a
// point, or within (intersecting, disjoint from, equal to) a geometry.
type geoQuery struct {
	rel              string
	minDist, maxDist float64 // near, in metres; maxDist 0 means no bound
	point            [2]float64
	polygon          [][][2]float64 // rings: the outer one, then holes
}

// parseGeoQuery reads georel, geometry, coordinates and geoproperty; nil
// when there is no georel.
func parseGeoQuery(q url.Values, voc *vocabulary) (*geoQuery, *problem) {
	georel := q.Get("georel")
	if georel == "" {
		return nil, nil
	}
	if gp := q.Get("geoproperty"); gp != "" && voc.name(gp) != "location" {
		return nil, notSupported(http.StatusNotImplemented, "geo-queries work on location only")
	}
	parts := strings.Split(georel, ";")
	g := &geoQuery{rel: parts[0]}
	for _, mod := range parts[1:] {
		k, v, ok := strings.Cut(mod, "==")
		d, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || d < 0 || math.IsInf(d, 0) || (k != "maxDistance" && k != "minDistance") || g.rel != "near" {
			return nil, badRequest("georel modifier %q: want near;maxDistance==<metres> or near;minDistance==<metres>", clip(mod))
		}
		if k == "maxDistance" {
			g.maxDist = d
		} else {
			g.minDist = d
		}
	}
	geometry := q.Get("geometry")
	want := map[string]string{"near": "Point", "equals": "Point", "within": "Polygon", "intersects": "Polygon", "disjoint": "Polygon"}
	switch {
	case g.rel == "near" && g.maxDist == 0 && g.minDist == 0:
		return nil, badRequest("georel=near needs maxDistance or minDistance")
	case want[g.rel] != "" && want[g.rel] != geometry || g.rel == "contains" || g.rel == "overlaps":
		return nil, notSupported(http.StatusNotImplemented,
			"supported geo-queries: near and equals with a Point; within, intersects and disjoint with a Polygon")
	case want[g.rel] == "":
		return nil, badRequest("georel %q is not an NGSI-LD geo-relationship", clip(g.rel))
	}
	var coords any
	if err := json.Unmarshal([]byte(q.Get("coordinates")), &coords); err != nil {
		return nil, badRequest("coordinates is a JSON array such as [121.55,29.87]")
	}
	var err error
	if geometry == "Point" {
		g.point, err = position(coords)
	} else {
		g.polygon, err = rings(coords)
	}
	if err != nil {
		return nil, badRequest("coordinates: %v", err)
	}
	return g, nil
}

// position reads [longitude, latitude].
func position(v any) ([2]float64, error) {
	c, _ := v.([]any)
	if len(c) < 2 || len(c) > 3 {
		return [2]float64{}, errors.New("a position is [longitude, latitude]")
	}
	lon, ok1 := c[0].(float64)
	lat, ok2 := c[1].(float64)
	if !ok1 || !ok2 || math.Abs(lon) > 180 || math.Abs(lat) > 90 {
		return [2]float64{}, errors.New("a position is [longitude, latitude] in degrees")
	}
	return [2]float64{lon, lat}, nil
}

// rings reads a Polygon's linear rings.
func rings(v any) ([][][2]float64, error) {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil, errors.New("a Polygon is a list of rings")
	}
	out := make([][][2]float64, len(list))
	for i, ring := range list {
		points, _ := ring.([]any)
		if len(points) < 4 {
			return nil, errors.New("a Polygon's ring has at least four positions")
		}
		for _, p := range points {
			pos, err := position(p)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], pos)
		}
	}
	return out, nil
}

// matches tells whether a device at lon, lat answers the query.
func (g *geoQuery) matches(lon, lat float64) bool {
	switch g.rel {
	case "near":
		d := distance(g.point, [2]float64{lon, lat})
		return d >= g.minDist && (g.maxDist == 0 || d <= g.maxDist)
	case "equals":
		return g.point == [2]float64{lon, lat}
	case "disjoint":
		return !g.inPolygon(lon, lat)
	}
	return g.inPolygon(lon, lat) // within, intersects: a point inside
}

func (g *geoQuery) inPolygon(lon, lat float64) bool {
	if !inRing(g.polygon[0], lon, lat) {
		return false
	}
	for _, hole := range g.polygon[1:] {
		if inRing(hole, lon, lat) {
			return false
		}
	}
	return true
}

// inRing casts a ray east from the point and counts the edges it crosses.
func inRing(ring [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// distance is the great-circle distance in metres (haversine).
func distance(a, b [2]float64) float64 {
	const earthRadius = 6371008.8
	rad := math.Pi / 180
	dLat, dLon := (b[1]-a[1])*rad, (b[0]-a[0])*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[1]*rad)*math.Cos(b[1]*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(min(h, 1)))
}
