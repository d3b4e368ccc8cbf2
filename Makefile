# Flytrap build, test and lint entry points. `make test` is what CI runs.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20000x
LONGFUZZ    ?= 5m

.PHONY: build release test unit fuzz-short fuzz lint bench clean

## build: bin/flytrap for this machine; its deploy cross-compiles the runtime binaries, so it runs inside this checkout only.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/flytrap ./cmd/flytrap

## release: bin/flytrap with the runtime binaries embedded, as .goreleaser.yaml builds it: its deploy runs from any directory, without Go.
release:
	$(GO) run ./internal/runtimebin/build -o internal/runtimebin/dist
	CGO_ENABLED=0 $(GO) build -trimpath -tags embedruntime -o bin/flytrap ./cmd/flytrap

## test: every test (unit, contract on SQLite and PostgreSQL, end-to-end), lint, and a short fuzz of every target.
test: lint unit fuzz-short

unit:
	$(GO) test -count=1 -timeout 20m ./...

fuzz-short:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## fuzz: every fuzz target for $(LONGFUZZ) each.
fuzz:
	FUZZTIME=$(LONGFUZZ) scripts/fuzz.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin internal/runtimebin/dist
