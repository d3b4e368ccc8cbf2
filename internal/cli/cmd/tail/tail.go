// Package tail implements `flytrap tail`: new events as one line each,
// live, across a server restart or a broken connection without gaps or
// repeats.
package tail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/livemsg"
)

// Options are the inputs of `flytrap tail`.
type Options struct {
	F        *cmdutil.Factory
	Host     string
	Projects []string
	Level    string
	Env      string
	JSON     bool
	// JQ is --jq: a jq expression run on each event's JSON object.
	JQ string
	// Since is --since: a duration (10m, 14d) or an RFC 3339 time, read
	// as `issues list --since` and the API read it.
	Since string
	// Sleep waits between reconnects; tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewCmd returns the tail command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f, Sleep: client.Sleep}
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print new events as they arrive, one line each",
		Long: `Print every new event of your projects (or of --project) as one line: time,
level, project, title, culprit, the issue's event count and a link. It follows
the live stream (GET /api/v1/stream); when the connection breaks (a server
restart, a network blip, or the server cutting off a reader that fell behind)
it reconnects with backoff and fetches what arrived meanwhile from
GET /api/v1/events, so no event is missed or printed twice. --since starts
with the events of that long ago (10m, 14d) or since that time
(2026-12-06T18:00:00Z), as issues list --since reads it.`,
		Example: `  flytrap tail
  flytrap tail --project web --level error --env production
  flytrap tail --since 10m --json | jq .title
  flytrap tail --jq 'select(.level == "fatal") | .url'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return Run(cmd.Context(), opts) },
	}
	fl := cmd.Flags()
	cmdutil.AddHostFlag(cmd, &opts.Host)
	fl.StringArrayVarP(&opts.Projects, "project", "p", nil, "only this project (name or ID; repeatable)")
	fl.StringVar(&opts.Level, "level", "", "only events of this level (error, warning, ...)")
	fl.StringVar(&opts.Env, "env", "", "only events of this environment")
	fl.BoolVar(&opts.JSON, "json", false, "print one JSON object per event")
	fl.StringVarP(&opts.JQ, "jq", "q", "", "filter each event's JSON object with a jq expression (implies --json)")
	fl.StringVar(&opts.Since, "since", "", "start with the events of this long ago (10m, 14d) or since this time (2026-12-06T18:00:00Z)")
	_ = cmd.RegisterFlagCompletionFunc("project", f.CompleteProjects(&opts.Host))
	_ = cmd.RegisterFlagCompletionFunc("level", cmdutil.CompleteLevel)
	return cmd
}

// Line is one event as tail prints it (and its --json object): Title,
// Level, Culprit and Environment are the event's own, IssueTitle and
// Count its issue's.
type Line struct {
	Time        time.Time `json:"time"`
	Level       string    `json:"level"`
	ProjectID   int64     `json:"project_id"`
	Project     string    `json:"project"`
	IssueID     int64     `json:"issue_id"`
	EventID     string    `json:"event_id"`
	Title       string    `json:"title"`
	IssueTitle  string    `json:"issue_title,omitempty"`
	Culprit     string    `json:"culprit"`
	Environment string    `json:"environment,omitempty"`
	Count       int64     `json:"count"`
	URL         string    `json:"url"`
}

// Backoff bounds of reconnects.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
	// healthy is how long a connection must have lasted for the next
	// reconnect to start from minBackoff again.
	healthy = 30 * time.Second
	// margin is how far before the last event seen a backfill starts:
	// events are ordered by when they were received, but stored a moment
	// later, so one received just before the last one seen may have been
	// stored after the stream broke.
	margin = 2 * time.Minute
	// remembered is how many events are remembered to print none twice.
	remembered = 20000
)

// tailer is the state of one `flytrap tail`.
type tailer struct {
	opts   *Options
	c      *client.Client
	ids    []int64
	names  map[int64]string
	level  string // --level, lower case
	seen   *lru.Cache[string, struct{}]
	lastAt time.Time // receive time of the newest event printed
	from   time.Time // where the next backfill starts, at the latest
	// floor is the earliest receive time printed (the start, or --since
	// before it): an event received earlier but stored after the stream
	// was subscribed is not news, and the backfill would not show it.
	floor    time.Time
	out      io.Writer
	jq       *cmdutil.JQ // --jq, nil without
	color    bool
	linkBase string
}

// Run tails until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	// The level is checked and lowered as `issues list` does: the
	// backfill's ?level= is compared exactly, and a level no event has
	// would print nothing forever.
	level, err := cmdutil.Level(opts.Level)
	if err != nil {
		return err
	}
	var jq *cmdutil.JQ
	if opts.JQ != "" {
		if jq, err = cmdutil.CompileJQ(opts.JQ); err != nil {
			return err
		}
	}
	from := f.Clock()
	if opts.Since != "" {
		if from, err = issuefilter.ParseSince(opts.Since, from); err != nil {
			return cmdutil.UsageError("--"+err.Error(), "")
		}
	}
	c, err := f.APIClient(opts.Host)
	if err != nil {
		return err
	}
	ps, err := c.Projects(ctx)
	if err != nil {
		return err
	}
	t := &tailer{opts: opts, c: c, names: map[int64]string{}, level: level, out: f.IO.Out, jq: jq, color: f.Color() && !opts.JSON, linkBase: c.BaseURL()}
	for _, p := range ps {
		t.names[p.ID] = p.Name
	}
	for _, arg := range opts.Projects {
		p, err := cmdutil.FindProject(ctx, c, arg)
		if err != nil {
			return err
		}
		// A project named twice, or by name and by ID, is followed once.
		if !slices.Contains(t.ids, p.ID) {
			t.ids = append(t.ids, p.ID)
		}
	}
	t.seen, _ = lru.New[string, struct{}](remembered)
	t.from = from
	t.floor = t.from

	backoff := minBackoff
	first := true
	for {
		s, err := c.Stream(ctx, t.ids)
		if err == nil {
			// The stream is subscribed: whatever is stored from now on
			// comes through it, so the backfill only has to reach now.
			err = t.backfill(ctx)
			if err == nil {
				if first {
					fmt.Fprintf(f.IO.ErrOut, "flytrap tail: following %s (Ctrl-C to stop)\n", t.following())
				} else {
					fmt.Fprintln(f.IO.ErrOut, "flytrap tail: reconnected")
				}
				first = false
				started := time.Now()
				err = t.follow(ctx, s)
				if time.Since(started) > healthy {
					backoff = minBackoff
				}
			}
			s.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			return err
		}
		// Jitter spreads the reconnects of many tails after a restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		var refused *client.Error
		if errors.As(err, &refused) {
			// Too many streams open: come back when the server said.
			wait = max(wait, refused.RetryAfter)
		}
		fmt.Fprintf(f.IO.ErrOut, "flytrap tail: %s; reconnecting in %s\n", describe(err), wait.Round(time.Millisecond))
		if err := opts.Sleep(ctx, wait); err != nil {
			return err
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// following names what the tail follows, for its first line.
func (t *tailer) following() string {
	if len(t.ids) == 0 {
		return "all your projects"
	}
	names := make([]string, len(t.ids))
	for i, id := range t.ids {
		names[i] = t.names[id]
	}
	return cmdutil.Clean(strings.Join(names, ", "))
}

// fatal reports whether reconnecting cannot help: the token or the
// projects are refused.
func fatal(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && (e.Status == 401 || e.Status == 403 || e.Status == 404 || e.Status == 400)
}

// describe says why the stream ended, for the reconnect notice.
func describe(err error) string {
	var ue *client.UnreachableError
	var refused *client.Error
	switch {
	case errors.As(err, &refused):
		return "the server refused the stream: " + cmdutil.Clean(refused.Error())
	case client.IsCloseStatus(err, client.StatusFellBehind):
		return "fell behind the live stream"
	case client.IsCloseStatus(err, 1001):
		return "the server is restarting"
	case errors.As(err, &ue):
		return "cannot reach " + ue.URL
	}
	return "connection lost (" + cmdutil.Clean(err.Error()) + ")"
}

// backfill prints the events stored since t.from that were not printed.
func (t *tailer) backfill(ctx context.Context) error {
	q := client.FeedQuery{Since: t.from, ProjectIDs: t.ids, Level: t.level, Env: t.opts.Env, Limit: 100}
	evs, err := client.All(ctx, func(ctx context.Context, cursor string) (apitypes.List[apitypes.FeedEvent], error) {
		return t.c.Feed(ctx, q, cursor)
	}, 0)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if err := t.print(Line{
			Time: e.Received, Level: e.Level, ProjectID: e.ProjectID, IssueID: e.IssueID, EventID: e.EventID,
			Title: e.Title, IssueTitle: e.IssueTitle, Culprit: e.Culprit, Environment: e.Environment, Count: e.Count,
		}); err != nil {
			return err
		}
	}
	return nil
}

// follow prints the stream's messages until it ends.
func (t *tailer) follow(ctx context.Context, s *client.Stream) error {
	for {
		m, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if !t.wanted(m) {
			continue
		}
		if err := t.print(Line{
			Time: m.At, Level: m.Level, ProjectID: m.ProjectID, IssueID: m.IssueID, EventID: m.EventID,
			Title: m.Title, IssueTitle: m.IssueTitle, Culprit: m.Culprit, Environment: m.Environment, Count: m.Count,
		}); err != nil {
			return err
		}
	}
}

func (t *tailer) wanted(m livemsg.Message) bool {
	return !m.At.Before(t.floor) &&
		(t.level == "" || strings.EqualFold(m.Level, t.level)) &&
		(t.opts.Env == "" || m.Environment == t.opts.Env)
}

// print writes l unless it was printed before, and moves the next
// backfill's start after it.
func (t *tailer) print(l Line) error {
	key := strconv.FormatInt(l.ProjectID, 10) + ":" + l.EventID
	if l.EventID != "" {
		if ok, _ := t.seen.ContainsOrAdd(key, struct{}{}); ok {
			return nil
		}
	}
	if l.Time.After(t.lastAt) {
		t.lastAt = l.Time
		if from := l.Time.Add(-margin); from.After(t.from) {
			t.from = from
		}
	}
	l.Project = t.names[l.ProjectID]
	if l.Project == "" {
		l.Project = strconv.FormatInt(l.ProjectID, 10)
	}
	l.URL = fmt.Sprintf("%s/issues/%d", t.linkBase, l.IssueID)
	if t.jq != nil {
		return t.jq.Print(t.out, l)
	}
	if t.opts.JSON {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(t.out, "%s\n", cmdutil.EscapeJSON(b))
		return err
	}
	_, err := fmt.Fprintln(t.out, t.format(l))
	return err
}

// levelColors are the ANSI colors of levels on a terminal.
var levelColors = map[string]string{
	"fatal": "\x1b[35m", "error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[34m", "debug": "\x1b[90m",
}

// format is the one-line summary of l.
func (t *tailer) format(l Line) string {
	level := fmt.Sprintf("%-7s", strings.ToUpper(cmdutil.Clean(l.Level)))
	if c, ok := levelColors[strings.ToLower(l.Level)]; ok && t.color {
		level = c + level + "\x1b[0m"
	}
	culprit := ""
	if l.Culprit != "" {
		culprit = "  " + cmdutil.Clean(l.Culprit)
	}
	return fmt.Sprintf("%s  %s  %s  %s%s  ×%d  %s",
		l.Time.Local().Format("15:04:05"), level, cmdutil.Clean(l.Project), cmdutil.Clean(l.Title), culprit, l.Count, l.URL)
}
