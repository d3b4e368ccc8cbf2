package artifact

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/debugid"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// Limits bound what one artifact bundle may hold, so a zip bomb, a huge
// map or a million tiny files is refused at upload with a clear error
// instead of filling the disk or memory.
type Limits struct {
	// MaxBundleBytes bounds the zip as uploaded.
	MaxBundleBytes int64
	// MaxFiles bounds the entries of the zip.
	MaxFiles int
	// MaxFileBytes bounds each file once uncompressed.
	MaxFileBytes int64
	// MaxTotalBytes bounds all files together once uncompressed.
	MaxTotalBytes int64
	// MaxRatio bounds how many times larger than its compressed size a
	// file of more than 1 MiB may be.
	MaxRatio int64
}

// DefaultLimits are the limits docs/sourcemaps.md lists.
var DefaultLimits = Limits{
	MaxBundleBytes: 100 << 20,
	MaxFiles:       10_000,
	MaxFileBytes:   50 << 20,
	MaxTotalBytes:  256 << 20,
	MaxRatio:       100,
}

// BundleError is what ReadBundle returns for a bundle it refuses: the
// uploader's mistake (400), never the server's.
type BundleError struct{ Msg string }

func (e *BundleError) Error() string { return "invalid artifact bundle: " + e.Msg }

func bundleErrorf(format string, args ...any) error {
	return &BundleError{Msg: fmt.Sprintf(format, args...)}
}

// BundleFile is one file of an artifact bundle.
type BundleFile struct {
	// Path is the file's name in the zip ("files/_/_/app.min.js").
	Path string
	// URL is where the file is served ("~/static/js/app.min.js").
	URL string
	// Kind is store.ArtifactMinifiedSource, store.ArtifactSourceMap or
	// store.ArtifactSource.
	Kind string
	// DebugID is the manifest's debug-id header, canonical
	// (debugid.Canonical); "" when it has none or not a debug ID.
	DebugID string
	// SourceMap is the manifest's sourcemap header of a minified file.
	SourceMap string
	Data      []byte
}

// Bundle is an artifact bundle as sentry-cli (and `flytrap sourcemaps
// upload`) build it: a zip, after an 8-byte "SYSB" header, holding
// manifest.json and the files it describes.
type Bundle struct {
	// Attributes are the manifest's: org, project, release, dist, debug_id.
	Attributes map[string]string
	Files      []BundleFile
}

// manifestFile describes one file of a source bundle.
type manifestFile struct {
	URL     string            `json:"url"`
	Type    string            `json:"type"`
	Headers map[string]string `json:"headers"`
}

// manifest is manifest.json of a source bundle (symbolic's SourceBundle).
type manifest struct {
	Files      map[string]manifestFile `json:"files"`
	Attributes map[string]string       `json:"attributes"`
}

const (
	bundleMagic    = "SYSB"
	bundleVersion  = 2
	manifestName   = "manifest.json"
	maxManifest    = 16 << 20
	ratioThreshold = 1 << 20
)

// kinds maps the manifest's file types to what is stored; other types
// (indexed RAM bundles) are skipped.
var kinds = map[string]string{
	"minified_source": store.ArtifactMinifiedSource,
	"source_map":      store.ArtifactSourceMap,
	"source":          store.ArtifactSource,
}

// ReadBundle checks and unpacks an artifact bundle within l, holding
// every file in memory: for `flytrap sourcemaps upload`, which checks the
// bundle it built. Every refusal is a *BundleError naming the file and the
// limit.
func ReadBundle(data []byte, l Limits) (Bundle, error) {
	br, err := OpenBundle(bytes.NewReader(data), int64(len(data)), l)
	if err != nil {
		return Bundle{}, err
	}
	b := Bundle{Attributes: br.Attributes}
	err = br.Each(func(f BundleFile) error {
		b.Files = append(b.Files, f)
		return nil
	})
	if err != nil {
		return Bundle{}, err
	}
	return b, nil
}

// BundleReader reads the files of an artifact bundle one at a time, so
// that reading a bundle holds one of its files in memory, not what the
// whole bundle inflates to.
type BundleReader struct {
	// Attributes are the manifest's: org, project, release, dist, debug_id.
	Attributes map[string]string
	limits     Limits
	// files are those the manifest lists with a kind stored, by path,
	// each without its Data.
	files   []BundleFile
	entries []*zip.File
}

