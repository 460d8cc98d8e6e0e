package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

const tokenUsage = `token [-ttl D] USERID

Prints an HS256 JWT with sub=USERID, signed with ATLAS_JWT_SECRET (the same secret
"bench serve" verifies with; unset, both use the development secret).

Example:
  curl -H "Authorization: Bearer $(bench token u1)" http://127.0.0.1:8000/api/me`

func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", tokenUsage, stdout)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("token: want exactly one USERID, e.g. bench token u1")
	}
	if *ttl <= 0 {
		return usagef("token: -ttl must be > 0")
	}
	secret, _ := jwtSecret(getenv)
	tok, err := atlas.NewToken(secret, fs.Arg(0), time.Now(), *ttl)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
