package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/openaccess"
)

// requestInfo is filled in as a request travels inward and read by the
// outermost layer when it logs and counts the request.
type requestInfo struct {
	id    string
	route string // the mux pattern that matched
	user  string
}

type infoKey struct{}

func info(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// RequestID returns the id of the request in ctx.
func RequestID(ctx context.Context) string { return info(ctx).id }

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush for live views.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Handler wraps mux (holding the API's and the console's routes) with the
// platform's middleware: recovery, request id, logging and metrics,
// authentication and CSRF checks.
func (s *Server) Handler(mux *http.ServeMux, trustProxy bool) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		info(r.Context()).route = r.Pattern
	})
	return s.observe(s.authenticate(inner, trustProxy))
}

// observe is the outermost layer: one log line and the metrics per request,
// and a 500 instead of a dropped connection when a handler panics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		ri := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-ID", id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, cityhub.Errorf(cityhub.EINTERNAL, "panic"))
				}
			}
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.Metrics.observe(route, r.Method, sw.status, elapsed)
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.Logger.Log(r.Context(), level, "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"route", route, "status", sw.status, "bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds())/1000,
				"user", ri.user, "client", clientAddr(r, false))
		}()
		next.ServeHTTP(sw, r)
	})
}

// clientAddr is the caller's IP; behind a trusted proxy, the first
// X-Forwarded-For entry.
func clientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
			first, _, _ := strings.Cut(fwd, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func safeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

// authenticate resolves the bearer token or session cookie to a user and
// puts user and actor in the context. A bad bearer token is refused at
// once; a stale cookie just leaves the request anonymous (the console then
// asks to sign in). Cookie-authenticated changes must carry the session's
// CSRF secret, in X-CSRF-Token or a "csrf" form field.
func (s *Server) authenticate(next http.Handler, trustProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		actor := cityhub.Actor{ClientAddr: clientAddr(r, trustProxy), RequestID: RequestID(ctx), Username: "anonymous"}
		ctx = cityhub.WithActor(ctx, actor)
		r = r.WithContext(ctx)

		var user *cityhub.User
		var token *cityhub.Token
		// An API key (openaccess) is no staff credential: the open-data
		// limiter checks it, and elsewhere the request stays anonymous.
		if h := r.Header.Get("Authorization"); h != "" && !openaccess.IsAPIKeyAuthorization(h) {
			scheme, secret, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") { // schemes are case-insensitive (RFC 9110 11.1)
				s.writeError(w, r, cityhub.Errorf(cityhub.EUNAUTHORIZED, "Authorization must be \"Bearer <token>\""))
				return
			}
			u, t, err := s.Auth.Authenticate(ctx, strings.TrimSpace(secret))
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			user, token = u, t
		} else if c, err := r.Cookie(auth.SessionCookie); err == nil {
			u, t, err := s.Auth.Authenticate(ctx, c.Value)
			if err != nil && cityhub.ErrorCode(err) != cityhub.EUNAUTHORIZED {
				s.writeError(w, r, err)
				return
			}
			if err == nil && t.Kind == cityhub.TokenSession {
				if !safeMethod(r.Method) {
					if err := checkCSRF(w, r, t); err != nil {
						s.writeError(w, r, err)
						return
					}
					if mf := r.MultipartForm; mf != nil { // parsed for its csrf field; uploads may sit in temp files
						defer mf.RemoveAll()
					}
				}
				user, token = u, t
			}
		}
		if user != nil {
			actor.UserID, actor.Username = user.ID, user.Username
			info(ctx).user = user.Username
			// The actor is set before the scope check so that its
			// access.denied record names the token's owner.
			r = r.WithContext(cityhub.WithActor(ctx, actor))
			if !token.Allows(r.Method) {
				s.writeError(w, r, cityhub.Errorf(cityhub.EFORBIDDEN, "this token's scopes (%s) do not allow %s",
					strings.Join(token.Scopes, ","), r.Method))
				return
			}
			r = r.WithContext(cityhub.WithUser(r.Context(), user, token))
		}
		next.ServeHTTP(w, r)
	})
}

// checkCSRF requires the session's CSRF secret in X-CSRF-Token or the
// "csrf" field of a form. In a multipart body (the console's uploads) the
// field must come first: it is read from the body's head, which is put
// back, so a file of any size streams on to the handler and its limit.
func checkCSRF(w http.ResponseWriter, r *http.Request, t *cityhub.Token) error {
	got := r.Header.Get("X-CSRF-Token")
	ct := r.Header.Get("Content-Type")
	switch {
	case got != "":
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		got = r.PostFormValue("csrf")
	case strings.HasPrefix(ct, "multipart/form-data"):
		got = leadingCSRF(r, ct)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(t.CSRF)) != 1 {
		return cityhub.Errorf(cityhub.EFORBIDDEN, "missing or wrong CSRF token; reload the page")
	}
	return nil
}

// leadingCSRF reads the "csrf" field when it is the first part of a
// multipart body, and leaves the body as it was for the handler.
func leadingCSRF(r *http.Request, contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return ""
	}
	head := bufio.NewReaderSize(r.Body, 16<<10)
	r.Body = struct {
		io.Reader
		io.Closer
	}{head, r.Body}
	prefix, _ := head.Peek(16 << 10) // less at the end of a short body
	part, err := multipart.NewReader(bytes.NewReader(prefix), params["boundary"]).NextPart()
	if err != nil || part.FormName() != "csrf" {
		return ""
	}
	value, err := io.ReadAll(io.LimitReader(part, 512))
	if err != nil {
		return ""
	}
	return string(value)
}
