package ngsild

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// A mode is how an entity meets the device it names.
type mode int

const (
	create  mode = iota // must not exist; refused whole on any problem
	upsert              // created, or merged into the existing device
	replace             // upsert that removes the attributes left out
	update              // must exist; attributes added or overwritten
	patch               // must exist; only attributes it has change
)

// An outcome is what became of one entity of a request.
type outcome struct {
	id         string
	created    bool
	accepted   []string // attribute names taken in
	notUpdated []notUpdated
	err        *problem // the entity was refused
}

type notUpdated struct {
	AttributeName string `json:"attributeName"`
	Reason        string `json:"reason"`
}

func (o *outcome) refuse(name, reason string) {
	o.notUpdated = append(o.notUpdated, notUpdated{name, reason})
}

// updated is the attributes taken in and not refused later.
func (o *outcome) updated() []string {
	out := []string{}
	for _, name := range o.accepted {
		if !o.refused(name) {
			out = append(out, name)
		}
	}
	return out
}

func (o *outcome) refused(name string) bool {
	for _, n := range o.notUpdated {
		if n.AttributeName == name {
			return true
		}
	}
	return false
}

// apply writes one entity; its readings join rb, whose wait settles them.
func (h *Handler) apply(ctx context.Context, u *cityhub.User, e *entity, m mode, rb *readingBatch) *outcome {
	out := &outcome{id: e.ID}
	dev, err := h.devices.DeviceByEntityID(ctx, e.ID)
	switch {
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND && (m == update || m == patch):
		out.err = notFound("entity %s not found", e.ID)
		return out
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
		return h.create(ctx, u, e, m, rb)
	case err != nil:
		out.err = h.storeProblem(ctx, err)
		return out
	case m == create:
		out.err = alreadyExists("entity %s exists", e.ID)
		return out
	case e.Type != "" && e.Type != dev.Type:
		out.err = badRequest("entity %s has type %s, not %s", e.ID, dev.Type, e.Type)
		return out
	}
	if p := mayWrite(u, dev.DepartmentID); p != nil {
		out.err = p
		return out
	}
	pl := planEntity(e, h.typeOf(dev.Type), dev, m, time.Now())
	out.accepted, out.notUpdated = pl.names, pl.problems
	if len(pl.attrs) > 0 {
		err := h.devices.MergeDeviceAttributes(ctx, dev.ID, pl.attrs)
		if !h.refuseOn(ctx, out, err, slices.Collect(maps.Keys(pl.attrs))...) {
			return out
		}
	}
	if pl.location != nil && (dev.Lon != pl.location[0] || dev.Lat != pl.location[1]) {
		dev.Lon, dev.Lat = pl.location[0], pl.location[1]
		if !h.refuseOn(ctx, out, h.devices.UpdateDevice(ctx, dev), "location") {
			return out
		}
	}
	rb.add(ctx, dev, pl.samples, out)
	return out
}

// refuseOn records the store's refusal against the attributes it
// concerns; false means the store failed and the entity stops there.
func (h *Handler) refuseOn(ctx context.Context, out *outcome, err error, names ...string) bool {
	if err == nil {
		return true
	}
	if p := h.storeProblem(ctx, err); p.Status >= 500 {
		out.err = p
		return false
	}
	for _, name := range names {
		out.refuse(name, describe(err))
	}
	return true
}

// create makes the device that a new entity stands for.
func (h *Handler) create(ctx context.Context, u *cityhub.User, e *entity, m mode, rb *readingBatch) *outcome {
	out := &outcome{id: e.ID}
	if out.err = mayCreate(u); out.err != nil {
		return out
	}
	typ := h.typeOf(e.Type)
	if typ == nil {
		out.err = notSupported(http.StatusUnprocessableEntity, "type %s is not a device type this platform keeps; it keeps %s",
			e.Type, strings.Join(typeNames(), ", "))
		return out
	}
	pl := planEntity(e, typ, nil, m, time.Now())
	if m == create && len(pl.problems) > 0 {
		out.err = badRequest("%s", pl.problemText())
		return out
	}
	if pl.location == nil {
		out.err = badRequest("creating %s needs its location: a GeoProperty Point [longitude, latitude] in WGS 84", e.ID)
		return out
	}
	division, err := divisionOf(e)
	if err != nil {
		out.err = badRequest("%v", err)
		return out
	}
	dev := &cityhub.Device{Type: typ.Name, DepartmentID: *u.DepartmentID, Division: division,
		Lon: pl.location[0], Lat: pl.location[1], EntityID: e.ID, Attributes: map[string]any{}}
	for name, v := range pl.attrs {
		if v != nil {
			dev.Attributes[name] = v
		}
	}
	if err := h.createDevice(ctx, dev); err != nil {
		if out.err = h.storeProblem(ctx, err); cityhub.ErrorCode(err) == cityhub.ECONFLICT {
			out.err = alreadyExists("entity %s exists", e.ID) // created meanwhile
		}
		return out
	}
	out.created, out.accepted, out.notUpdated = true, pl.names, pl.problems
	rb.add(ctx, dev, pl.samples, out)
	return out
}
