// Package upload implements `flytrap sourcemaps upload`: minified
// JavaScript and its source maps, as one artifact bundle, to a Flytrap
// server over the protocol sentry-cli uses (chunk upload, then assemble).
package upload

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/inject"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	apiclient "github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// Options are the inputs of `flytrap sourcemaps upload`.
type Options struct {
	IO *cmdutil.IOStreams
	// HTTP sends the requests; nil means a client with a 5-minute timeout.
	HTTP *http.Client
	// Progress shows a progress bar on IO.ErrOut; NewCmd sets it when
	// ErrOut is a terminal.
	Progress bool

	// Dir is a directory of build output, or one JavaScript file.
	Dir string
	// URL is the server (--host, or its old name --url).
	URL       string
	Token     string
	Project   string
	Release   string
	Dist      string
	URLPrefix string
	DryRun    bool
}

// NewCmd returns the upload command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Progress: cmdutil.IsTerminal(f.IO.ErrOut)}
	cmd := &cobra.Command{
		Use:               "upload DIR|FILE",
		ValidArgsFunction: cmdutil.CompleteFiles,
		Annotations:       map[string]string{cmdutil.PathArgs: "yes"},
		Short:             "Upload the minified JavaScript under DIR and its source maps",
		Long: `Upload each .js, .mjs and .cjs file under DIR with its source map (the file
its //# sourceMappingURL= names, <file>.map, or an inline data: map) to a
Flytrap server, for the project --project (default: the only project the
token sees, as on a fresh flytrap dev). Files are found by the debug ID
flytrap sourcemaps inject (or sentry-cli, or a Sentry bundler plugin) wrote,
else by --release, --dist and their URL: --url-prefix joined with their path
under DIR ("~/" matches any scheme and host), else by file name. Given a
FILE rather than a directory, it and its map are named as if under their
own directory (~/app.min.js and ~/app.min.js.map), as sentry-cli does.

The report lists what was uploaded, files without a map, and maps whose
"file" names another file or whose sources and sourcesContent disagree.
--dry-run checks everything, limits and the project included, without
uploading; without a server and token it checks the files only, and says so.`,
		Example: `  flytrap sourcemaps inject dist
  flytrap sourcemaps upload dist --project web --release 1.4.2 --url-prefix '~/static/js'
  FLYTRAP_URL=https://flytrap.example.com FLYTRAP_TOKEN=... flytrap sourcemaps upload dist --project web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			// The environment is read here rather than as the flags'
			// defaults, which --help would print, token and all.
			opts.URL = cmp.Or(opts.URL, f.Getenv("FLYTRAP_URL"))
			opts.Token = cmp.Or(opts.Token, f.Getenv("FLYTRAP_TOKEN"))
			if opts.URL == "" || opts.Token == "" {
				// The server and token every other command uses: --host,
				// else FLYTRAP_URL, else the last login; FLYTRAP_TOKEN,
				// else the token stored for that server. Without one,
				// Run says what is missing, or a dry run that it could
				// not check the project.
				if _, cfg, err := f.Hosts(); err == nil {
					if t, err := cfg.Resolve(opts.URL, f.Getenv); err == nil {
						opts.URL = cmp.Or(opts.URL, t.URL)
						opts.Token = cmp.Or(opts.Token, t.Token)
					}
				}
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.URL, "host", "", "Flytrap server URL (default: FLYTRAP_URL, else the last one logged in to)")
	// --url is --host's old name, which docs/sourcemaps.md gave.
	fl.StringVar(&opts.URL, "url", "", "the same as --host")
	_ = fl.MarkHidden("url")
	cmd.MarkFlagsMutuallyExclusive("host", "url")
	fl.StringVar(&opts.Token, "token", "", "Flytrap API token (default: FLYTRAP_TOKEN, else the one flytrap login stored for the server)")
	fl.StringVarP(&opts.Project, "project", "p", f.Env("FLYTRAP_PROJECT", ""), "project name or ID [$FLYTRAP_PROJECT, else the only project the token sees]")
	for flag, variable := range map[string]string{"host": "FLYTRAP_URL", "token": "FLYTRAP_TOKEN", "project": "FLYTRAP_PROJECT"} {
		cmdutil.EnvDefault(fl, flag, variable)
	}
	// --url is --host by its old name: given, FLYTRAP_URL is not read.
	cmdutil.EnvUnless(fl, "host", "url")
	fl.StringVar(&opts.Release, "release", "", "release the files belong to (the SDK's release option)")
	fl.StringVar(&opts.Dist, "dist", "", "distribution within the release (the SDK's dist option)")
	fl.StringVar(&opts.URLPrefix, "url-prefix", "~/", "URL the files of DIR are served under; ~/ matches any scheme and host")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "check the files and report without uploading")
	return cmd
}

// Report is what an upload found and did.
type Report struct {
	// Uploaded are the files uploaded, each as "path as URL": the URL is
	// what frames are matched against, so a wrong --url-prefix shows.
	Uploaded  []string
	Skipped   []string
	NoMap     []string
	Mismatch  []string
	BundleLen int
	// Project is the project as the report names it: found on the
	// server, or, in a dry run without one, not checked.
	Project string
}

// Run collects, checks and uploads the files, and prints the report.
func Run(ctx context.Context, opts *Options) error {
	// The server refuses such a release only at assemble, after every
	// chunk went up.
	if opts.Release != "" {
		if p := event.ReleaseProblem(opts.Release); p != "" {
			return cmdutil.UsageError(fmt.Sprintf("--release %q cannot name a release: it %s", opts.Release, p),
				"give the release the SDK sends (its release option), such as web@1.4.2")
		}
	}
	// The files first: a wrong path is the mistake to report, whatever
	// the server would say.
	fi, err := os.Stat(opts.Dir)
	if err != nil {
		msg := "cannot read " + opts.Dir
		if errors.Is(err, fs.ErrNotExist) {
			msg, err = opts.Dir+" does not exist", nil
		}
		return &cmdutil.Error{Msg: msg, Err: err, Hint: buildOutputHint}
	}
	base := opts.Dir
	if !fi.IsDir() {
		base = filepath.Dir(opts.Dir)
	}
	var project string
	switch {
	case opts.DryRun && (opts.URL == "" || opts.Token == ""):
		// A dry run works offline, on the files alone.
		project = "not checked: no server URL and token (flytrap login, or --host and --token)"
		if opts.Project != "" {
			project = strconv.Quote(opts.Project) + ", " + project
		}
	case opts.URL == "":
		return cmdutil.UsageError("no server URL", "run `flytrap login URL`, pass --host or set FLYTRAP_URL, e.g. http://127.0.0.1:8080 for flytrap dev")
	case opts.Token == "":
		return cmdutil.UsageError("no API token", "run `flytrap login`, pass --token or set FLYTRAP_TOKEN (a token from the dashboard's API tokens page)")
	case opts.Project == "" || opts.DryRun:
		// An upload naming its project has the server check it; a dry
		// run sends nothing, so it looks the project up itself.
		p, err := findProject(ctx, opts)
		if err != nil {
			return err
		}
		opts.Project = strconv.FormatInt(p.ID, 10)
		project = fmt.Sprintf("%s (ID %d)", cmdutil.Clean(p.Name), p.ID)
	default:
		project = fmt.Sprintf("%q", opts.Project)
	}
	if p := opts.URLPrefix; p != "~" && !strings.HasPrefix(p, "~/") && !strings.Contains(p, "://") {
		fmt.Fprintf(opts.IO.ErrOut, "warning: --url-prefix %q starts with neither ~/ nor a scheme (https://): it will never match "+
			"the URL of a browser frame, so its files are found only by debug ID or file name; did you mean %q?\n",
			p, "~/"+strings.TrimLeft(p, "/"))
	}
	files, rep, err := collect(opts, base)
	if err != nil {
		return err
	}
	rep.Project = project
	if len(files) == 0 {
		printReport(opts, rep)
		return &cmdutil.Error{Msg: "nothing to upload under " + opts.Dir, Hint: buildOutputHint}
	}
	var buf bytes.Buffer
	attrs := map[string]string{"org": "flytrap", "project": opts.Project}
	if opts.Release != "" {
		attrs["release"] = opts.Release
	}
	if opts.Dist != "" {
		attrs["dist"] = opts.Dist
	}
	if err := artifact.WriteBundle(&buf, attrs, files); err != nil {
		return err
	}
	rep.BundleLen = buf.Len()
	// The server refuses what this refuses; say so before uploading.
	if _, err := artifact.ReadBundle(buf.Bytes(), artifact.DefaultLimits); err != nil {
		return &cmdutil.Error{Msg: "the files cannot be uploaded", Err: err}
	}
	if !opts.DryRun {
		h := opts.HTTP
		if h == nil {
			h = &http.Client{Timeout: 5 * time.Minute}
		}
		base, err := apiclient.ParseURL(opts.URL)
		if err != nil {
			return cmdutil.UsageError(err.Error(), "")
		}
		c := &client{opts: opts, http: apiclient.Confine(h, base)}
		if err := c.upload(ctx, buf.Bytes()); err != nil {
			return err
		}
	}
	printReport(opts, rep)
	return nil
}

// buildOutputHint is what to give upload instead of a path it cannot use.
const buildOutputHint = "give the directory of your build output (.js files and their .map files), e.g. dist"

// collect reads the files under Dir: each JavaScript file with its map,
// each named by its path under base (Dir, or a file's directory).
func collect(opts *Options, base string) ([]artifact.BundleFile, Report, error) {
	var (
		files   []artifact.BundleFile
		rep     Report
		maps    = map[string]bool{} // map paths referenced by a JS file
		allMaps []string
	)
	prefix := strings.TrimSuffix(opts.URLPrefix, "/")
	urlOf := func(p string) string {
		rel, _ := filepath.Rel(base, p)
		return prefix + "/" + filepath.ToSlash(rel)
	}
	err := filepath.WalkDir(inject.WalkRoot(opts.Dir), func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return nil
		case strings.HasSuffix(d.Name(), ".map"):
			allMaps = append(allMaps, p)
			return nil
		case !inject.IsJS(d.Name()):
			rep.Skipped = append(rep.Skipped, p)
			return nil
		}
		js, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: urlOf(p), DebugID: artifact.DebugIDOf(js), Data: js}
		ref := artifact.SourceMappingURL(js)
		mapPath := inject.MapPath(p, js)
		switch {
		case strings.HasPrefix(ref, "data:"):
			// The map travels inside the file.
		case mapPath == "":
			rep.NoMap = append(rep.NoMap, p)
		default:
			sm, err := os.ReadFile(mapPath)
			if err != nil {
				return err
			}
			maps[mapPath] = true
			if ref == "" {
				ref = path.Base(urlOf(mapPath))
			}
			f.SourceMap = ref
			if msg := mismatch(d.Name(), sm); msg != "" {
				rep.Mismatch = append(rep.Mismatch, mapPath+": "+msg)
			}
			debugID := artifact.MapDebugID(sm)
			if debugID == "" {
				debugID = f.DebugID
			}
			files = append(files, artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: urlOf(mapPath), DebugID: debugID, Data: sm})
			rep.Uploaded = append(rep.Uploaded, mapPath+" as "+urlOf(mapPath))
		}
		files = append(files, f)
		rep.Uploaded = append(rep.Uploaded, p+" as "+f.URL)
		return nil
	})
	if err != nil {
		return nil, rep, &cmdutil.Error{Msg: "cannot read " + opts.Dir, Err: err, Hint: buildOutputHint}
	}
	for _, m := range allMaps {
		if !maps[m] {
			rep.Skipped = append(rep.Skipped, m+" (no .js file refers to it)")
		}
	}
	slices.Sort(rep.Uploaded)
	return files, rep, nil
}

// mapSources is what mismatch reads of a map; an index map lists its
// sources in its sections' maps.
type mapSources struct {
	File           string    `json:"file"`
	Sources        []string  `json:"sources"`
	SourcesContent []*string `json:"sourcesContent"`
	Sections       []struct {
		Map *mapSources `json:"map"`
	} `json:"sections"`
}

// mismatch says what is wrong with a map for the file named js: a "file"
// that names another file, or sources and sourcesContent of different
// lengths (in any section, for an index map). A map without sources is
// valid, not a mismatch: esbuild writes one ("sources": [], empty
// mappings) for a chunk of its own helpers only, and a map whose mappings
// point at sources it does not list is refused by the bundle check (see
// artifact.CheckMappings).
func mismatch(js string, sm []byte) string {
	var m mapSources
	if err := json.Unmarshal(artifact.MapJSON(sm), &m); err != nil {
		return "not JSON: " + err.Error()
	}
	if m.File != "" && path.Base(m.File) != js {
		return fmt.Sprintf("its \"file\" is %q, not %s", m.File, js)
	}
	if msg := m.contentMismatch(); msg != "" {
		return msg
	}
	for i, sec := range m.Sections {
		if sec.Map == nil {
			continue
		}
		if msg := sec.Map.contentMismatch(); msg != "" {
			return fmt.Sprintf("section %d: %s", i, msg)
		}
	}
	return ""
}

func (m *mapSources) contentMismatch() string {
	if m.SourcesContent != nil && len(m.SourcesContent) != len(m.Sources) {
		return fmt.Sprintf("%d sources but %d sourcesContent entries", len(m.Sources), len(m.SourcesContent))
	}
	return ""
}

func printReport(opts *Options, rep Report) {
	w := opts.IO.Out
	verb := "Uploaded"
	if opts.DryRun {
		verb = "Would upload (dry run)"
	}
	section := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(items))
		for _, i := range items {
			fmt.Fprintf(w, "  %s\n", i)
		}
	}
	section(verb, rep.Uploaded)
	section("Skipped", rep.Skipped)
	section("Files without a source map", rep.NoMap)
	if len(rep.NoMap) > 0 {
		// Bundlers write no maps by default (Vite, webpack in production
		// mode, esbuild), and the upload itself succeeds, so say what
		// the user will see and what to change.
		fmt.Fprintln(w, "  their errors' frames stay minified: have the bundler write source maps (esbuild --sourcemap, "+
			"Vite build.sourcemap: true, webpack devtool: \"source-map\"), then build, inject and upload again")
	}
	section("Maps that do not match their file", rep.Mismatch)
	fmt.Fprintf(w, "%d files, bundle %d bytes, release %q, dist %q, project %s\n",
		len(rep.Uploaded), rep.BundleLen, opts.Release, opts.Dist, rep.Project)
}

// client speaks sentry-cli's upload protocol to a Flytrap server.
type client struct {
	opts *Options
	http *http.Client
}

// chunkOptions is what GET chunk-upload/ answers. Its "url", where
// sentry-cli posts the chunks, is left out: the server builds it from the
// Host and path it was asked at, which behind a proxy that serves Flytrap
// under a path (https://example.com/flytrap) lack the prefix, or the
// https of a proxy that ends TLS. Flytrap takes chunks where it gives
// the options, so they go to the URL this upload reached.
type chunkOptions struct {
	ChunkSize        int `json:"chunkSize"`
	ChunksPerRequest int `json:"chunksPerRequest"`
	MaxRequestSize   int `json:"maxRequestSize"`
	MaxWait          int `json:"maxWait"`
}

type assembleResponse struct {
	State         string   `json:"state"`
	MissingChunks []string `json:"missingChunks"`
	Detail        string   `json:"detail"`
}

func (c *client) endpoint(p string) string {
	return strings.TrimSuffix(c.opts.URL, "/") + "/api/0/organizations/flytrap/" + p
}

// do sends a request with the token and decodes a 2xx JSON answer into
// out; other answers become errors carrying the server's detail. It
// returns the answer's status, 0 without one.
func (c *client) do(ctx context.Context, method, u, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, &cmdutil.Error{Msg: "invalid server URL " + c.opts.URL, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var re *apiclient.RedirectError
		if errors.As(err, &re) {
			return 0, re
		}
		return 0, &cmdutil.Error{Msg: "cannot reach " + c.opts.URL, Err: err, Hint: "check --host / FLYTRAP_URL and that the server runs"}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Detail string `json:"detail"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Detail != "" {
			msg = e.Detail
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = "check --token / FLYTRAP_TOKEN: an API token from the dashboard's Settings page"
		}
		return resp.StatusCode, &cmdutil.Error{Msg: fmt.Sprintf("%s %s: %s: %s", method, req.URL.Path, resp.Status, msg), Hint: hint}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: unexpected answer: %w", method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, nil
}

