package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	p := Params{Memory: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse 1", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format: got %q", h)
	}
	if h == HashPassword("correct horse 1", p) {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse 1", true},
		{h, "correct horse 2", false},
		{h, "", false},
		{"$argon2id$v=19$m=1024,t=1,p=0$AAAA$AAAA", "x", false}, // zero threads would panic argon2
		{"$argon2i$v=19$m=1024,t=1,p=1$AAAA$AAAA", "x", false},
		{"$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA", "x", false},
		{"$argon2id$v=19$m=1024,t=1,p=1$AAAA$", "x", false},
		{"plain", "plain", false},
		{"", "", false},
	} {
		if got := CheckPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("CheckPassword(%q, %q): got %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "pw")
	f.Add("$argon2id$v=19$m=0,t=0,p=1$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// A damaged stored hash must not panic. Large costs are slow, not
		// wrong, so only cheap parameter sets are tried.
		if strings.Contains(hash, "$m=") && !strings.Contains(hash, "$m=1024,t=1,") {
			return
		}
		CheckPassword(hash, pw)
	})
}

// BenchmarkCheckPassword measures one login's password check at the
// default cost: the floor of login latency and of a brute-force attempt.
func BenchmarkCheckPassword(b *testing.B) {
	h := HashPassword("correct horse 1", DefaultParams)
	for b.Loop() {
		if !CheckPassword(h, "correct horse 1") {
			b.Fatal("mismatch")
		}
	}
}
