package event

import (
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// marshalOptions are encoding/json's, less its escaping of <, > and & as
// \u003c: an event of those characters grew sixfold in the queue and the
// store, so a 1 MiB event could take 6 MiB and more. What Marshal writes is
// never served as HTML: the dashboard renders the decoded event through
// html/template, the raw download is a JSON attachment with nosniff, and
// the REST API encodes it again.
var marshalOptions = json.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false))

// Marshal encodes ev to the same bytes as an encoding/json Encoder with
// SetEscapeHTML(false), on the engine of encoding/json/v2
// (github.com/go-json-experiment/json, the module Go 1.27's standard
// library adopts). Every event is encoded twice on its way in, as ingest
// queues it and as the store saves it, and this engine does it in one
// allocation where encoding/json makes one per timestamp: 1.8x faster on a
// 50 KB event, 1.15x on a 2 KB one (docs/benchmarks.md).
// FuzzDecodeMatchesEncodingJSON holds the bytes to encoding/json's.
func Marshal(ev *Event) ([]byte, error) {
	return json.Marshal(ev, marshalOptions)
}

// Unmarshal decodes data into ev with encoding/json's semantics on the
// encoding/json/v2 engine: 2.2x faster on a 2 KB event and 1.6 to 2.1x on
// a 50 KB one (docs/benchmarks.md). The processor decodes every event with
// it, and the dashboard each event it shows, of up to 1 MB.
// FuzzDecodeMatchesEncodingJSON holds it to encoding/json's results.
func Unmarshal(data []byte, ev *Event) error {
	return jsonv1.Unmarshal(data, ev)
}
