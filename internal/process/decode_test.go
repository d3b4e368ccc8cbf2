package process

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// FuzzDecodeMatchesEncodingJSON holds event.Unmarshal, the decode stage's
// and the dashboard's JSON decoder, to encoding/json's results on any
// input: the same refusals, and the same event from whatever both accept
// (invalid UTF-8, duplicate and differently cased keys, nulls, numbers out
// of range, raw sections). It holds event.Marshal to encoding/json's bytes
// (SetEscapeHTML(false)) for every event that decodes.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	yes := true
	typical, err := json.Marshal(event.Event{
		EventID: "0f8fad5bd9cb469fa16570867728950e", ProjectID: 1, Source: event.SourceSentry,
		Timestamp: time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC), Level: "error", Platform: "javascript",
		Release: "shop@1", Environment: "production", Fingerprint: []string{"{{ default }}"},
		Tags:        []event.Tag{{Key: "browser", Value: "Firefox 133"}},
		User:        &event.User{ID: "42", IPHash: "ab12", Data: json.RawMessage(`{"plan":"pro"}`)},
		Exceptions:  []event.Exception{{Type: "TypeError", Value: "x is undefined", Mechanism: &event.Mechanism{Type: "onerror", Handled: &yes}, Frames: []event.Frame{{Filename: "app.min.js", Function: "c", Lineno: 1, Colno: 30, InApp: &yes, PreContext: []string{"a"}}}}},
		Breadcrumbs: []event.Breadcrumb{{Timestamp: time.Unix(1764842400, 0).UTC(), Category: "xhr", Data: json.RawMessage(`{"status_code":200}`)}},
		Request:     &event.Request{Method: "GET", URL: "https://shop.example/cart", Headers: [][2]string{{"User-Agent", "Firefox"}}},
		Contexts:    json.RawMessage(`{"os":{"name":"Linux"}}`),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(typical)
	f.Add([]byte(`{"event_id":"a","EVENT_ID":"b","project_id":1e2,"level":null,"contexts":{"k":"\xff\u00e9"},"request":{"headers":[["a"],["b","c","d"]]}}`))
	f.Add([]byte(`{"exceptions":[{"frames":[{"lineno":99999999999999999999}]}],"timestamp":"2026-13-01T00:00:00Z"}`))
	f.Add([]byte(`{"message":"<b>&amp;</b> \u2028","extra":{ "a" : [1, 2.50, "\u003c"] },"breadcrumbs":[{"timestamp":"2026-12-04T10:00:00.5+02:00"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var std, got event.Event
		stdErr := json.Unmarshal(b, &std)
		gotErr := event.Unmarshal(b, &got)
		if (stdErr == nil) != (gotErr == nil) {
			t.Fatalf("encoding/json: %v; decode stage: %v", stdErr, gotErr)
		}
		if stdErr != nil {
			return
		}
		if !reflect.DeepEqual(std, got) {
			t.Fatalf("decoded differently:\nencoding/json %#v\ndecode stage  %#v", std, got)
		}
		// What decodes is what ingest queues and the store saves:
		// event.Marshal must write encoding/json's bytes for it, with
		// HTML characters left as they are.
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		stdErr = e.Encode(&std)
		stdRaw := bytes.TrimSuffix(enc.Bytes(), []byte("\n"))
		gotRaw, gotErr := event.Marshal(&std)
		if (stdErr == nil) != (gotErr == nil) || !bytes.Equal(stdRaw, gotRaw) {
			t.Fatalf("encoded differently:\nencoding/json %s (%v)\nevent.Marshal %s (%v)", stdRaw, stdErr, gotRaw, gotErr)
		}
	})
}