// OpenBundle checks the size bytes of an artifact bundle r holds against
// l, from what its zip and manifest declare, before any file is inflated:
// names, counts, URLs, each file's size and compression ratio, the total
// size of the files, and the ratio of that total to size, which bounds
// what a bundle of many small files, each within the ratio allowed a file,
// inflates to. These bind: readEntry reads a file to exactly the size its
// entry declares, and archive/zip refuses any byte more. Every refusal is
// a *BundleError naming the file and the limit.
func OpenBundle(r io.ReaderAt, size int64, l Limits) (*BundleReader, error) {
	if size > l.MaxBundleBytes {
		return nil, bundleErrorf("%d bytes is more than the limit of %d", size, l.MaxBundleBytes)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, bundleErrorf("not a zip archive: %v", err)
	}
	if len(zr.File) > l.MaxFiles+1 {
		return nil, bundleErrorf("%d files is more than the limit of %d", len(zr.File), l.MaxFiles)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		if !f.FileInfo().IsDir() {
			entries[f.Name] = f
		}
	}
	mf, ok := entries[manifestName]
	if !ok {
		return nil, bundleErrorf("no %s: upload with sentry-cli >= 2.17 or flytrap sourcemaps upload", manifestName)
	}
	raw, err := readEntry(mf, manifestName, maxManifest, l)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bundleErrorf("%s: %v", manifestName, err)
	}
	br := &BundleReader{Attributes: m.Attributes, limits: l}
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	var total uint64
	for _, name := range names {
		info := m.Files[name]
		kind, ok := kinds[info.Type]
		if !ok {
			continue
		}
		f, ok := entries[name]
		if !ok {
			return nil, bundleErrorf("%s lists %q, which the zip does not hold", manifestName, name)
		}
		if info.URL == "" {
			return nil, bundleErrorf("%s: %q has no url", manifestName, name)
		}
		if err := CheckURL(info.URL); err != nil {
			return nil, err
		}
		// Named by its URL, which the user gave: the zip path is ours.
		if err := checkDeclared(f, info.URL, l.MaxFileBytes, l); err != nil {
			return nil, err
		}
		if total += f.UncompressedSize64; total > uint64(l.MaxTotalBytes) {
			return nil, bundleErrorf("the files add up to more than the limit of %d bytes uncompressed", l.MaxTotalBytes)
		}
		bf := BundleFile{Path: name, URL: info.URL, Kind: kind}
		for k, v := range info.Headers {
			switch strings.ToLower(k) {
			case "debug-id":
				// A header that is no debug ID is passed over, as
				// Sentry does, not refused: the file is then one
				// without a debug ID.
				bf.DebugID, _ = debugid.Canonical(v)
			case "sourcemap", "x-sourcemap":
				bf.SourceMap = v
			}
		}
		br.files = append(br.files, bf)
		br.entries = append(br.entries, f)
	}
	if total > ratioThreshold && total > uint64(l.MaxRatio)*uint64(max(size, 1)) {
		return nil, bundleErrorf("its files inflate to %d bytes, %d times the %d bytes uploaded, more than the limit of %d: a zip bomb?",
			total, total/uint64(max(size, 1)), size, l.MaxRatio)
	}
	return br, nil
}

// Len is how many files Each reads.
func (br *BundleReader) Len() int { return len(br.files) }

// Each inflates the files in the order of their paths, checks each (a
// source map must be one) and calls fn with it, stopping at the first
// error, fn's returned as it is.
func (br *BundleReader) Each(fn func(BundleFile) error) error {
	for i, bf := range br.files {
		body, err := readEntry(br.entries[i], bf.URL, br.limits.MaxFileBytes, br.limits)
		if err != nil {
			return err
		}
		if bf.Kind == store.ArtifactSourceMap {
			if err := checkMap(body); err != nil {
				return bundleErrorf("%s (%s): %v", bf.Path, bf.URL, err)
			}
		}
		bf.Data = body
		if err := fn(bf); err != nil {
			return err
		}
	}
	return nil
}

// CheckURL refuses the URL a file is uploaded under (a bundle manifest's
// url, a legacy release file's name) when it holds a NUL or another
// control character: no frame's path has one, and shown on a page or a
// terminal it could pass for another name. Nothing is written under a
// URL (files are stored by the hash of their content), so `..` segments
// and absolute paths stay as given, as Sentry keeps them: sentry-cli
// names a Node server's files by their absolute paths (--url-prefix
// /app/dist), and a URL matches frames only as a URL.
func CheckURL(url string) error {
	if event.HasControl(url) {
		return bundleErrorf("file name %q holds a control character: name each file by its URL, such as ~/static/js/app.min.js", url)
	}
	return nil
}

// checkName refuses unsafe entry names before anything is inflated.
func checkName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || strings.HasPrefix(name, "/"):
		return bundleErrorf("unsafe file name %q", name)
	case path.Clean(name) != strings.TrimSuffix(name, "/") || name == ".." || strings.HasPrefix(name, "../"):
		return bundleErrorf("unsafe file name %q (path traversal)", name)
	}
	return nil
}

