package atlas

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxUserIDLen is the longest subject a token may carry.
const MaxUserIDLen = 128

// NewToken mints an HS256 JWT for userID (the `sub` claim), valid from now for ttl.
// `bench token`, the load driver and the tests all mint tokens here.
func NewToken(secret []byte, userID string, now time.Time, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("atlas: empty JWT secret")
	}
	if userID == "" {
		return "", errors.New("atlas: empty user ID")
	}
	claims := jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("atlas: sign token: %w", err)
	}
	return s, nil
}

// ParseToken verifies an HS256 token against secret at time now and returns its subject.
// It rejects alg "none" and every other algorithm, a wrong signature, a missing or past
// expiry, a future nbf, and a missing, over-long or control-character subject.
func ParseToken(secret []byte, token string, now time.Time) (string, error) {
	c, err := VerifyToken(secret, token, now)
	return c.Subject, err
}

// TokenLeeway is the clock skew ParseToken tolerates on exp and nbf.
const TokenLeeway = 5 * time.Second

// VerifiedToken is what VerifyToken found in a valid token: its subject and the window in
// which it is valid (NotBefore zero when it has no nbf). A caller that remembers verified
// tokens must still check Valid at each use.
type VerifiedToken struct {
	Subject              string
	NotBefore, ExpiresAt time.Time
}

// Valid reports whether the token is still (or already) valid at now, with TokenLeeway.
func (v VerifiedToken) Valid(now time.Time) bool {
	return now.Before(v.ExpiresAt.Add(TokenLeeway)) && (v.NotBefore.IsZero() || !now.Before(v.NotBefore.Add(-TokenLeeway)))
}

// VerifyToken is ParseToken returning the token's validity window too.
func VerifyToken(secret []byte, token string, now time.Time) (VerifiedToken, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(TokenLeeway),
	)
	if err != nil {
		return VerifiedToken{}, fmt.Errorf("atlas: token: %w", err)
	}
	sub := claims.Subject
	if sub == "" || len(sub) > MaxUserIDLen {
		return VerifiedToken{}, errors.New("atlas: token: subject missing or longer than 128 bytes")
	}
	for _, r := range sub {
		if r < 0x20 || r == 0x7f {
			return VerifiedToken{}, errors.New("atlas: token: subject has control characters")
		}
	}
	v := VerifiedToken{Subject: sub, ExpiresAt: claims.ExpiresAt.Time}
	if claims.NotBefore != nil {
		v.NotBefore = claims.NotBefore.Time
	}
	return v, nil
}
