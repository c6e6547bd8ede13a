package cityhub_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func sampleRecord() cityhub.AuditRecord {
	return cityhub.AuditRecord{
		Seq:        41,
		At:         time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC),
		ActorID:    7,
		Actor:      "li.wei",
		ClientAddr: "198.51.100.7:51234",
		Action:     "user.update",
		Object:     "user:9",
		RequestID:  "req-1",
		Outcome:    cityhub.OutcomeSuccess,
		Details:    `{"roles":["data_steward"]}`,
		PrevHash:   strings.Repeat("ab", 32),
	}
}

func TestComputeHash(t *testing.T) {
	base := sampleRecord()
	h := base.ComputeHash()
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash: got %q, want 64 hex digits", h)
	}
	// A golden value: changing the encoding would break every stored chain.
	if want := goldenHash; h != want {
		t.Fatalf("hash of the sample record: got %s, want %s", h, want)
	}
	changes := []struct {
		field  string
		change func(r *cityhub.AuditRecord)
	}{
		{"At", func(r *cityhub.AuditRecord) { r.At = r.At.Add(time.Microsecond) }},
		{"ActorID", func(r *cityhub.AuditRecord) { r.ActorID = 8 }},
		{"Actor", func(r *cityhub.AuditRecord) { r.Actor = "li.wej" }},
		{"ClientAddr", func(r *cityhub.AuditRecord) { r.ClientAddr = "198.51.100.8:51234" }},
		{"Action", func(r *cityhub.AuditRecord) { r.Action = "user.delete" }},
		{"Object", func(r *cityhub.AuditRecord) { r.Object = "user:90" }},
		{"RequestID", func(r *cityhub.AuditRecord) { r.RequestID = "req-2" }},
		{"Outcome", func(r *cityhub.AuditRecord) { r.Outcome = cityhub.OutcomeDenied }},
		{"Details", func(r *cityhub.AuditRecord) { r.Details = `{"roles":["auditor"]}` }},
		{"PrevHash", func(r *cityhub.AuditRecord) { r.PrevHash = strings.Repeat("ab", 31) + "ac" }},
		{"field boundary", func(r *cityhub.AuditRecord) { r.Actor, r.ClientAddr = r.Actor+"1", "98.51.100.7:51234" }},
		{"empty to separator", func(r *cityhub.AuditRecord) { r.Object, r.RequestID = "", "user:9;req-1" }},
	}
	for _, c := range changes {
		r := sampleRecord()
		c.change(&r)
		if got := r.ComputeHash(); got == h {
			t.Errorf("changing %s: got the same hash, want a different one", c.field)
		}
	}
	same := []struct {
		what   string
		change func(r *cityhub.AuditRecord)
	}{
		{"Seq", func(r *cityhub.AuditRecord) { r.Seq = 1 }},
		{"Hash", func(r *cityhub.AuditRecord) { r.Hash = "x" }},
		{"time zone", func(r *cityhub.AuditRecord) { r.At = r.At.In(time.FixedZone("CST", 8*60*60)) }},
		{"nanoseconds below a microsecond", func(r *cityhub.AuditRecord) { r.At = r.At.Add(999) }},
	}
	for _, c := range same {
		r := sampleRecord()
		c.change(&r)
		if got := r.ComputeHash(); got != h {
			t.Errorf("changing %s: got a different hash, want the same", c.what)
		}
	}
}

// goldenHash is SHA-256 over "len:field;" for "cityhub-audit-v1", the time
// in Unix microseconds, actor id, actor, client address, action, object,
// request id, outcome, details and previous hash of sampleRecord, computed
// outside Go.
const goldenHash = "eddd1fce5914abe3046616ad30b8d7cc6a2bffae7b9c8d65e5968357cf7dcbe7"

func TestAuditKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "audit.pem")
	if _, err := cityhub.LoadAuditKey(path, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load a missing key without create: got %v, want %v", err, fs.ErrNotExist)
	}
	key, err := cityhub.LoadAuditKey(path, true)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode: got %o, want 600", mode)
	}
	again, err := cityhub.LoadAuditKey(path, true)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !again.Public().Equal(key.Public()) {
		t.Fatal("reloaded key: got another public key, want the same")
	}
	if len(key.Public()) != ed25519.PublicKeySize {
		t.Fatalf("public key: got %d bytes, want %d", len(key.Public()), ed25519.PublicKeySize)
	}

	at := time.Date(2025, 5, 6, 7, 8, 9, 123456789, time.UTC)
	head := key.SignHead(42, goldenHash, at)
	if head.Seq != 42 || head.Hash != goldenHash || !head.SignedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("head: got seq %d hash %s at %v", head.Seq, head.Hash, head.SignedAt)
	}
	if !head.VerifySignature(key.Public()) || !head.VerifySignature(again.Public()) {
		t.Fatal("head signed by the key: got no verification, want it verified")
	}

	other, err := cityhub.LoadAuditKey(filepath.Join(dir, "other.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	forged := other.SignHead(42, goldenHash, at) // carries other's public key
	tests := []struct {
		name string
		head cityhub.AuditHead
		pub  ed25519.PublicKey
	}{
		{"forged with another key", *forged, key.Public()},
		{"verified against the wrong key", *head, other.Public()},
		{"seq changed", withHead(head, func(h *cityhub.AuditHead) { h.Seq = 43 }), key.Public()},
		{"hash changed", withHead(head, func(h *cityhub.AuditHead) { h.Hash = strings.Repeat("0", 64) }), key.Public()},
		{"time changed", withHead(head, func(h *cityhub.AuditHead) { h.SignedAt = h.SignedAt.Add(time.Microsecond) }), key.Public()},
		{"signature cut", withHead(head, func(h *cityhub.AuditHead) { h.Signature = h.Signature[:10] }), key.Public()},
		{"no public key", *head, nil},
	}
	for _, tt := range tests {
		if tt.head.VerifySignature(tt.pub) {
			t.Errorf("%s: got verified, want rejected", tt.name)
		}
	}
	if !forged.VerifySignature(forged.PublicKey) {
		t.Error("forged head: want it to verify with the key it carries (which is why that key is never trusted)")
	}
}

func withHead(h *cityhub.AuditHead, change func(*cityhub.AuditHead)) cityhub.AuditHead {
	c := *h
	c.Signature = append([]byte(nil), h.Signature...)
	change(&c)
	return c
}

func TestLoadAuditKeyRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"garbage.pem": "not a key",
		"other.pem":   "-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END PRIVATE KEY-----\n",
		"short.pem":   "-----BEGIN CITYHUB AUDIT ED25519 PRIVATE KEY-----\nAAAA\n-----END CITYHUB AUDIT ED25519 PRIVATE KEY-----\n",
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := cityhub.LoadAuditKey(path, true); err == nil {
			t.Errorf("%s: got a key, want an error", name)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%s: the file was overwritten", name)
		}
	}
}