// checkDeclared refuses a file, called label in errors, whose zip entry
// declares more than limit bytes, or a compression ratio over l's for a
// file over ratioThreshold.
func checkDeclared(f *zip.File, label string, limit int64, l Limits) error {
	switch {
	case f.UncompressedSize64 > uint64(limit):
		return bundleErrorf("%s: %d bytes uncompressed is more than the limit of %d", label, f.UncompressedSize64, limit)
	case f.UncompressedSize64 > ratioThreshold && f.UncompressedSize64 > uint64(l.MaxRatio)*max(f.CompressedSize64, 1):
		return bundleErrorf("%s: compressed %d times (%d to %d bytes), more than the limit of %d: a zip bomb?",
			label, f.UncompressedSize64/max(f.CompressedSize64, 1), f.CompressedSize64, f.UncompressedSize64, l.MaxRatio)
	}
	return nil
}

// readEntry inflates one file, called label in errors, within limit (see
// checkDeclared) into a buffer of the size its entry declares, which
// archive/zip holds the data to, so a large file is not copied as it
// grows.
func readEntry(f *zip.File, label string, limit int64, l Limits) ([]byte, error) {
	if err := checkDeclared(f, label, limit, l); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, bundleErrorf("%s: %v", label, err)
	}
	defer rc.Close()
	body := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, body); err != nil {
		return nil, bundleErrorf("%s: %v", label, err)
	}
	// Reading on to the end checks the CRC, and that nothing follows.
	if _, err := io.ReadFull(rc, make([]byte, 1)); err != io.EOF {
		return nil, bundleErrorf("%s: %v", label, cmp.Or(err, zip.ErrFormat))
	}
	return body, nil
}

// errTooLarge is what limitReader returns past its limit.
var errTooLarge = errors.New("larger than the limit")

// limitReader reads r to the end, failing once it yields more than n bytes.
func limitReader(r io.Reader, n int64) io.Reader { return &limited{r: r, n: n} }

type limited struct {
	r io.Reader
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("more than %d bytes: %w", l.n+int64(n), errTooLarge)
	}
	return n, err
}

// MapJSON returns the JSON of a source map file: without a UTF-8 byte
// order mark, which editors and some bundlers write, and without a first
// line starting with `)]}'`, the prefix the Source Map v3 spec lets a
// server put before a map against cross-site script inclusion, which
// readers of a map must strip.
func MapJSON(body []byte) []byte {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(body, []byte(")]}'")) {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return nil
		}
		body = body[i+1:]
	}
	return body
}

// mapShape is what checking a map reads of it: an index map's sections
// each hold a map of their own. Of sources and names only their lengths
// are kept.
type mapShape struct {
	Version  int      `json:"version"`
	Mappings *string  `json:"mappings"`
	Sources  arrayLen `json:"sources"`
	Names    arrayLen `json:"names"`
	Sections *[]struct {
		Map *mapShape `json:"map"`
	} `json:"sections"`
}

// arrayLen is the number of elements of a JSON array, counted without
// decoding them; anything but an array counts 0.
type arrayLen int

func (n *arrayLen) UnmarshalJSON(b []byte) error {
	*n = 0
	if len(b) == 0 || b[0] != '[' {
		return nil
	}
	// b is one valid JSON value, the decoder has checked it: count the
	// commas at depth 1 outside strings, plus one if there is an element.
	depth, commas, elem, inString := 0, 0, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				commas++
			}
		}
		if depth >= 1 && i > 0 {
			elem = true
		}
	}
	if elem {
		*n = arrayLen(commas + 1)
	}
	return nil
}

// checkMap refuses a file that is not a source map: a JSON object with a
// version and mappings, or sections (an index map), whose mappings are
// base64 VLQ.
func checkMap(body []byte) error {
	var m mapShape
	if err := json.Unmarshal(MapJSON(body), &m); err != nil {
		return fmt.Errorf("not a JSON source map: %v", err)
	}
	if m.Version != 3 || (m.Mappings == nil && m.Sections == nil) {
		return errors.New(`not a source map: want "version": 3 and "mappings" or "sections"`)
	}
	return m.checkMappings()
}

// CheckMappings reports the first fault of a source map's mappings (each
// section's, for an index map): a character that is not base64 VLQ or a
// separator, which go-sourcemap reads as 0, or a segment whose source or
// name index (the sum of the deltas so far) is outside the map's "sources"
// or "names", which go-sourcemap leaves to each lookup, so that a frame at
// one of the valid indexes would be rewritten from a map that is broken.
// Either way the map would send frames to wrong places without an error.
// A map that is not JSON is left to its parser to refuse.
func CheckMappings(body []byte) error {
	var m mapShape
	if json.Unmarshal(MapJSON(body), &m) != nil {
		return nil
	}
	return m.checkMappings()
}

