# atlasbench — two commands do everything on a fresh machine:
#   make bench   build, start Redis + DB + server, run the default scenario, write reports/
#   make test    the whole test suite (what .ci/run calls)
GO        ?= go
BIN       := bin/bench
PKGS      := ./...
FUZZTIME  ?= 30s

.PHONY: all build bench test test-short lint fuzz fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bench

bench: build
	./$(BIN) run -scenario mixed

test:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l .); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzKey -fuzztime $(FUZZTIME) ./internal/cache/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./scenarios/

clean:
	rm -rf bin
