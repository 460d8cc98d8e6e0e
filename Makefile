# atlasbench — two commands do everything on a fresh machine:
#   make bench   build, start Redis + DB + server, run the default scenario, write reports/
#   make test    the whole test suite (what .ci/run calls)
GO        ?= go
BIN       := bin/bench
PKGS      := ./...
FUZZTIME  ?= 30s

.PHONY: all build bench claims bench-go bench-floor bench-scale bench-scale-1m bench-soak bench-distributed bench-users test lint fuzz gate compare clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bench

bench: build
	./$(BIN) run -scenario mixed

# Every claim of the Atlas write-up measured: claims.md/html/json with verdicts, evidence and where
# each claim holds (about 15 minutes on 2 cores; bin/bench claims -quick takes about a minute).
claims: build
	./$(BIN) claims

# 100,000 users over 2 instances: seeding time, RSS, hit rates and Redis bytes per user (a few minutes).
bench-scale: build
	./$(BIN) run -scenario scale

# 1,000,000 users over 2 instances: bulk seeding with progress, warming within its budget (several minutes).
bench-scale-1m: build
	./$(BIN) run -scenario scale-1m

# The soak: core mix at 1000 rps for 30 minutes, Redis killed at 15 min; RSS and GC of every process.
bench-soak: build
	./$(BIN) run -scenario soak -mode cache

# cmd/bench's end-to-end tests take minutes: they run with -v, filtered to the test names as they
# start and pass (subtests and their chatter left out; failures in full), beside the other packages
# (plain go test, one at a time, then each fuzz target for 3 seconds), so the output moves while
# they run. Every package still ends with go test's own "ok" or "FAIL" line. TESTFLAGS adds go test
# flags to both (e.g. -run).
# The end-to-end tests run in parallel (t.Parallel; go test's -parallel, the core count by
# default): each is bounded by its scenario's seconds rather than by the CPU, and none judges the
# machine's speed. More at once (-parallel 4 on 2 cores) starves the cache's 50 ms Redis timeouts
# into bypasses, which the hit-rate and per-slot-range bypass thresholds do judge.
TESTFLAGS ?=
test:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@rest=$$($(GO) list $(PKGS) | grep -v '/cmd/bench$$'); \
	bench=$$($(GO) list $(PKGS) | grep '/cmd/bench$$'); \
	{ $(GO) test -race -count=1 -timeout 15m -p 1 $(TESTFLAGS) $$rest; r=$$?; \
	  $(MAKE) --no-print-directory fuzz FUZZTIME=3s || r=1; exit $$r; } & pid=$$!; \
	status=0; \
	if [ -n "$$bench" ]; then \
		st=$$(mktemp); \
		{ $(GO) test -race -count=1 -timeout 15m -v $(TESTFLAGS) $$bench 2>&1; echo $$? > $$st; } \
			| grep --line-buffered -v -E '^\s*=== (PAUSE|CONT|NAME)|^\s*=== RUN\s+\S+/|^\s+--- (PASS|SKIP)'; \
		[ "$$(cat $$st)" = 0 ] || status=1; rm -f $$st; \
	fi; \
	wait $$pid || status=1; \
	exit $$status

# The gate. Latency drifts with the machine and its load, so it is judged only in one job: with a
# merge base (of origin/main, else main; GATE_AGAINST=REF overrides) that is not HEAD, the A/B gate
# runs smoke alternately with the merge base's bench and this one, 10 pairs (about 9 minutes),
# latency judged pair by pair at 10%, and judges the new runs' counts and ratios against
# reports/baseline/smoke.json. At the merge base itself (CI on main) smoke runs with 4 repeats
# and only its counts and ratios are judged against the committed baseline (about 2 minutes).
# Accept a new baseline with: bin/bench gate -update -baseline reports/baseline/smoke.json reports/latest
GATE_AGAINST ?=
gate: build
	@base="$(GATE_AGAINST)"; \
	[ -n "$$base" ] || base=$$(git merge-base HEAD origin/main 2>/dev/null || git merge-base HEAD main 2>/dev/null); \
	if [ -n "$$base" ] && [ "$$(git rev-parse "$$base" 2>/dev/null)" != "$$(git rev-parse HEAD 2>/dev/null)" ]; then \
		echo "gate: A/B against $$base"; \
		./$(BIN) gate -against "$$base" -baseline reports/baseline/smoke.json -junit reports/smoke-junit.xml; \
	else \
		echo "gate: at the merge base: counts and ratios against reports/baseline/smoke.json"; \
		./$(BIN) run -scenario smoke -mode both -count 4 -quiet -junit reports/smoke-junit.xml || [ $$? -eq 4 ]; \
		./$(BIN) gate -counts-only -baseline reports/baseline/smoke.json reports/latest || [ $$? -eq 4 ]; \
	fi

# Cache configurations side by side on one scenario.
compare: build
	./$(BIN) compare -scenario core -config default -config production -config none

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l .); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }

# Fuzzing: seconds of each target inside make test, longer with make fuzz (FUZZTIME=10m).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzKey$$' -fuzztime $(FUZZTIME) ./internal/cache/
	$(GO) test -run '^$$' -fuzz '^FuzzKeyRoundTrip$$' -fuzztime $(FUZZTIME) ./internal/cache/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./scenarios/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/threshold/

clean:
	rm -rf bin

# The refserver's cached GET path beside a bare go-redis GET, measured in one run.
bench-go:
	$(GO) test -run '^$$' -bench 'CachedGET|RedisGET' -benchtime 2s ./refserver/ | tee /tmp/atlas-bench-go.txt
	@awk '/^BenchmarkCachedGET/{c=$$3} /^BenchmarkRedisGET/{r=$$3} END{if(r>0) printf "cached GET path / bare Redis GET = %.1fx\n", c/r}' /tmp/atlas-bench-go.txt

# The refserver's cached GET /api/me beside the floor server (HTTP + one go-redis GET of 512 bytes),
# same Redis, alternated, at 1000 rps and at full speed (64 workers): p50/p99 and throughput ratios.
bench-floor: build
	./$(BIN) floor

# Distributed load proven on one machine: the mixed scenario as 3 shards (bench run -shard i/3,
# one -start-at) against one server, merged (bench merge), beside one unsharded run against an
# identical fresh server; fails unless request and per-route counts are equal and hit rates
# within 2 points. Prints both side by side.
bench-distributed:
	$(GO) test -count=1 -timeout 30m -run '^TestShardsMergeEqualsUnsharded$$' -v ./cmd/bench/ -args -shards.scenario mixed -shards.n 3

# A million users from a users file (bench run -users) held once in memory: the heap grows by
# about the file's size. make test loads 100,000, the same ratio in seconds.
bench-users:
	$(GO) test -count=1 -run '^TestLoadUsersMillion$$' -v ./internal/driver/ -args -users.n 1000000
