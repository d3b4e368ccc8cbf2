package event

import jsonv1 "github.com/go-json-experiment/json/v1"

// Marshal encodes ev to the same bytes as encoding/json.Marshal, on the
// engine of encoding/json/v2 (github.com/go-json-experiment/json/v1, the
// module Go 1.27's standard library adopts). Every event is encoded twice on
// its way in, as ingest queues it and as the store saves it, and this
// engine does it in one allocation where encoding/json makes one per
// timestamp: 1.8x faster on a 50 KB event, 1.15x on a 2 KB one
// (docs/benchmarks.md). FuzzDecodeMatchesEncodingJSON holds the bytes to
// encoding/json's.
func Marshal(ev *Event) ([]byte, error) {
	return jsonv1.Marshal(ev)
}
