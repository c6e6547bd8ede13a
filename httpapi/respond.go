package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	cityhub.EINVALID:      http.StatusBadRequest,
	cityhub.EUNAUTHORIZED: http.StatusUnauthorized,
	cityhub.EFORBIDDEN:    http.StatusForbidden,
	cityhub.ENOTFOUND:     http.StatusNotFound,
	cityhub.EMETHOD:       http.StatusMethodNotAllowed,
	cityhub.ECONFLICT:     http.StatusConflict,
	cityhub.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	cityhub.ELOCKED:       http.StatusTooManyRequests,
	cityhub.EUNAVAILABLE:  http.StatusServiceUnavailable,
	cityhub.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	if st, ok := statusOf[cityhub.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// writeError writes err in the one error shape. Internal errors are logged
// in full here, once, and shown as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := cityhub.ErrorCode(err)
	detail := errorDetail{Code: code, Message: cityhub.ErrorMessage(err)}
	var e *cityhub.Error
	if errors.As(err, &e) {
		detail.Fields = e.Fields
	}
	switch code {
	case cityhub.EINTERNAL:
		s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", RequestID(r.Context()), "err", err)
		s.Metrics.storeErrors.Inc()
	case cityhub.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="cityhub"`)
	case cityhub.ELOCKED:
		if ra := detail.Fields["retry_after"]; ra != "" {
			w.Header().Set("Retry-After", ra)
		}
	case cityhub.EFORBIDDEN:
		// Denied attempts matter to security officers.
		rec := cityhub.NewAuditRecord(r.Context(), "access.denied", r.Method+" "+r.URL.Path, cityhub.OutcomeDenied, "")
		if err := s.Store.AppendAudit(r.Context(), rec); err != nil {
			s.Logger.ErrorContext(r.Context(), "audit denied access", "err", err)
		}
	}
	writeJSON(w, Status(err), errorBody{detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func invalid(field, reason string) error {
	return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid request", Fields: map[string]string{field: reason}}
}

// decode reads a JSON body into dst strictly: JSON content type, size limit,
// no unknown fields, no trailing data; every failure is a 4xx that says what
// and where.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return cityhub.Errorf(cityhub.EINVALID, "Content-Type must be application/json, got %q", ct)
	}
	body := http.MaxBytesReader(w, r.Body, s.MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var tooBig *http.MaxBytesError
	err := dec.Decode(dst)
	if err == nil {
		// Anything after the value is an error; reading past the limit
		// while looking for it is still a too-large body.
		if err = dec.Decode(&struct{}{}); err == io.EOF {
			return nil
		}
		if !errors.As(err, &tooBig) {
			return cityhub.Errorf(cityhub.EINVALID, "request body holds more than one JSON value")
		}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return cityhub.Errorf(cityhub.ETOOLARGE, "request body over %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return cityhub.Errorf(cityhub.EINVALID, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return cityhub.Errorf(cityhub.EINVALID, "request body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return cityhub.Errorf(cityhub.EINVALID, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return invalid(field, fmt.Sprintf("must be %s, got JSON %s", jsonKind(typ.Type.String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(name, "unknown field")
	}
	var perr *time.ParseError
	if errors.As(err, &perr) {
		return cityhub.Errorf(cityhub.EINVALID, "time must be RFC 3339, e.g. 2026-01-02T15:04:05Z: %v", err)
	}
	return cityhub.Errorf(cityhub.EINVALID, "invalid JSON body: %v", err)
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, cityhub.Errorf(cityhub.ENOTFOUND, "no such id %q", r.PathValue("id"))
	}
	return id, nil
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid(name, "must be a non-negative whole number")
	}
	return n, nil
}

func queryID(r *http.Request, name string) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return nil, invalid(name, "must be a positive whole number")
	}
	return &n, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05+08:00")
	}
	return t, nil
}

// listOf is the shape of every listing.
type listOf[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit,omitempty"`
	Offset int `json:"offset,omitempty"`
}

func paging(r *http.Request) (limit, offset int, err error) {
	if limit, err = queryInt(r, "limit"); err != nil {
		return
	}
	if limit > 1000 {
		return 0, 0, invalid("limit", "at most 1000")
	}
	if limit == 0 {
		limit = 100
	}
	offset, err = queryInt(r, "offset")
	return
}

var pagingParams = []param{{"limit", "integer", "1 to 1000, default 100"}, {"offset", "integer", "rows to skip"}}