func TestActor(t *testing.T) {
	if got := cityhub.ActorFrom(context.Background()); got != (cityhub.Actor{Username: "system"}) {
		t.Fatalf("actor of a bare context: got %+v, want the system actor", got)
	}
	a := cityhub.Actor{UserID: 7, Username: "li.wei", ClientAddr: "198.51.100.7:1", RequestID: "req-9"}
	ctx := cityhub.WithActor(context.Background(), a)
	if got := cityhub.ActorFrom(ctx); got != a {
		t.Fatalf("actor: got %+v, want %+v", got, a)
	}
	r := cityhub.NewAuditRecord(ctx, "auth.login", "user:7", cityhub.OutcomeFailure, `{"reason":"bad password"}`)
	want := cityhub.AuditRecord{ActorID: 7, Actor: "li.wei", ClientAddr: "198.51.100.7:1", RequestID: "req-9",
		Action: "auth.login", Object: "user:7", Outcome: cityhub.OutcomeFailure, Details: `{"reason":"bad password"}`}
	if *r != want {
		t.Fatalf("record: got %+v, want %+v", *r, want)
	}
}

// memChain is an AuditService over a slice, to check the verifier alone.
type memChain struct {
	recs []*cityhub.AuditRecord
	head *cityhub.AuditHead
}

func (m *memChain) AppendAudit(context.Context, *cityhub.AuditRecord) error { return nil }
func (m *memChain) AuditRecords(context.Context, cityhub.AuditFilter) ([]*cityhub.AuditRecord, error) {
	return nil, nil
}

func (m *memChain) WalkAudit(_ context.Context, from int64, fn func(*cityhub.AuditRecord) error) error {
	for _, r := range m.recs {
		if r.Seq >= from {
			c := *r
			if err := fn(&c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memChain) AuditHead(context.Context) (*cityhub.AuditHead, error) {
	if m.head == nil {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "empty")
	}
	return m.head, nil
}

// newMemChain links n records and signs a head at headSeq (none if 0).
func newMemChain(key *cityhub.AuditKey, n int, headSeq int64) *memChain {
	m := &memChain{}
	prev := cityhub.GenesisHash
	for i := range n {
		r := sampleRecord()
		r.Seq, r.At, r.PrevHash = int64(i+1), r.At.Add(time.Duration(i)*time.Second), prev
		r.Hash = r.ComputeHash()
		prev = r.Hash
		m.recs = append(m.recs, &r)
	}
	if headSeq > 0 {
		m.head = key.SignHead(headSeq, m.recs[headSeq-1].Hash, time.Now())
	}
	return m
}

func TestVerifyChain(t *testing.T) {
	key, err := cityhub.LoadAuditKey(filepath.Join(t.TempDir(), "audit.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		chain   *memChain
		ok      bool
		records int64
		problem string
		seq     int64
	}{
		{"empty", newMemChain(key, 0, 0), true, 0, "", 0},
		{"intact", newMemChain(key, 5, 5), true, 5, "", 0},
		{"appended after the head was read", newMemChain(key, 5, 3), true, 3, "", 0},
		{"no head", newMemChain(key, 5, 0), false, 5, cityhub.ProblemHead, 0},
		{"head ahead of the chain", func() *memChain {
			m := newMemChain(key, 5, 5)
			m.recs = m.recs[:4]
			return m
		}(), false, 4, cityhub.ProblemRemoved, 5},
		{"altered", func() *memChain {
			m := newMemChain(key, 5, 5)
			m.recs[1].Object = "user:1"
			return m
		}(), false, 2, cityhub.ProblemAltered, 2},
		{"seq repeated", func() *memChain {
			m := newMemChain(key, 5, 5)
			m.recs[2].Seq = 2
			return m
		}(), false, 3, cityhub.ProblemReordered, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := cityhub.VerifyChain(context.Background(), tt.chain, key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok || rep.Records != tt.records || rep.Problem != tt.problem || rep.Seq != tt.seq {
				t.Fatalf("report: got ok=%v records=%d problem %q at %d (%s), want ok=%v records=%d problem %q at %d",
					rep.OK, rep.Records, rep.Problem, rep.Seq, rep.Message, tt.ok, tt.records, tt.problem, tt.seq)
			}
		})
	}
}
