package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdParse is encoding/json's reading of data, the behaviour
// parseJSONObject keeps.
func stdParse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func BenchmarkParseJSONObject(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	big := bigEvent(payload)
	parsers := []struct {
		name  string
		parse func([]byte) (any, error)
	}{
		{"encoding-json", stdParse},
		{"jsontext", func(data []byte) (any, error) { return parseJSONObject(data) }},
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"browser", payload}, {"50KB", big}} {
		for _, p := range parsers {
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.parse(c.data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// bigEvent is payload with breadcrumbs added until it is 50 KB.
func bigEvent(payload []byte) []byte {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		panic(err)
	}
	var crumbs []any
	for i := 0; ; i++ {
		crumbs = append(crumbs, map[string]any{"timestamp": 1751006913.25 + float64(i), "category": "http", "level": "info",
			"message": "GET /api/items/" + string(rune('a'+i%26)) + " 200", "data": map[string]any{"status_code": 200, "url": "https://shop.example.com/api/items?page=" + string(rune('0'+i%10))}})
		ev["breadcrumbs"] = crumbs
		b, _ := json.Marshal(ev)
		if len(b) >= 50_000 {
			return b
		}
	}
}

// FuzzParseJSONObject holds parseJSONObject to encoding/json's reading of
// the same bytes: both reject it, or both give the same tree.
func FuzzParseJSONObject(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"s":"\ud800"}`, `{"s":"\udc00\ud800x"}`, "{\"s\":\"\xff\xfe\"}", "{\"\xc3\":1}",
		`{"n":-0.0e+10,"big":123456789012345678901234567890}`, `{"a":[[[{}]]],"b":[]}`, `{} {}`, `{}x`, `[]`, `"s"`,
		`{"a":tru}`, `{"a":01}`, `{"a":"\u0000"}`, "{\"a\":\"\t\"}", ` {"a" : [ 1 , 2 ] } `, `{"a":1,}`, `{"é":"\u00e9"}`,
		// Protocol names spelled with escapes, invalid UTF-8 or a prefix.
		`{"time\u0073tamp":1,"timestamp":2}`, "{\"level\xff\":1,\"level\":2}", `{"levels":1,"leve":2,"":3}`,
	} {
		f.Add([]byte(s))
	}
	// Both refuse nesting past 10,000 levels.
	for _, depth := range []int{9_999, 10_000, 10_001} {
		f.Add([]byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseJSONObject(data)
		want, werr := stdParse(data)
		if werr == nil {
			if _, isObj := want.(map[string]any); !isObj {
				werr = errors.New("not an object")
			}
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseJSONObject error %v, encoding/json error %v", err, werr)
		}
		if err == nil && !reflect.DeepEqual(any(got), want) {
			t.Fatalf("trees differ:\n got %#v\nwant %#v", got, want)
		}
	})
}

func TestParseJSONObjectErrors(t *testing.T) {
	long := strings.Repeat("k", 100_000)
	for _, tt := range []struct{ in, want string }{
		{``, "empty; expected a JSON object"},
		{`[1]`, "a list, not a JSON object"},
		{`{}x`, "not valid JSON: unexpected data after the top-level value"},
		{`{"data":`, `not valid JSON: unexpected EOF within "/data" after offset 8`},
		{`{"a":tru}`, `not valid JSON: invalid character '}' in literal true (expecting 'e') within "/a" after offset 8`},
		{`{"` + long + `":[}`, `not valid JSON: invalid character '}' at start of value within "/kkk`},
	} {
		_, err := parseJSONObject([]byte(tt.in))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("parseJSONObject(%.20q) = %v, want %q", tt.in, err, tt.want)
			continue
		}
		if len(err.Error()) > maxJSONError {
			t.Errorf("parseJSONObject(%.20q): a %d-byte message, over %d", tt.in, len(err.Error()), maxJSONError)
		}
	}
}