// findProject is the project to upload to, found on the server: the one
// --project names (cmdutil.FindProject, as the server resolves it), else
// the one project the token sees (cmdutil.OnlyProject), which it names.
func findProject(ctx context.Context, opts *Options) (apitypes.Project, error) {
	var copts []apiclient.Option
	if opts.HTTP != nil {
		copts = append(copts, apiclient.WithHTTPClient(opts.HTTP))
	}
	c, err := apiclient.New(opts.URL, opts.Token, copts...)
	if err != nil {
		return apitypes.Project{}, err
	}
	if opts.Project != "" {
		return cmdutil.FindProject(ctx, c, opts.Project)
	}
	p, err := cmdutil.OnlyProject(ctx, c)
	if err != nil {
		return apitypes.Project{}, err
	}
	verb := "Uploading"
	if opts.DryRun {
		verb = "Would upload"
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s to project %s (ID %d), the only one this token sees.\n", verb, cmdutil.Clean(p.Name), p.ID)
	return p, nil
}

// upload sends the bundle: the server's options, an assemble request
// that names the missing chunks, those chunks, then assemble requests
// until the bundle is stored.
func (c *client) upload(ctx context.Context, bundle []byte) error {
	var o chunkOptions
	if _, err := c.do(ctx, "GET", c.endpoint("chunk-upload/"), "", nil, &o); err != nil {
		return err
	}
	if o.ChunkSize <= 0 || o.ChunksPerRequest <= 0 {
		return fmt.Errorf("the server's chunk-upload options are incomplete: %+v", o)
	}
	chunks := map[string][]byte{}
	var sums []string
	for data := bundle; len(data) > 0; {
		part := data[:min(len(data), o.ChunkSize)]
		data = data[len(part):]
		s := sha1.Sum(part)
		sums = append(sums, hex.EncodeToString(s[:]))
		chunks[sums[len(sums)-1]] = part
	}
	whole := sha1.Sum(bundle)
	req, _ := json.Marshal(map[string]any{"checksum": hex.EncodeToString(whole[:]), "chunks": sums,
		"projects": []string{c.opts.Project}, "version": c.opts.Release, "dist": c.opts.Dist})
	assemble := func() (assembleResponse, error) {
		var r assembleResponse
		status, err := c.do(ctx, "POST", c.endpoint("artifactbundle/assemble/"), "application/json", bytes.NewReader(req), &r)
		notFound := fmt.Sprintf("project %q not found", c.opts.Project)
		if status == http.StatusNotFound || status == http.StatusBadRequest && strings.Contains(err.Error(), notFound) {
			// The server resolves --project as FindProject does; it answers
			// a project the token does not see with a 400 naming it, which
			// sentry-cli shows (before, with a 404).
			return r, &cmdutil.Error{Msg: fmt.Sprintf("no project %q among the ones you can see", c.opts.Project),
				Hint: "list them with `flytrap projects list`", Code: cmdutil.ExitNotFound}
		}
		return r, err
	}
	res, err := assemble()
	if err != nil {
		return err
	}
	if err := c.uploadChunks(ctx, o, res.MissingChunks, chunks); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(max(o.MaxWait, 10)) * time.Second)
	for {
		if res, err = assemble(); err != nil {
			return err
		}
		switch res.State {
		case "ok":
			return nil
		case "error":
			return &cmdutil.Error{Msg: "the server refused the upload: " + res.Detail}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not finish processing the upload (state %q)", res.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// uploadChunks posts the missing chunks, gzipped, in batches the server
// accepts, drawing a progress bar on a terminal.
func (c *client) uploadChunks(ctx context.Context, o chunkOptions, missing []string, chunks map[string][]byte) error {
	total, sent := 0, 0
	for _, s := range missing {
		total += len(chunks[s])
	}
	for len(missing) > 0 {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		n := 0
		for n < len(missing) && n < o.ChunksPerRequest && (n == 0 || body.Len()+len(chunks[missing[n]]) <= o.MaxRequestSize) {
			data, ok := chunks[missing[n]]
			if !ok {
				return fmt.Errorf("the server asked for chunk %s, which is not part of this upload", missing[n])
			}
			w, err := mw.CreateFormFile("file_gzip", missing[n])
			if err != nil {
				return err
			}
			zw := gzip.NewWriter(w)
			zw.Write(data)
			if err := zw.Close(); err != nil {
				return err
			}
			sent += len(data)
			n++
		}
		if err := mw.Close(); err != nil {
			return err
		}
		if _, err := c.do(ctx, "POST", c.endpoint("chunk-upload/"), mw.FormDataContentType(), &body, nil); err != nil {
			return err
		}
		missing = missing[n:]
		c.progress(sent, total)
	}
	return nil
}

// progress draws a one-line bar on a terminal only.
func (c *client) progress(done, total int) {
	if !c.opts.Progress || total == 0 {
		return
	}
	const width = 30
	filled := width * done / total
	fmt.Fprintf(c.opts.IO.ErrOut, "\r[%s%s] %3d%% %d/%d bytes", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), 100*done/total, done, total)
	if done == total {
		fmt.Fprintln(c.opts.IO.ErrOut)
	}
}
