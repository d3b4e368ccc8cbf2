package artifact_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/store"
)

// small are limits hostile bundles cross without big allocations.
var small = artifact.Limits{MaxBundleBytes: 1 << 20, MaxFiles: 10, MaxFileBytes: 4 << 20, MaxTotalBytes: 6 << 20, MaxRatio: 100}

type entry struct {
	name string
	body []byte
}

// zipOf builds a zip with a manifest listing entries under files/ as
// source maps, plus the raw entries given.
func zipOf(t *testing.T, raw ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range raw {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifestFor(names ...string) entry {
	var b strings.Builder
	b.WriteString(`{"files":{`)
	for i, n := range names {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + n + `":{"url":"~/` + n + `","type":"source_map","headers":{}}`)
	}
	b.WriteString(`}}`)
	return entry{"manifest.json", []byte(b.String())}
}

// lyingZip declares a file of 10 bytes whose data inflates to n.
func lyingZip(t *testing.T, n int) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(make([]byte, n))
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := manifestFor("files/a.map")
	mw, _ := zw.Create(m.name)
	mw.Write(m.body)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "files/a.map", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(make([]byte, 10)),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: 10})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestReadBundleRefusesHostileBundles(t *testing.T) {
	okMap := []byte(appMap)
	spaced := append([]byte(appMap), bytes.Repeat([]byte(" "), 1<<20-len(appMap))...)
	many := []entry{manifestFor()}
	for i := range 12 {
		many = append(many, entry{"files/" + strings.Repeat("x", i+1), okMap})
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK\x03\x04 garbage"), "not a zip archive"},
		{"empty", nil, "not a zip archive"},
		{"too large", make([]byte, small.MaxBundleBytes+1), "more than the limit"},
		{"no manifest", zipOf(t, entry{"files/a.map", okMap}), "no manifest.json"},
		{"manifest not JSON", zipOf(t, entry{"manifest.json", []byte("{")}), "manifest.json"},
		{"listed file missing", zipOf(t, manifestFor("files/a.map")), "does not hold"},
		{"path traversal", zipOf(t, manifestFor("files/a.map"), entry{"files/../../etc/passwd", okMap}), "path traversal"},
		{"parent only", zipOf(t, manifestFor(), entry{"../x", okMap}), "path traversal"},
		{"absolute", zipOf(t, manifestFor(), entry{"/etc/passwd", okMap}), "unsafe file name"},
		{"backslash", zipOf(t, manifestFor(), entry{`files\..\x`, okMap}), "unsafe file name"},
		{"too many files", zipOf(t, many...), "files is more than the limit"},
		{"zip bomb ratio", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", make([]byte, 3<<20)}), "zip bomb"},
		// Each map under the 1 MiB from which a file's own ratio counts,
		// together 4 MiB from a few KiB.
		{"zip bomb of small files", zipOf(t, manifestFor("files/a.map", "files/b.map", "files/c.map", "files/d.map"),
			entry{"files/a.map", spaced}, entry{"files/b.map", spaced}, entry{"files/c.map", spaced}, entry{"files/d.map", spaced}),
			"its files inflate to 4194304 bytes"},
		{"file too large", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", bytes.Repeat([]byte("0123456789abcdef"), 5<<16)}), "more than the limit of 4194304"},
		{"declared size lies", lyingZip(t, 2<<20), "files/a.map"},
		{"broken JSON map", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(`{"version":3,"mappings":"AAAA"`)}), "not a JSON source map"},
		{"mappings not VLQ", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(`{"version":3,"mappings":"!!!!;@@"}`)}),
			`files/a.map (~/files/a.map): malformed "mappings": '!' at offset 0 is not base64 VLQ`},
		{"section mappings not VLQ", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(`{"version":3,"sections":[` +
			`{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"mappings":"AAAA"}},` +
			`{"offset":{"line":1,"column":0},"map":{"version":3,"sources":["a.js"],"mappings":"AA é"}}]}`)}),
			`section 1: malformed "mappings": ' ' at offset 2`},
		// sentry-cli's upload of a map whose mappings point past its
		// sources is refused like one with malformed characters.
		{"source index outside sources", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map",
			[]byte(`{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA,KCAA,KCAA"}`)}),
			`files/a.map (~/files/a.map): malformed "mappings": the segment at offset 5 points at source 1, but "sources" has 1 entry`},
		{"JSON but not a map", zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(`{"hello":1}`)}), "not a source map"},
		// The URL, which names the file and is shown, as the legacy
		// release file's name is checked (artifactapi).
		{"NUL in a URL", zipOf(t, entry{"manifest.json", []byte(`{"files":{"files/a.map":{"url":"~/a\u0000.map","type":"source_map"}}}`)},
			entry{"files/a.map", okMap}), `file name "~/a\x00.map" holds a control character`},
		{"escape in a URL", zipOf(t, entry{"manifest.json", []byte(`{"files":{"files/a.map":{"url":"~/\u001b[2Ja.map","type":"source_map"}}}`)},
			entry{"files/a.map", okMap}), `holds a control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := artifact.ReadBundle(tt.data, small)
			var be *artifact.BundleError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadBundle err = %v, want a BundleError containing %q", err, tt.want)
			}
		})
	}
}

func TestReadBundleTotalSize(t *testing.T) {
	body := []byte(`{"version":3,"sources":["a.js"],"mappings":"` + strings.Repeat("AAAA,", 3<<18) + `"}`) // ~3.75 MiB, compresses ~1000x
	l := small
	l.MaxRatio = 1 << 20
	data := zipOf(t, manifestFor("files/a.map", "files/b.map"), entry{"files/a.map", body}, entry{"files/b.map", body})
	if _, err := artifact.ReadBundle(data, l); err == nil || !strings.Contains(err.Error(), "add up to more than") {
		t.Errorf("ReadBundle err = %v, want the total limit", err)
	}
}

func TestWriteReadBundle(t *testing.T) {
	files := []artifact.BundleFile{
		{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", DebugID: debugID, SourceMap: "app.min.js.map", Data: []byte("x()")},
		{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: debugID, Data: []byte(appMap)},
	}
	var buf bytes.Buffer
	if err := artifact.WriteBundle(&buf, map[string]string{"release": "1.0"}, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("SYSB\x02\x00\x00\x00")) {
		t.Errorf("bundle starts %q, want sentry-cli's SYSB header", buf.Bytes()[:8])
	}
	b, err := artifact.ReadBundle(buf.Bytes(), artifact.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if b.Attributes["release"] != "1.0" || len(b.Files) != 2 {
		t.Fatalf("ReadBundle = %+v", b)
	}
	for i, f := range b.Files {
		w := files[i]
		if f.URL != w.URL || f.Kind != w.Kind || f.DebugID != w.DebugID || f.SourceMap != w.SourceMap || string(f.Data) != string(w.Data) ||
			f.Path != artifact.BundlePath(w.URL) {
			t.Errorf("file %d = %+v, want %+v", i, f, w)
		}
	}
}

func TestBundlePath(t *testing.T) {
	for url, want := range map[string]string{
		"~/static/js/app.min.js":             "files/_/_/static/js/app.min.js",
		"https://cdn.example.com/a/b.js?v=1": "files/https/cdn.example.com/a/b.js",
		"~/../../etc/passwd":                 "files/_/_/etc/passwd",
		"app:///index.js":                    "files/app/_/index.js",
	} {
		if got := artifact.BundlePath(url); got != want {
			t.Errorf("BundlePath(%q) = %q, want %q", url, got, want)
		}
	}
}

// FuzzReadBundle feeds arbitrary bytes, and bundles mutated from a valid
// one, to ReadBundle: it must return a bundle or a BundleError, never
// panic, and never exceed its limits.
func FuzzReadBundle(f *testing.F) {
	var buf bytes.Buffer
	artifact.WriteBundle(&buf, nil, []artifact.BundleFile{{Kind: store.ArtifactSourceMap, URL: "~/a.js.map", Data: []byte(appMap)}})
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := artifact.ReadBundle(data, small)
		if err != nil {
			var be *artifact.BundleError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, not a BundleError", err)
			}
			return
		}
		var total int64
		for _, f := range b.Files {
			total += int64(len(f.Data))
		}
		if len(b.Files) > small.MaxFiles || total > small.MaxTotalBytes {
			t.Fatalf("%d files, %d bytes: over the limits", len(b.Files), total)
		}
	})
}

// The Source Map v3 spec lets a map start with a `)]}'` line against
// cross-site script inclusion, and editors write byte order marks: both
// are valid maps, accepted as uploaded and read past.
func TestMapPrefixes(t *testing.T) {
	withID := `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA","debug_id":"` + debugID + `"}`
	for _, tt := range []struct {
		name, body string
	}{
		{"plain", withID},
		{"byte order mark", "\ufeff" + withID},
		{"XSSI prefix", ")]}'\n" + withID},
		{"XSSI prefix with more on its line", ")]}' // safe\r\n" + withID},
		{"both", "\ufeff)]}'\n" + withID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(artifact.MapJSON([]byte(tt.body))); got != withID {
				t.Errorf("MapJSON = %q, want %q", got, withID)
			}
			if id := artifact.MapDebugID([]byte(tt.body)); id != debugID {
				t.Errorf("MapDebugID = %q, want %s", id, debugID)
			}
			data := zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(tt.body)})
			if _, err := artifact.ReadBundle(data, small); err != nil {
				t.Errorf("ReadBundle: %v", err)
			}
			e := newEnv(t, nil)
			if _, err := e.s.SaveReleaseFile(e.ctx, e.proj.ID, "1.0", "", artifact.BundleFile{URL: "~/a.js.map"},
				strings.NewReader(tt.body), int64(len(tt.body)), func(int64) error { return nil }); err != nil {
				t.Errorf("SaveReleaseFile: %v", err)
			}
		})
	}
	data := zipOf(t, manifestFor("files/a.map"), entry{"files/a.map", []byte(")]}'")})
	if _, err := artifact.ReadBundle(data, small); err == nil || !strings.Contains(err.Error(), "not a JSON source map") {
		t.Errorf("ReadBundle of a prefix alone: err = %v, want not a JSON source map", err)
	}
}

// A refused file is named by its URL, which the user chose, not by its
// path in the zip, which the uploader made up.
func TestReadBundleNamesFilesByURL(t *testing.T) {
	manifest := entry{"manifest.json", []byte(`{"files":{"files/_/_/huge.js.map":{"url":"~/huge.js.map","type":"source_map"}}}`)}
	for _, tt := range []struct {
		name string
		body []byte
		want string
	}{
		{"too large", bytes.Repeat([]byte("0123456789abcdef"), 5<<16), "invalid artifact bundle: ~/huge.js.map: 5242880 bytes uncompressed is more than the limit of 4194304"},
		{"zip bomb", make([]byte, 3<<20), "invalid artifact bundle: ~/huge.js.map: compressed"},
	} {
		_, err := artifact.ReadBundle(zipOf(t, manifest, entry{"files/_/_/huge.js.map", tt.body}), small)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "files/_/_") {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
