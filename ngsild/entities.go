package ngsild

import (
	"net/http"
	"net/url"

	"github.com/cityhub/cityhub"
)

// decode reads one entity (or attribute fragment) of a body.
func (h *Handler) decode(b *body, item any, fragment bool) (*entity, *problem) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, badRequest("an entity is a JSON object")
	}
	ldContext, p := b.entityContext(m)
	if p != nil {
		return nil, p
	}
	voc, p := h.vocabularyOf(ldContext)
	if p != nil {
		return nil, p
	}
	return decodeEntity(m, voc, fragment)
}

func (h *Handler) createEntity(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
	b, p := readBody(w, r)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	e, p := h.decode(b, b.value, false)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	rb := h.newReadingBatch()
	out := h.apply(r.Context(), u, e, create, rb)
	rb.wait(r.Context())
	if out.err != nil {
		h.fail(w, r, out.err)
		return
	}
	w.Header().Set("Location", base+"/entities/"+url.PathEscape(e.ID))
	w.WriteHeader(http.StatusCreated)
}

func (h *Handler) getEntity(w http.ResponseWriter, r *http.Request, _ *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	dev, err := h.devices.DeviceByEntityID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, h.notFoundOr(r, err))
		return
	}
	latest, err := h.series.Latest(r.Context(), []int64{dev.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doc := renderEntity(dev, h.typeOf(dev.Type), latest[dev.ID], attrList(rd.query, rd.voc), keyValues(rd.query))
	reply(w, http.StatusOK, rd.format, doc)
}

// notFoundOr tells a missing entity in NGSI-LD's words.
func (h *Handler) notFoundOr(r *http.Request, err error) error {
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return notFound("entity %s not found", r.PathValue("id"))
	}
	return err
}

func (h *Handler) deleteEntity(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
	if p := h.deleteOne(r, u, r.PathValue("id")); p != nil {
		h.fail(w, r, p)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteOne removes an entity's device. Its readings stay in the series
// store, as history does.
func (h *Handler) deleteOne(r *http.Request, u *cityhub.User, id string) *problem {
	dev, err := h.devices.DeviceByEntityID(r.Context(), id)
	if err == nil {
		if p := mayWrite(u, dev.DepartmentID); p != nil {
			return p
		}
		err = h.devices.DeleteDevice(r.Context(), dev.ID)
	}
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return notFound("entity %s not found", id)
	}
	if err != nil {
		return h.problemOf(r, err)
	}
	return nil
}

// appendAttrs adds or overwrites attributes (POST .../attrs).
func (h *Handler) appendAttrs(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
	h.writeAttrs(w, r, u, update)
}

// patchAttrs changes attributes the entity has (PATCH .../attrs).
func (h *Handler) patchAttrs(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
	h.writeAttrs(w, r, u, patch)
}

func (h *Handler) writeAttrs(w http.ResponseWriter, r *http.Request, u *cityhub.User, m mode) {
	b, p := readBody(w, r)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	e, p := h.decode(b, b.value, true)
	if p != nil {
		h.fail(w, r, p)
		return
	}
	e.ID = r.PathValue("id")
	rb := h.newReadingBatch()
	out := h.apply(r.Context(), u, e, m, rb)
	rb.wait(r.Context())
	switch {
	case out.err != nil:
		h.fail(w, r, out.err)
	case len(out.notUpdated) == 0:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusMultiStatus, map[string]any{"updated": out.updated(), "notUpdated": out.notUpdated})
	}
}

// deleteAttr removes one of the attributes a device keeps; measured
// properties and the location stay.
func (h *Handler) deleteAttr(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
	rd := h.readRequest(w, r)
	if rd == nil {
		return
	}
	dev, err := h.devices.DeviceByEntityID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, h.notFoundOr(r, err))
		return
	}
	if p := mayWrite(u, dev.DepartmentID); p != nil {
		h.fail(w, r, p)
		return
	}
	name := rd.voc.name(r.PathValue("attr"))
	if typ := h.typeOf(dev.Type); name == "location" || typ != nil && hasProperty(typ, name) {
		h.fail(w, r, badRequest("%s is measured or is the device's place; it cannot be removed", name))
		return
	}
	if !hasKey(dev.Attributes, name) {
		h.fail(w, r, notFound("entity %s has no attribute %s", dev.EntityID, name))
		return
	}
	if err := h.devices.MergeDeviceAttributes(r.Context(), dev.ID, map[string]any{name: nil}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func hasProperty(t *cityhub.DeviceType, name string) bool {
	_, ok := t.Property(name)
	return ok
}
