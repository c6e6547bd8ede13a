package cityhub

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure" // the action was tried and failed (bad password, bad input)
	OutcomeDenied  = "denied"  // the actor lacked the right or was locked out
)

// AuditRecord is one link of the audit chain. Hash covers every field but Seq
// and Hash itself, and PrevHash ties it to the record before, so editing,
// removing or reordering records breaks the chain.
type AuditRecord struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id,omitempty"`
	Actor      string    `json:"actor"`
	ClientAddr string    `json:"client_addr,omitempty"`
	Action     string    `json:"action"`
	Object     string    `json:"object,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	Outcome    string    `json:"outcome"`
	Details    string    `json:"details,omitempty"` // JSON object, as stored
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// GenesisHash is the PrevHash of the first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the record's hash from its content and PrevHash. Each
// field is length-prefixed so no two records encode alike. Times count in
// microseconds, which every store keeps exactly.
func (r *AuditRecord) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		"cityhub-audit-v1",
		strconv.FormatInt(r.At.UnixMicro(), 10),
		strconv.FormatInt(r.ActorID, 10),
		r.Actor, r.ClientAddr, r.Action, r.Object, r.RequestID, r.Outcome, r.Details,
		r.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditHead is the signed latest link of the chain. Copied out of the
// platform, it proves later tampering with anything up to Seq.
type AuditHead struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	SignedAt  time.Time `json:"signed_at"`
	Signature []byte    `json:"signature"`
	PublicKey []byte    `json:"public_key"`
}

func headMessage(seq int64, hash string, at time.Time) []byte {
	return fmt.Appendf(nil, "cityhub-audit-head-v1\n%d\n%s\n%d", seq, hash, at.UnixMicro())
}

// AuditKey signs chain heads. It lives as a PEM file in the data dir.
type AuditKey struct{ priv ed25519.PrivateKey }

// Public returns the key that verifies heads.
func (k *AuditKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// SignHead returns a signed head for the record with seq and hash.
func (k *AuditKey) SignHead(seq int64, hash string, at time.Time) *AuditHead {
	at = at.Truncate(time.Microsecond)
	return &AuditHead{Seq: seq, Hash: hash, SignedAt: at,
		Signature: ed25519.Sign(k.priv, headMessage(seq, hash, at)), PublicKey: k.Public()}
}

// VerifySignature checks the head against pub (not the key it carries: a
// forger would carry their own).
func (h *AuditHead) VerifySignature(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize &&
		ed25519.Verify(pub, headMessage(h.Seq, h.Hash, h.SignedAt), h.Signature)
}

const auditKeyPEM = "CITYHUB AUDIT ED25519 PRIVATE KEY"

// LoadAuditKey reads the key at path, creating it (mode 0600) if it does not
// exist and create is set.
func LoadAuditKey(path string, create bool) (*AuditKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		out := pem.EncodeToMemory(&pem.Block{Type: auditKeyPEM, Bytes: priv.Seed()})
		if err := os.WriteFile(path, out, 0o600); err != nil {
			return nil, err
		}
		return &AuditKey{priv: priv}, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != auditKeyPEM || len(block.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not a cityhub audit key", path)
	}
	return &AuditKey{priv: ed25519.NewKeyFromSeed(block.Bytes)}, nil
}

// Actor is who acts in a request: it travels in the context down to the
// store, which writes it into the audit record of every change.
type Actor struct {
	UserID     int64
	Username   string
	ClientAddr string
	RequestID  string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; "system" when there is none (start-up,
// scheduled work, the command line).
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Username: "system"}
}

// NewAuditRecord fills a record's actor fields from ctx.
func NewAuditRecord(ctx context.Context, action, object, outcome, details string) *AuditRecord {
	a := ActorFrom(ctx)
	return &AuditRecord{ActorID: a.UserID, Actor: a.Username, ClientAddr: a.ClientAddr,
		RequestID: a.RequestID, Action: action, Object: object, Outcome: outcome, Details: details}
}

// AuditFilter selects audit records, newest first.
type AuditFilter struct {
	Actor     string
	Action    string // exact, or a prefix ending in "." ("user." for every user action)
	Object    string
	Outcome   string
	Since     time.Time
	Until     time.Time
	BeforeSeq int64 // keyset paging: records with Seq < BeforeSeq
	Limit     int
}

// AuditService appends to and reads the chain. Stores append a record inside
// the transaction of every change they make; AppendAudit is for events that
// change nothing else (logins, denials, data reads).
type AuditService interface {
	AppendAudit(ctx context.Context, r *AuditRecord) error
	AuditRecords(ctx context.Context, f AuditFilter) ([]*AuditRecord, error)
	// WalkAudit calls fn for each record with Seq >= from, in Seq order.
	WalkAudit(ctx context.Context, from int64, fn func(*AuditRecord) error) error
	AuditHead(ctx context.Context) (*AuditHead, error)
}

// Chain problems found by verification.
const (
	ProblemAltered   = "altered"   // content does not match its hash
	ProblemRemoved   = "removed"   // a record is missing
	ProblemReordered = "reordered" // records are out of chain order
	ProblemHead      = "head"      // signed head missing, forged or not matching
)

// ChainReport is the outcome of verifying the chain.
type ChainReport struct {
	OK      bool   `json:"ok"`
	Records int64  `json:"records"`
	LastSeq int64  `json:"last_seq"`
	Problem string `json:"problem,omitempty"`
	Seq     int64  `json:"seq,omitempty"` // where the first problem is
	Message string `json:"message"`
}

// VerifyChain walks the whole chain and checks every link, then the signed
// head against pub. The head is read first, so records appended during the
// walk are left to a later verification. Optional anchors are heads
// exported earlier: each must still be in the chain. Memory stays flat
// however long the chain.
func VerifyChain(ctx context.Context, s AuditService, pub ed25519.PublicKey, anchors ...*AuditHead) (*ChainReport, error) {
	head, err := s.AuditHead(ctx)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	v := chainVerifier{prev: GenesisHash, expect: 1, head: head, anchors: map[int64]*AuditHead{}}
	for _, a := range anchors {
		v.anchors[a.Seq] = a
	}
	if err := s.WalkAudit(ctx, 1, v.add); err != nil && err != errStopWalk {
		return nil, err
	}
	return v.finish(pub), nil
}

var errStopWalk = errors.New("stop")

type chainVerifier struct {
	rep     ChainReport
	prev    string // hash of the previous record in position
	expect  int64  // the next Seq expected
	head    *AuditHead
	anchors map[int64]*AuditHead
	// pending is a link break without a gap in Seq: a record either was
	// moved (its predecessor turns up later) or was removed and the rest
	// renumbered. wantPrev is the missing predecessor's hash.
	pending  int64
	wantPrev string
}

func (v *chainVerifier) fail(problem string, seq int64, format string, args ...any) error {
	v.rep.Problem, v.rep.Seq, v.rep.Message = problem, seq, fmt.Sprintf(format, args...)
	return errStopWalk
}

func (v *chainVerifier) add(r *AuditRecord) error {
	if v.head != nil && r.Seq > v.head.Seq && v.pending == 0 {
		return errStopWalk // appended after the head was read
	}
	if v.pending != 0 {
		if r.Hash == v.wantPrev {
			return v.fail(ProblemReordered, v.pending,
				"record %d is out of order: the record it follows now stands at %d", v.pending, r.Seq)
		}
		return nil
	}
	v.rep.Records++
	v.rep.LastSeq = r.Seq
	if got := r.ComputeHash(); got != r.Hash {
		return v.fail(ProblemAltered, r.Seq, "record %d was altered: its content does not match its hash", r.Seq)
	}
	if r.Seq > v.expect {
		return v.fail(ProblemRemoved, v.expect, "record %d is missing (the chain jumps from %d to %d)", v.expect, v.expect-1, r.Seq)
	}
	if r.Seq < v.expect {
		return v.fail(ProblemReordered, r.Seq, "record %d appears twice or out of sequence", r.Seq)
	}
	if r.PrevHash != v.prev {
		v.pending, v.wantPrev = r.Seq, r.PrevHash
		return nil
	}
	if a := v.anchors[r.Seq]; a != nil && a.Hash != r.Hash {
		return v.fail(ProblemAltered, r.Seq, "record %d no longer matches the head exported at %s", r.Seq, a.SignedAt.Format(time.RFC3339))
	}
	if v.head != nil && r.Seq == v.head.Seq && r.Hash != v.head.Hash {
		return v.fail(ProblemHead, r.Seq, "record %d does not match the signed head", r.Seq)
	}
	v.prev = r.Hash
	v.expect++
	return nil
}

func (v *chainVerifier) finish(pub ed25519.PublicKey) *ChainReport {
	rep, head := &v.rep, v.head
	switch {
	case rep.Problem != "":
	case v.pending != 0:
		v.fail(ProblemRemoved, v.pending, "a record before %d is missing: the record it follows is not in the chain", v.pending)
	case head == nil && rep.Records > 0:
		v.fail(ProblemHead, 0, "the chain has %d records but no signed head", rep.Records)
	case head != nil && !head.VerifySignature(pub):
		v.fail(ProblemHead, head.Seq, "the signed head does not verify with this platform's audit key")
	case head != nil && head.Seq > rep.LastSeq:
		v.fail(ProblemRemoved, rep.LastSeq+1, "records %d to %d are missing: the signed head is at %d", rep.LastSeq+1, head.Seq, head.Seq)
	}
	for seq := range v.anchors {
		if rep.Problem == "" && seq > rep.LastSeq {
			v.fail(ProblemRemoved, seq, "record %d, exported earlier, is no longer in the chain", seq)
		}
	}
	if rep.Problem == "" {
		rep.OK = true
		rep.Message = fmt.Sprintf("audit chain intact: %d records, signed head at %d", rep.Records, rep.LastSeq)
	}
	return rep
}

type sessionKey struct{}

type session struct {
	user  *User
	token *Token
}

// WithUser returns ctx carrying the authenticated caller and the token that
// authenticated them.
func WithUser(ctx context.Context, u *User, t *Token) context.Context {
	return context.WithValue(ctx, sessionKey{}, session{u, t})
}

// UserFrom returns the authenticated caller in ctx, or nils.
func UserFrom(ctx context.Context) (*User, *Token) {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s.user, s.token
}
