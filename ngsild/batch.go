package ngsild

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cityhub/cityhub"
)

// maxBatch bounds the entities of one batch operation.
const maxBatch = 1000

// batchError is one entity's failure in a 207 answer.
type batchError struct {
	EntityID string   `json:"entityId"`
	Error    *problem `json:"error"`
}

// batch serves /entityOperations/{create,upsert,update,delete}: 201 or 204
// when every entity succeeds, else 207 with the successes and the errors.
func (h *Handler) batch(op string) func(http.ResponseWriter, *http.Request, *cityhub.User) {
	return func(w http.ResponseWriter, r *http.Request, u *cityhub.User) {
		q, p := queryOf(r)
		if p != nil {
			h.fail(w, r, p)
			return
		}
		m, p := batchMode(op, q)
		if p != nil {
			h.fail(w, r, p)
			return
		}
		b, p := readBody(w, r)
		if p != nil {
			h.fail(w, r, p)
			return
		}
		items, ok := b.value.([]any)
		switch {
		case !ok:
			h.fail(w, r, badRequest("entityOperations/%s takes a JSON array", op))
			return
		case len(items) > maxBatch:
			h.fail(w, r, badRequest("a batch holds at most %d entities", maxBatch))
			return
		}
		var outs []*outcome
		if op == "delete" {
			outs = h.deleteAll(r, u, items)
		} else {
			outs = h.writeAll(r, u, b, items, m)
		}
		h.batchReply(w, op, outs)
	}
}

// batchMode reads the operation and its options: upsert merges unless
// options=replace; options=update says so explicitly (IoT agents send it).
func batchMode(op string, q url.Values) (mode, *problem) {
	opts := options(q)
	switch {
	case op == "create":
		return create, nil
	case op == "update" || op == "delete":
		return update, nil
	case opts["update"] && opts["replace"]:
		return 0, badRequest("options=update and options=replace contradict each other")
	case opts["replace"]:
		return replace, nil
	}
	return upsert, nil
}

func (h *Handler) writeAll(r *http.Request, u *cityhub.User, b *body, items []any, m mode) []*outcome {
	rb := h.newReadingBatch()
	outs := make([]*outcome, 0, len(items))
	for _, item := range items {
		e, p := h.decode(b, item, false)
		if p != nil {
			outs = append(outs, &outcome{id: idOf(item), err: p})
			continue
		}
		outs = append(outs, h.apply(r.Context(), u, e, m, rb))
	}
	rb.wait(r.Context())
	return outs
}

func (h *Handler) deleteAll(r *http.Request, u *cityhub.User, items []any) []*outcome {
	outs := make([]*outcome, 0, len(items))
	for _, item := range items {
		id, ok := item.(string)
		if !ok {
			outs = append(outs, &outcome{id: idOf(item), err: badRequest("entityOperations/delete takes an array of entity ids")})
			continue
		}
		outs = append(outs, &outcome{id: id, err: h.deleteOne(r, u, id)})
	}
	return outs
}

// idOf names an item that could not be decoded, as far as it can.
func idOf(item any) string {
	m, _ := item.(map[string]any)
	id, _ := m["id"].(string)
	return clip(id)
}

func (h *Handler) batchReply(w http.ResponseWriter, op string, outs []*outcome) {
	success, created := []string{}, []string{}
	var errs []batchError
	for _, o := range outs {
		switch {
		case o.err != nil:
			errs = append(errs, batchError{o.id, o.err})
		case len(o.notUpdated) > 0:
			errs = append(errs, batchError{o.id, partialProblem(o)})
		default:
			success = append(success, o.id)
			if o.created {
				created = append(created, o.id)
			}
		}
	}
	switch {
	case len(errs) > 0:
		writeJSON(w, http.StatusMultiStatus, map[string]any{"success": success, "errors": errs})
	case op == "create" || (op == "upsert" && len(created) > 0):
		writeJSON(w, http.StatusCreated, created)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// partialProblem tells an entity some of whose attributes were refused;
// the others were written.
func partialProblem(o *outcome) *problem {
	parts := make([]string, len(o.notUpdated))
	for i, n := range o.notUpdated {
		parts[i] = n.AttributeName + ": " + n.Reason
	}
	detail := "not written: " + strings.Join(parts, "; ")
	if up := o.updated(); len(up) > 0 {
		detail += "; written: " + strings.Join(up, ", ")
	}
	return badRequest("%s", detail)
}