// vlqDigit holds the value of each base64 VLQ digit, -1 for a separator
// and -2 for any other byte.
var vlqDigit = func() (d [256]int8) {
	for i := range d {
		d[i] = -2
	}
	for i, c := range vlqChars {
		d[c] = int8(i)
	}
	d[','], d[';'] = -1, -1
	return d
}()

// maxVLQShift bounds a VLQ value to 32 bits: a longer one is not a real
// index or offset, and would let an index wrap back into range.
const maxVLQShift = 30

func (m *mapShape) checkMappings() error {
	if m.Mappings != nil {
		if err := checkSegments(*m.Mappings, int64(m.Sources), int64(m.Names)); err != nil {
			return err
		}
	}
	if m.Sections != nil {
		for i, sec := range *m.Sections {
			if sec.Map == nil {
				continue
			}
			if err := sec.Map.checkMappings(); err != nil {
				return fmt.Errorf("section %d: %w", i, err)
			}
		}
	}
	return nil
}

// checkSegments reads mappings in one pass, without allocating: every byte
// must be a VLQ digit or a separator, and the source index (a segment's
// second field) and name index (its fifth), each the sum of its deltas
// since the start of the mappings, must lie within sources and names.
func checkSegments(mappings string, sources, names int64) error {
	var src, name, v int64
	var shift uint
	field, start := 0, 0
	for i := 0; i < len(mappings); i++ {
		d := vlqDigit[mappings[i]]
		switch {
		case d == -2:
			c, _ := utf8.DecodeRuneInString(mappings[i:])
			return fmt.Errorf(`malformed "mappings": %q at offset %d is not base64 VLQ (A-Z, a-z, 0-9, +, /) or a separator (',', ';')`, c, i)
		case d == -1:
			field, v, shift, start = 0, 0, 0, i+1
			continue
		case shift > maxVLQShift:
			return fmt.Errorf(`malformed "mappings": the value at offset %d is longer than 32 bits`, start)
		}
		v |= int64(d&31) << shift
		if d&32 != 0 {
			shift += 5
			continue
		}
		delta := v >> 1
		if v&1 != 0 {
			delta = -delta
		}
		v, shift = 0, 0
		field++
		switch field {
		case 2:
			if src += delta; src < 0 || src >= sources {
				return fmt.Errorf(`malformed "mappings": the segment at offset %d points at source %d, but "sources" has %d %s`,
					start, src, sources, plural(sources, "entry", "entries"))
			}
		case 5:
			if name += delta; name < 0 || name >= names {
				return fmt.Errorf(`malformed "mappings": the segment at offset %d points at name %d, but "names" has %d %s`,
					start, name, names, plural(names, "entry", "entries"))
			}
		}
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// WriteBundle writes a bundle the way sentry-cli does: the "SYSB" header
// and version, then the zip with manifest.json, each file under files/ at
// a path made from its URL.
func WriteBundle(w io.Writer, attrs map[string]string, files []BundleFile) error {
	var hdr [8]byte
	copy(hdr[:], bundleMagic)
	binary.LittleEndian.PutUint32(hdr[4:], bundleVersion)
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	zw.SetOffset(int64(len(hdr)))
	m := manifest{Files: map[string]manifestFile{}, Attributes: attrs}
	for _, f := range files {
		name := BundlePath(f.URL)
		headers := map[string]string{}
		if f.DebugID != "" {
			headers["debug-id"] = f.DebugID
		}
		if f.SourceMap != "" {
			headers["sourcemap"] = f.SourceMap
		}
		m.Files[name] = manifestFile{f.URL, f.Kind, headers}
		fw, err := zw.Create(name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	mw, err := zw.Create(manifestName)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(mw).Encode(m); err != nil {
		return err
	}
	return zw.Close()
}

// BundlePath is where sentry-cli puts the file of a URL in a bundle:
// files/<scheme or _>/<host or _>/<path>.
func BundlePath(url string) string {
	scheme, host, p := "_", "_", url
	if s, rest, ok := strings.Cut(url, "://"); ok {
		scheme = s
		host, p, _ = strings.Cut(rest, "/")
	} else if rest, ok := strings.CutPrefix(url, "~/"); ok {
		p = rest
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimLeft(path.Clean("/"+p), "/")
	return path.Join("files", scheme, cmp.Or(host, "_"), p)
}
