# Flytrap build, test and lint entry points. `make test` is what CI runs.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20000x
LONGFUZZ    ?= 5m

.PHONY: build test unit fuzz-short fuzz lint bench clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/flytrap ./cmd/flytrap

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
	rm -rf bin
