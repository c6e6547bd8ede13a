package openaccess

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// CKAN answers /api/3/ calls in its own envelope. CKAN has no rate limit
// of its own; a refusal here is a "Rate Limit Error", which CKAN clients
// (ckanapi) raise as a generic API error with the message.
type ckanEnvelope struct {
	Help    string    `json:"help,omitempty"`
	Success bool      `json:"success"`
	Error   ckanError `json:"error"`
}

type ckanError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// The platform's one error shape elsewhere, as httpapi writes it.
type platformError struct {
	Error platformDetail `json:"error"`
}

type platformDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// IsCKAN tells whether a request is a CKAN API call, answered in CKAN's envelope.
func IsCKAN(r *http.Request) bool {
	return r.URL.Path == "/api/3" || strings.HasPrefix(r.URL.Path, "/api/3/")
}

// writeProblem answers a refusal: in CKAN's envelope (with ckanType) for
// CKAN calls, in the platform's error shape (with code) otherwise.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, ckanType, msg string, fields map[string]string) {
	var body any = platformError{platformDetail{Code: code, Message: msg, Fields: fields}}
	if IsCKAN(r) {
		body = ckanEnvelope{Help: ckanHelp(r), Error: ckanError{Type: ckanType, Message: msg}}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(body)
}

// ckanHelp is the help_show link CKAN puts in an action's answers.
func ckanHelp(r *http.Request) string {
	action, ok := strings.CutPrefix(r.URL.Path, "/api/3/action/")
	if !ok || action == "" || strings.Contains(action, "/") {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/api/3/action/help_show?name=" + url.QueryEscape(action)
}
