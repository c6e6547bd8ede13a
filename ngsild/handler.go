// Package ngsild serves a subset of the ETSI NGSI-LD API (the FIWARE
// context broker interface) over the platform's devices: an entity is a
// device, its measured properties are readings that go through the ingest
// pipeline, its location is the device's place and its other attributes
// are the device's attributes. History comes from the series store.
//
// The subset: entities (create, query, get, delete, append and patch
// attributes), entityOperations (create, upsert, update, delete), types,
// attributes and temporal entities. Subscriptions and registrations answer
// 501. Terms are resolved through inline contexts and the embedded core
// context, never fetched; entity types are the platform's device types.
package ngsild

import (
	"log/slog"
	"net/http"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
)

// Handler serves /ngsi-ld/v1/.
type Handler struct {
	devices  cityhub.DeviceService
	series   cityhub.SeriesStore
	pipeline *ingest.Pipeline
	log      *slog.Logger
	allowed  map[string]bool // remote contexts cited without being fetched
}

// New returns a handler over the platform's devices, their series and the
// pipeline that checks and stores readings.
func New(devices cityhub.DeviceService, series cityhub.SeriesStore, pipeline *ingest.Pipeline, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{devices: devices, series: series, pipeline: pipeline,
		log: logger.With("component", "ngsild"), allowed: map[string]bool{}}
}

// AllowContext lets requests cite a remote @context (an IoT agent's user
// context, say) that the broker cannot fetch; its terms are taken as Smart
// Data Model short names. Call it before serving.
func (h *Handler) AllowContext(url string) { h.allowed[url] = true }

const base = "/ngsi-ld/v1"

// Register adds the NGSI-LD routes to mux. Requests must be signed in:
// mux is expected behind the platform's authentication middleware.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := map[string]func(http.ResponseWriter, *http.Request, *cityhub.User){
		"POST " + base + "/entities":                     h.createEntity,
		"GET " + base + "/entities":                      h.queryEntities,
		"GET " + base + "/entities/{$}":                  h.queryEntities,
		"GET " + base + "/entities/{id}":                 h.getEntity,
		"DELETE " + base + "/entities/{id}":              h.deleteEntity,
		"POST " + base + "/entities/{id}/attrs":          h.appendAttrs,
		"PATCH " + base + "/entities/{id}/attrs":         h.patchAttrs,
		"DELETE " + base + "/entities/{id}/attrs/{attr}": h.deleteAttr,
		"GET " + base + "/types":                         h.types,
		"GET " + base + "/types/{type}":                  h.typeInfo,
		"GET " + base + "/attributes":                    h.attributes,
		"GET " + base + "/temporal/entities":             h.queryTemporal,
		"GET " + base + "/temporal/entities/{id}":        h.getTemporal,
		base + "/": h.unsupported,
	}
	for _, op := range []string{"create", "upsert", "update", "delete"} {
		// FIWARE IoT agents post to .../upsert/ with a trailing slash.
		routes["POST "+base+"/entityOperations/"+op] = h.batch(op)
		routes["POST "+base+"/entityOperations/"+op+"/{$}"] = h.batch(op)
	}
	for pattern, fn := range routes {
		mux.Handle(pattern, h.signedIn(fn))
	}
}

// signedIn refuses anonymous requests and hands the user to next.
func (h *Handler) signedIn(next func(http.ResponseWriter, *http.Request, *cityhub.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := cityhub.UserFrom(r.Context())
		if u == nil {
			h.fail(w, r, unauthorized("sign in: send Authorization: Bearer <token>"))
			return
		}
		if u.HasRole(cityhub.RolePublic) { // devices are staff business
			h.fail(w, r, forbidden("a public account has no access to the context broker"))
			return
		}
		if cityhub.ActorFrom(r.Context()).UserID == 0 { // the store's audit records name who changed what
			r = r.WithContext(cityhub.WithActor(r.Context(), cityhub.Actor{UserID: u.ID, Username: u.Username}))
		}
		next(w, r, u)
	})
}

func (h *Handler) unsupported(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	h.fail(w, r, notSupported(http.StatusNotImplemented, "%s %s is not part of this broker's NGSI-LD subset "+
		"(entities, entityOperations, types, attributes, temporal/entities)", r.Method, r.URL.Path))
}

// typeOf returns a device type by its short name.
func (h *Handler) typeOf(name string) *cityhub.DeviceType {
	t, _ := h.pipeline.Type(name)
	return t
}

// mayCreate says why u may not create devices, or nil.
func mayCreate(u *cityhub.User) *problem {
	if !u.HasRole(cityhub.RolePlatformAdmin) && !u.HasRole(cityhub.RoleDeptAdmin) && !u.HasRole(cityhub.RoleSteward) {
		return forbidden("creating entities needs the platform_admin, dept_admin or data_steward role")
	}
	if u.DepartmentID == nil {
		return forbidden("an entity created through NGSI-LD becomes a device of its creator's department, " +
			"and this account has none; use an account of the department that runs the sensor")
	}
	return nil
}

// mayWrite says why u may not change a device of department dept, or nil.
func mayWrite(u *cityhub.User, dept int64) *problem {
	switch {
	case u.HasRole(cityhub.RolePlatformAdmin):
		return nil
	case !u.HasRole(cityhub.RoleDeptAdmin) && !u.HasRole(cityhub.RoleSteward):
		return forbidden("changing entities needs the platform_admin, dept_admin or data_steward role")
	case u.DepartmentID == nil || *u.DepartmentID != dept:
		return forbidden("this entity is a device of another department")
	}
	return nil
}
