package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdMarshal is what Marshal matches: encoding/json's Encoder with
// SetEscapeHTML(false), less the trailing newline.
func stdMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// stdParse is encoding/json's reading of data with UseNumber.
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

func TestMarshal(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"members sorted by bytes", map[string]any{"b": "1", "a": json.Number("2"), "B": true, "é": nil}, `{"B":true,"a":2,"b":"1","é":null}`},
		{"HTML kept", map[string]any{"<module>": "a & b <c>"}, `{"<module>":"a & b <c>"}`},
		{"line separators escaped", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"control characters", "\x00\x01\b\f\n\r\t\x1f\x7f", `"\u0000\u0001\b\f\n\r\t\u001f` + "\x7f" + `"`},
		{"numbers as spelled", []any{json.Number("1.50"), json.Number("-0.0e+10"), json.Number("123456789012345678901234567890")}, `[1.50,-0.0e+10,123456789012345678901234567890]`},
		{"zero Number", json.Number(""), `0`},
		{"nil list and object", []any{[]any(nil), map[string]any(nil), []any{}, map[string]any{}}, `[null,null,[],{}]`},
		{"other types through encoding/json", map[string]any{"f": 1.5, "i": 7, "s": []string{"<x>"}}, `{"f":1.5,"i":7,"s":["<x>"]}`},
		{"deep", []any{[]any{[]any{map[string]any{"k": []any{"v"}}}}}, `[[[{"k":["v"]}]]]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s, want %s", got, tt.want)
			}
			std, err := stdMarshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, std) {
				t.Errorf("Marshal = %s, encoding/json = %s", got, std)
			}
		})
	}
}

// TestMarshalInvalidUTF8 pins the one difference from encoding/json: a
// string that is not UTF-8 (which Parse never returns) gets U+FFFD itself,
// where encoding/json writes the escape; both read back the same.
func TestMarshalInvalidUTF8(t *testing.T) {
	got, err := Marshal(map[string]any{"a\xff": "b\xfe"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"a\ufffd\":\"b\ufffd\"}"; string(got) != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
	std, _ := stdMarshal(map[string]any{"a\xff": "b\xfe"})
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(std, &b) != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("Marshal = %q and encoding/json = %q read back differently", got, std)
	}
}

func TestMarshalRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, v := range []any{
		json.Number("12x"),
		json.Number("{}"),
		json.Number("true"),
		json.Number(" 1"),
		json.Number("1 "),
		json.Number(`"1"`),
		json.Number("-"),
		map[string]any{"a": []any{json.Number("--1")}},
		map[string]any{"c": make(chan int)},
	} {
		if _, err := stdMarshal(v); err == nil {
			t.Fatalf("encoding/json encodes %#v", v)
		}
		if b, err := Marshal(v); err == nil {
			t.Errorf("Marshal(%#v) = %s, want an error", v, b)
		}
	}
	// A writer that failed inside objects goes back to the pool holding
	// none of their names.
	for range 100 {
		if _, err := Marshal(map[string]any{"secret": map[string]any{"k": json.Number("x")}}); err == nil {
			t.Fatal("Marshal of an invalid number succeeded")
		}
		w := writers.Get().(*writer)
		if len(w.keys) != 0 {
			t.Fatalf("a pooled writer holds names %q", w.keys)
		}
		writers.Put(w)
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    any
		wantErr error
	}{
		{``, nil, ErrEmpty},
		{"  \n", nil, ErrEmpty},
		{`{}x`, nil, ErrTrailing},
		{`1 2`, nil, ErrTrailing},
		{`"s"`, "s", nil},
		{`[1,"a",null,true]`, []any{json.Number("1"), "a", nil, true}, nil},
		{`{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}, nil},
		{"{\"s\":\"\xff\"}", map[string]any{"s": "\ufffd"}, nil},
	} {
		got, err := Parse([]byte(tt.in))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse(%q) error %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	if _, err := Parse([]byte(`{"a":tru}`)); err == nil || errors.Is(err, ErrEmpty) || errors.Is(err, ErrTrailing) {
		t.Errorf("Parse of a syntax error = %v, want jsontext's error", err)
	}
}

// FuzzMarshalMatchesEncodingJSON holds Parse and Marshal to encoding/json:
// both refuse the same input, what encoding/json reads Parse reads to the
// same tree, and Marshal writes it to the same bytes as encoding/json.
func FuzzMarshalMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null],"c":{"z":"<&>","y":"\u2028"}}`, `"\ud800"`, "\"\xff\xfe\"", `-0.0e+10`,
		`{"a":1,"a":2}`, `[[[{}]]]`, `{"é":"\u00e9","\u0000":"\t"}`, `123456789012345678901234567890`,
		`{"frames":[{"vars":{"self":"<app.Handler object at 0x7f>","rows":[{"id":1}]}}]}`, `[]`, `{}`, ` 1 `,
		`{"k":"` + strings.Repeat("é\\n", 100) + `"}`, `null]`, `{}}`,
		`{"s":"\udc00\ud800x"}`, "{\"\xc3\":1}", `{} {}`, `{}x`, `{"a":tru}`, `{"a":01}`, `{"a":1,}`,
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
		want, werr := stdParse(data)
		got, err := Parse(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("Parse error %v, encoding/json error %v", err, werr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trees differ:\n got %#v\nwant %#v", got, want)
		}
		b, err := Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		std, err := stdMarshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, std) {
			t.Fatalf("Marshal = %q, encoding/json = %q", b, std)
		}
	})
}

// BenchmarkParse compares Parse with encoding/json's Decoder on a browser
// SDK's event and the same event grown to 50 KB with breadcrumbs.
func BenchmarkParse(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		b.Fatal(err)
	}
	var crumbs []any
	big := payload
	for i := 0; len(big) < 50_000; i++ {
		crumbs = append(crumbs, map[string]any{"timestamp": 1751006913.25 + float64(i), "category": "http", "level": "info",
			"message": fmt.Sprintf("GET /api/items/%d 200", i), "data": map[string]any{"status_code": 200, "url": fmt.Sprintf("https://shop.example.com/api/items?page=%d", i%10)}})
		ev["breadcrumbs"] = crumbs
		big, _ = json.Marshal(ev)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"browser", payload}, {"50KB", big}} {
		for _, p := range []struct {
			name  string
			parse func([]byte) (any, error)
		}{{"encoding-json", stdParse}, {"jsontree", Parse}} {
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
