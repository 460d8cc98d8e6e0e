package refserver

import (
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// maxVerifiedTokens bounds the verified-token memo; past it, the memo starts over.
const maxVerifiedTokens = 1 << 16

// tokenMemo remembers the tokens this server verified, by their exact text, so that a
// client reusing its token (every client does) pays the HMAC and the claims' JSON once, not
// per request: that was about a quarter of a cached GET's CPU in the server. A token is
// only ever found under the very string whose signature was checked, and its validity
// window (exp, nbf, with the leeway) is checked again at every use, so an expired token is
// refused exactly as without the memo.
type tokenMemo struct {
	mu sync.RWMutex
	m  map[string]atlas.VerifiedToken
}

// verify returns the subject of a valid token at now, from the memo or by verifying it.
func (t *tokenMemo) verify(secret []byte, token string, now time.Time) (string, error) {
	t.mu.RLock()
	v, ok := t.m[token]
	t.mu.RUnlock()
	if ok && v.Valid(now) {
		return v.Subject, nil
	}
	v, err := atlas.VerifyToken(secret, token, now)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	if t.m == nil || len(t.m) >= maxVerifiedTokens {
		t.m = make(map[string]atlas.VerifiedToken)
	}
	t.m[token] = v
	t.mu.Unlock()
	return v.Subject, nil
}
