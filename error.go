// Package cityhub holds the domain of a city's data and operations center:
// departments, users, roles, the audit chain and the rules between them.
// It imports nothing but the standard library; stores, protocols and pages
// live in their own packages and depend on the interfaces declared here.
package cityhub

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status in httpapi.
const (
	EINVALID      = "invalid"            // the request is malformed or fails validation
	ENOTFOUND     = "not_found"          // the object does not exist (or is hidden from the caller)
	EMETHOD       = "method_not_allowed" // the path exists, the method does not
	ECONFLICT     = "conflict"           // the object exists already or changed meanwhile
	EUNAUTHORIZED = "unauthorized"       // no valid credentials
	EFORBIDDEN    = "forbidden"          // credentials valid, right missing
	ELOCKED       = "locked"             // too many failed logins
	ETOOLARGE     = "too_large"          // body over the limit
	EINTERNAL     = "internal"           // a bug or a failing dependency; never shown in detail
	EUNAVAILABLE  = "unavailable"        // a dependency is down
)

// Error is the one error type of the domain. Message is safe to show to the
// caller; Fields names the offending input fields with a reason each.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
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
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// FieldErrors collects per-field validation problems.
type FieldErrors map[string]string

// Add records reason for field unless the field already has one.
func (f FieldErrors) Add(field, reason string) {
	if _, ok := f[field]; !ok {
		f[field] = reason
	}
}

// Err returns nil when empty, otherwise an EINVALID *Error carrying the fields.
func (f FieldErrors) Err(message string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: message, Fields: map[string]string(f)}
}
