package web

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/httpapi"
)

// auditFilterForm is the filter as entered, to show it again.
type auditFilterForm struct {
	Actor, Action, Object, Outcome, Since, Until string
}

type auditData struct {
	Filter    auditFilterForm
	Outcomes  []string
	Records   []*cityhub.AuditRecord
	KeepQuery map[string]string // the filter, carried by the verify button
	Paged     bool              // showing an older page
	OlderURL  string
	NewestURL string

	Head           *cityhub.AuditHead
	HeadSignedAt   string
	HeadSignature  string
	HeadJSON       string
	PublicKeyHex   string
	HeadKeyMatches bool
	Report         *cityhub.ChainReport
}

var auditParams = []string{"actor", "action", "object", "outcome", "since", "until"}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, p *page) error {
	if !p.User.CanReadAudit() {
		return forbidden("read the audit log")
	}
	qv := r.URL.Query()
	d := auditData{
		Filter: auditFilterForm{Actor: qv.Get("actor"), Action: qv.Get("action"), Object: qv.Get("object"),
			Outcome: qv.Get("outcome"), Since: qv.Get("since"), Until: qv.Get("until")},
		Outcomes:     []string{cityhub.OutcomeSuccess, cityhub.OutcomeFailure, cityhub.OutcomeDenied},
		KeepQuery:    map[string]string{},
		PublicKeyHex: hex.EncodeToString(c.AuditKey),
	}
	filter := url.Values{}
	for _, k := range auditParams {
		if v := qv.Get(k); v != "" {
			d.KeepQuery[k] = v
			filter.Set(k, v)
		}
	}
	d.NewestURL = "/audit?" + filter.Encode()

	status := http.StatusOK
	f, err := httpapi.AuditFilterFromQuery(r)
	if err == nil {
		d.Records, err = c.Store.AuditRecords(r.Context(), f)
	}
	if err != nil {
		st, ok := formError(p, err)
		if !ok {
			return err
		}
		status = st
	}
	d.Paged = f.BeforeSeq > 0
	if n := len(d.Records); n > 0 && n == f.Limit && d.Records[n-1].Seq > 1 {
		older := url.Values{}
		for k, v := range filter {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(d.Records[n-1].Seq, 10))
		if qv.Get("limit") != "" {
			older.Set("limit", strconv.Itoa(f.Limit))
		}
		d.OlderURL = "/audit?" + older.Encode()
	}

	head, err := c.Store.AuditHead(r.Context())
	switch {
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
	case err != nil:
		return err
	default:
		d.Head = head
		d.HeadSignedAt = head.SignedAt.UTC().Format(time.RFC3339Nano)
		d.HeadSignature = hex.EncodeToString(head.Signature)
		d.HeadKeyMatches = bytes.Equal(head.PublicKey, c.AuditKey)
		// The same JSON as GET /api/v1/audit/head, to keep outside the
		// platform and check later exports against.
		b, err := json.MarshalIndent(head, "", "  ")
		if err != nil {
			return err
		}
		d.HeadJSON = string(b)
	}
	if qv.Get("verify") != "" {
		rep, err := cityhub.VerifyChain(r.Context(), c.Store, c.AuditKey)
		if err != nil {
			return err
		}
		d.Report = rep
	}
	p.Title, p.Nav, p.Data = p.T("audit.title"), "audit", d
	return c.render(w, r, p, status, "audit")
}
