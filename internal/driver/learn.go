package driver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultLearnWorkers is how many requests Learn has in flight.
const DefaultLearnWorkers = 16

// maxRefusedNamed is how many refused users Learned names.
const maxRefusedNamed = 10

// Learned is what Learn found out.
type Learned struct {
	// Asked is how many users were asked about.
	Asked int
	// Tiers and Conversations are how many users' tier and conversations were learned.
	Tiers, Conversations int
	// Refused counts the users whose token the target refused (401): they are dropped
	// from the population. RefusedIDs names the first of them.
	Refused    int
	RefusedIDs []string
}

// Learn asks the target at baseURL for what the users file did not give: each user's tier
// (GET /api/me/tier, when tiers is set and the file had no tier for the user) and
// conversation IDs (GET /api/conversations, when conversations is set and the file did not
// list them), workers at a time with each user's own token. A user whose token the target
// refuses (401) is dropped from the population, counted and named in Learned, not an error;
// any other failure (a transport error, a status other than 200 and 401, a body without the
// field) is an error that names the user.
func (u *Users) Learn(ctx context.Context, client *http.Client, baseURL string, tiers, conversations bool, workers int) (Learned, error) {
	var out Learned
	workers = cmp.Or(workers, DefaultLearnWorkers)
	baseURL = strings.TrimRight(baseURL, "/")
	if conversations {
		u.growConvs()
	}
	refused := make([]bool, u.Len()+1)
	var next, nTiers, nConvs, nRefused atomic.Int64
	var mu sync.Mutex
	var errs []error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > u.Len() || ctx.Err() != nil {
					return
				}
				err := u.learnOne(ctx, client, baseURL, i, tiers && u.Tier(i) == "", conversations && !u.KnowsConversations(i), &nTiers, &nConvs)
				switch {
				case errors.Is(err, errRefused):
					refused[i] = true
					nRefused.Add(1)
				case err != nil:
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return out, errs[0]
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	out.Asked, out.Tiers, out.Conversations, out.Refused = u.Len(), int(nTiers.Load()), int(nConvs.Load()), int(nRefused.Load())
	for i := 1; i <= u.Len() && len(out.RefusedIDs) < maxRefusedNamed; i++ {
		if refused[i] {
			out.RefusedIDs = append(out.RefusedIDs, u.ID(i))
		}
	}
	u.Keep(func(i int) bool { return !refused[i] })
	return out, nil
}

// errRefused is a 401: the target does not accept the user's token.
var errRefused = errors.New("driver: token refused")

// learnOne asks about user i.
func (u *Users) learnOne(ctx context.Context, client *http.Client, base string, i int, tier, convs bool, nTiers, nConvs *atomic.Int64) error {
	get := func(path string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", u.Bearer(i))
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("driver: learning user %s: GET %s: %w", u.ID(i), path, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, DefaultBodyLimit))
		switch {
		case res.StatusCode == http.StatusUnauthorized:
			return errRefused
		case err != nil:
			return fmt.Errorf("driver: learning user %s: GET %s: %w", u.ID(i), path, err)
		case res.StatusCode != http.StatusOK:
			return fmt.Errorf("driver: learning user %s: GET %s: status %d: %.200s", u.ID(i), path, res.StatusCode, body)
		}
		if err := json.Unmarshal(body, into); err != nil {
			return fmt.Errorf("driver: learning user %s: GET %s: %w", u.ID(i), path, err)
		}
		return nil
	}
	if tier {
		var b struct {
			Tier string `json:"tier"`
		}
		if err := get("/api/me/tier", &b); err != nil {
			return err
		}
		if u.setTier(i, b.Tier); u.Tier(i) == "" {
			return fmt.Errorf("driver: learning user %s: GET /api/me/tier: tier %q is not free, core or studio", u.ID(i), b.Tier)
		}
		nTiers.Add(1)
	}
	if convs {
		var b struct {
			Conversations *[]struct {
				ID string `json:"id"`
			} `json:"conversations"`
		}
		if err := get("/api/conversations", &b); err != nil {
			return err
		}
		if b.Conversations == nil {
			return fmt.Errorf("driver: learning user %s: GET /api/conversations: no \"conversations\" list", u.ID(i))
		}
		ids := make([]string, 0, len(*b.Conversations))
		for _, c := range *b.Conversations {
			if c.ID != "" && !strings.ContainsAny(c.ID, " /?#") {
				ids = append(ids, c.ID)
			}
		}
		u.setConversations(i, ids)
		nConvs.Add(1)
	}
	return nil
}
