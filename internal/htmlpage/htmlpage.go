// Package htmlpage holds what the staff console's and the open-data
// portal's HTML pages share: the visitor's language, the page's messages
// in it, and the embedded static assets.
package htmlpage

import (
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

// LangCookie remembers the chosen language; the console and the portal
// read the same.
const LangCookie = "lang"

// Language is the visitor's language: ?lang= (which sets the cookie), else
// the cookie, else def; known says which languages the pages speak.
// secure marks the cookie for HTTPS only.
func Language(w http.ResponseWriter, r *http.Request, def string, known func(string) bool, secure bool) string {
	lang := def
	if ck, err := r.Cookie(LangCookie); err == nil && known(ck.Value) {
		lang = ck.Value
	}
	if q := r.URL.Query().Get("lang"); q != "" && known(q) {
		lang = q
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
	}
	return lang
}

// Words are a page's messages in its language; templates call T, Tf and
// HTMLLang.
type Words struct {
	Lang string
	msgs map[string]string
}

// NewWords gives the messages of lang.
func NewWords(lang string, msgs map[string]string) Words { return Words{Lang: lang, msgs: msgs} }

// Message is the message for key, if there is one.
func (w Words) Message(key string) (string, bool) {
	m, ok := w.msgs[key]
	return m, ok
}

// T returns the message for key. A missing key shows as itself (the
// packages' unit tests keep their tables complete).
func (w Words) T(key string) string {
	if m, ok := w.msgs[key]; ok {
		return m
	}
	return key
}

// Tf formats the message for key with args.
func (w Words) Tf(key string, args ...any) string { return fmt.Sprintf(w.T(key), args...) }

// HTMLLang is the lang attribute of the document.
func (w Words) HTMLLang() string {
	if w.Lang == "zh" {
		return "zh-CN"
	}
	return w.Lang
}

// StaticHandler serves embedded assets without directory listings. Asset
// URLs carry ?v=<version>, so a day of caching is safe.
func StaticHandler(root fs.FS) http.Handler {
	fileServer := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fileServer.ServeHTTP(w, r)
	})
}
