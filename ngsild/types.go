package ngsild

import (
	"context"
	"net/http"
	"sort"

	"github.com/cityhub/cityhub"
)

// typesInUse counts the devices of each device type that has some.
func (h *Handler) typesInUse(ctx context.Context) ([]cityhub.DeviceType, map[string]int, error) {
	var used []cityhub.DeviceType
	counts := map[string]int{}
	for _, t := range cityhub.DeviceTypes() {
		_, n, err := h.devices.Devices(ctx, cityhub.DeviceQuery{Type: t.Name, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			used = append(used, t)
			counts[t.Name] = n
		}
	}
	return used, counts, nil
}

// typeAttributes are what every entity of a type may carry: its measured
// properties and its location.
func typeAttributes(t cityhub.DeviceType) []string {
	names := []string{"location"}
	for _, p := range t.Properties {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// types lists the entity types that have entities (GET /types); with
// details=true, each with its attribute names.
func (h *Handler) types(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	used, _, err := h.typesInUse(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if rd.query.Get("details") == "true" {
		docs := make([]document, len(used))
		for i, t := range used {
			docs[i] = document{"id": typeIRI(t.Name), "type": "EntityType", "typeName": t.Name, "attributeNames": typeAttributes(t)}
		}
		reply(w, http.StatusOK, rd.format, docs)
		return
	}
	names := make([]string, len(used))
	for i, t := range used {
		names[i] = t.Name
	}
	reply(w, http.StatusOK, rd.format, document{"id": "urn:ngsi-ld:EntityTypeList:cityhub", "type": "EntityTypeList", "typeList": names})
}

// typeInfo describes one type (GET /types/{type}).
func (h *Handler) typeInfo(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	name := rd.voc.name(r.PathValue("type"))
	used, counts, err := h.typesInUse(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, t := range used {
		if t.Name != name {
			continue
		}
		var details []document
		for _, a := range typeAttributes(t) {
			kind := kindProperty
			if a == "location" {
				kind = kindGeoProperty
			}
			details = append(details, document{"id": attributeIRI(a), "type": "Attribute", "attributeName": a, "attributeTypes": []string{kind}})
		}
		reply(w, http.StatusOK, rd.format, document{"id": typeIRI(t.Name), "type": "EntityTypeInfo", "typeName": t.Name,
			"entityCount": counts[t.Name], "attributeDetails": details})
		return
	}
	h.fail(w, r, notFound("no entities of type %s", name))
}

func attributeIRI(name string) string {
	if name == "location" {
		return "https://uri.etsi.org/ngsi-ld/location"
	}
	return "https://uri.etsi.org/ngsi-ld/default-context/" + name
}

// attributes lists the attribute names entities carry (GET /attributes):
// measured properties and location of the types in use and every device
// attribute.
func (h *Handler) attributes(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	used, _, err := h.typesInUse(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	typesOf := map[string]map[string]bool{} // attribute → type names
	note := func(attr, typ string) {
		if typesOf[attr] == nil {
			typesOf[attr] = map[string]bool{}
		}
		typesOf[attr][typ] = true
	}
	for _, t := range used {
		for _, a := range typeAttributes(t) {
			note(a, t.Name)
		}
	}
	devs, err := h.allDevices(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range devs {
		for a := range d.Attributes {
			note(a, d.Type)
		}
	}
	names := make([]string, 0, len(typesOf))
	for a := range typesOf {
		names = append(names, a)
	}
	sort.Strings(names)
	if rd.query.Get("details") != "true" {
		reply(w, http.StatusOK, rd.format, document{"id": "urn:ngsi-ld:AttributeList:cityhub", "type": "AttributeList", "attributeList": names})
		return
	}
	docs := make([]document, len(names))
	for i, a := range names {
		var typeNames []string
		for t := range typesOf[a] {
			typeNames = append(typeNames, t)
		}
		sort.Strings(typeNames)
		docs[i] = document{"id": attributeIRI(a), "type": "Attribute", "attributeName": a, "typeNames": typeNames}
	}
	reply(w, http.StatusOK, rd.format, docs)
}
