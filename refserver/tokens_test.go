package refserver

import (
	"fmt"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// The memo answers a token it verified without verifying it again, yet still refuses it once
// it has expired, and never answers a token that differs from the verified one.
func TestTokenMemo(t *testing.T) {
	secret, other := []byte("memo-secret"), []byte("another-secret")
	now := time.Unix(1_800_000_000, 0)
	tok, err := atlas.NewToken(secret, "u1", now, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var m tokenMemo
	if _, err := m.verify(other, tok, now); err == nil {
		t.Fatal("a token signed with another secret verified")
	}
	if sub, err := m.verify(secret, tok, now); err != nil || sub != "u1" {
		t.Fatalf("verify: %q, %v; want u1", sub, err)
	}
	// Verifying again would fail with the wrong secret: success means the memo answered.
	if sub, err := m.verify(other, tok, now.Add(10*time.Second)); err != nil || sub != "u1" {
		t.Fatalf("second use: %q, %v; want u1 from the memo", sub, err)
	}
	// A changed signature is another string: not in the memo, verified, refused.
	i, flip := len(tok)-5, byte('A')
	if tok[i] == 'A' {
		flip = 'B'
	}
	if _, err := m.verify(secret, tok[:i]+string(flip)+tok[i+1:], now); err == nil {
		t.Fatal("a token with a changed signature verified")
	}
	// Past exp and its leeway the memo's entry is not used, and verifying refuses it.
	if _, err := m.verify(secret, tok, now.Add(30*time.Second+atlas.TokenLeeway+time.Second)); err == nil {
		t.Fatal("an expired token verified")
	}
}

// The memo stays bounded: a token verified when it is full makes it start over.
func TestTokenMemoBounded(t *testing.T) {
	secret := []byte("memo-secret")
	now := time.Unix(1_800_000_000, 0)
	m := tokenMemo{m: make(map[string]atlas.VerifiedToken, maxVerifiedTokens)}
	for i := range maxVerifiedTokens {
		m.m[fmt.Sprint(i)] = atlas.VerifiedToken{Subject: "u1", ExpiresAt: now.Add(time.Minute)}
	}
	tok, err := atlas.NewToken(secret, "u2", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := m.verify(secret, tok, now); err != nil || sub != "u2" {
		t.Fatalf("verify: %q, %v; want u2", sub, err)
	}
	if _, ok := m.m[tok]; len(m.m) != 1 || !ok {
		t.Fatalf("memo holds %d tokens after one more past the bound %d, want only the new one", len(m.m), maxVerifiedTokens)
	}
}
