package ngsild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/cityhub/cityhub"
)

// A problem is an RFC 7807 ProblemDetails body, the error shape of NGSI-LD.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Status int    `json:"status"`
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

const errorBase = "https://uri.etsi.org/ngsi-ld/errors/"

func newProblem(status int, etsiType, title, format string, args ...any) *problem {
	typ := "about:blank" // RFC 7807: no meaning beyond the status
	if etsiType != "" {
		typ = errorBase + etsiType
	}
	return &problem{Type: typ, Title: title, Detail: fmt.Sprintf(format, args...), Status: status}
}

func badRequest(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, "BadRequestData", "Bad request data", format, args...)
}

func invalidRequest(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, "InvalidRequest", "Invalid request", format, args...)
}

func notFound(format string, args ...any) *problem {
	return newProblem(http.StatusNotFound, "ResourceNotFound", "Resource not found", format, args...)
}

func alreadyExists(format string, args ...any) *problem {
	return newProblem(http.StatusConflict, "AlreadyExists", "Already exists", format, args...)
}

// notSupported is 422 for data the broker cannot keep and 501 for
// operations it does not implement.
func notSupported(status int, format string, args ...any) *problem {
	return newProblem(status, "OperationNotSupported", "Operation not supported", format, args...)
}

func contextNotAvailable(format string, args ...any) *problem {
	return newProblem(http.StatusServiceUnavailable, "LdContextNotAvailable", "@context not available", format, args...)
}

func unauthorized(format string, args ...any) *problem {
	return newProblem(http.StatusUnauthorized, "", "Unauthorized", format, args...)
}

func forbidden(format string, args ...any) *problem {
	return newProblem(http.StatusForbidden, "", "Forbidden", format, args...)
}

func internalError() *problem {
	return newProblem(http.StatusInternalServerError, "InternalError", "Internal error", "internal error")
}

// domainProblem maps the platform's errors to NGSI-LD problems.
func domainProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	msg := describe(err)
	switch cityhub.ErrorCode(err) {
	case cityhub.EINVALID:
		return badRequest("%s", msg)
	case cityhub.ENOTFOUND:
		return notFound("%s", msg)
	case cityhub.ECONFLICT:
		return alreadyExists("%s", msg)
	case cityhub.EFORBIDDEN:
		return forbidden("%s", msg)
	case cityhub.EUNAUTHORIZED:
		return unauthorized("%s", msg)
	case cityhub.ETOOLARGE:
		return newProblem(http.StatusRequestEntityTooLarge, "BadRequestData", "Request too large", "%s", msg)
	case cityhub.EUNAVAILABLE:
		return newProblem(http.StatusServiceUnavailable, "", "Service unavailable", "%s", msg)
	}
	return internalError()
}

// describe is a domain error's caller-safe message with its field reasons.
func describe(err error) string {
	var e *cityhub.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return cityhub.ErrorMessage(err)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// fail writes err as ProblemDetails; internal errors are logged here, once.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := h.problemOf(r, err)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cityhub"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// storeProblem maps a store error met while writing one entity of many.
func (h *Handler) storeProblem(ctx context.Context, err error) *problem {
	p := domainProblem(err)
	if p.Status == http.StatusInternalServerError {
		h.log.ErrorContext(ctx, "ngsi-ld write failed", "err", err)
	}
	return p
}

// problemOf maps err and logs it when it is the platform's fault.
func (h *Handler) problemOf(r *http.Request, err error) *problem {
	p := domainProblem(err)
	if p.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "ngsi-ld request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return p
}
