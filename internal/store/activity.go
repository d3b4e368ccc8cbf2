package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of an issue's activity.
const (
	// ActivityComment is a comment a user wrote: Text.
	ActivityComment = "comment"
	// ActivityResolved is the issue resolved, in Release when not "", or
	// in the next release after AfterRelease when that is not "".
	ActivityResolved = "resolved"
	// ActivityUnresolved is the issue reopened by a user.
	ActivityUnresolved = "unresolved"
	// ActivityIgnored is the issue ignored.
	ActivityIgnored = "ignored"
	// ActivityRegression is a resolved issue reopened by an event, of
	// Release when not "".
	ActivityRegression = "regression"
	// ActivityAssigned is the issue assigned to Assignee.
	ActivityAssigned = "assigned"
	// ActivityUnassigned is the issue assigned to nobody.
	ActivityUnassigned = "unassigned"
	// ActivityMerge is the issues Merged merged into this one.
	ActivityMerge = "merge"
	// ActivityFirstSeen is the issue's first event, at its first seen;
	// not stored, it ends the last page of ListActivity.
	ActivityFirstSeen = "first_seen"
)

// MaxCommentLength is the most characters a comment may hold.
const MaxCommentLength = 10000

// MaxCommentsPerIssue is the most comments AddComment lets an issue hold:
// each is up to MaxCommentLength characters, written by any member, and
// every page of the issue's activity reads them, so a script or a loop
// must not grow one without bound. A merge may leave an issue with more,
// which takes no new comment until some are deleted.
const MaxCommentsPerIssue = 1000

// ErrNotAuthor is the ErrForbidden of editing another user's comment, and
// ErrNotYours of deleting one without being an admin of the project.
var (
	ErrNotAuthor = fmt.Errorf("%w: only a comment's author may edit it", ErrForbidden)
	ErrNotYours  = fmt.Errorf("%w: only a comment's author or an admin of its project may delete it", ErrForbidden)
)

// ActivityUser is who did something to an issue, or to whom it was
// assigned. Email is "" for a user who was deleted since.
type ActivityUser struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

// Activity is an entry of an issue's timeline.
type Activity struct {
	ID      int64  `json:"id"`
	IssueID int64  `json:"issue_id"`
	Kind    string `json:"kind"`
	// Actor is who did it; nil for Flytrap itself.
	Actor   *ActivityUser `json:"actor"`
	Text    string        `json:"text,omitempty"`
	Release string        `json:"release,omitempty"`
	// AfterRelease is the release an issue resolved in the next release
	// was resolved after.
	AfterRelease string        `json:"after_release,omitempty"`
	Assignee     *ActivityUser `json:"assignee,omitempty"`
	Merged       []int64       `json:"merged,omitempty"`
	Created      time.Time     `json:"created_at"`
	// Edited is when a comment was last edited, nil if never.
	Edited *time.Time `json:"edited_at,omitempty"`
}

// activityData is the data column: the details of an entry's kind.
type activityData struct {
	Text         string  `json:"text,omitempty"`
	Release      string  `json:"release,omitempty"`
	AfterRelease string  `json:"after_release,omitempty"`
	Assignee     int64   `json:"assignee,omitempty"`
	Merged       []int64 `json:"merged,omitempty"`
}

// activityOrder names the cursors of ListActivity.
const activityOrder = "activity"

// addActivity records an entry of an issue's activity in tx, by user
// actor (0 for Flytrap itself), now.
func addActivity(ctx context.Context, tx *sql.Tx, issueID int64, kind string, actor int64, data activityData) (int64, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO issue_activity (issue_id, kind, user_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, issueID, kind, assigneeArg(actor), string(b), millis(nowUTC())).Scan(&id)
	return id, err
}

// addActivities records the same entry for each of issues, in one
// statement per rowsPerStatement issues.
func (d *DB) addActivities(ctx context.Context, tx *sql.Tx, issues []int64, kind string, actor int64, data activityData) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := millis(nowUTC())
	return d.eachChunk(len(issues), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_activity (issue_id, kind, user_id, data, created_at) VALUES `)
		for j, id := range issues[from:to] {
			if j > 0 {
				q.add(`, `)
			}
			q.add(`(`, q.arg(id), `, `, q.arg(kind), `, `, q.arg(assigneeArg(actor)), `, `, q.arg(string(b)), `, `, q.arg(now), `)`)
		}
		_, err := tx.ExecContext(ctx, q.sql(), q.args...)
		return err
	})
}

// statusActivity is the kind of entry that records a change to status.
func statusActivity(status string) string {
	switch status {
	case StatusResolved:
		return ActivityResolved
	case StatusIgnored:
		return ActivityIgnored
	}
	return ActivityUnresolved
}

// assignActivity is the entry that records assigning an issue to user
// assignee, 0 for nobody.
func assignActivity(assignee int64) (string, activityData) {
	if assignee == 0 {
		return ActivityUnassigned, activityData{}
	}
	return ActivityAssigned, activityData{Assignee: assignee}
}

// ListActivity returns a page of the activity of an issue v may see,
// newest first, and the cursor of the next page. The last page ends with
// the issue's first seen (ActivityFirstSeen), which is not stored: it
// follows everything else whatever its time, and a page that the stored
// entries fill leaves it to a page of its own.
func (d *DB) ListActivity(ctx context.Context, v Viewer, issueID int64, cursor string, limit int) ([]Activity, string, error) {
	is, err := d.GetIssue(ctx, v, issueID)
	if err != nil {
		return nil, "", fmt.Errorf("store: activity of issue %d: %w", issueID, err)
	}
	q := d.query()
	q.add(`SELECT a.id, a.kind, a.user_id, u.email, a.data, a.created_at, a.edited_at
		FROM issue_activity a LEFT JOIN users u ON u.id = a.user_id WHERE a.issue_id = `, q.arg(issueID))
	if cursor != "" {
		at, id, err := decodeCursor(cursor, activityOrder)
		if err != nil {
			return nil, "", err
		}
		q.add(` AND (a.created_at, a.id) < (`, q.arg(at), `, `, q.arg(id), `)`)
	}
	limit = pageSize(limit)
	q.add(` ORDER BY a.created_at DESC, a.id DESC LIMIT `, q.arg(limit+1))
	out, err := d.scanActivity(ctx, q, issueID)
	if err != nil {
		return nil, "", fmt.Errorf("store: activity of issue %d: %w", issueID, err)
	}
	switch {
	case len(out) > limit:
		out = out[:limit]
		fallthrough
	case len(out) == limit:
		last := out[limit-1]
		return out, encodeCursor(activityOrder, millis(last.Created), last.ID), nil
	}
	return append(out, Activity{IssueID: issueID, Kind: ActivityFirstSeen, Created: is.FirstSeen}), "", nil
}

// scanActivity runs q, a select of ListActivity's columns, and fills in
// the assignees' emails.
func (d *DB) scanActivity(ctx context.Context, q query, issueID int64) ([]Activity, error) {
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Activity{}
	var assignees []int64
	for rows.Next() {
		var (
			a       Activity
			user    sql.NullInt64
			email   sql.NullString
			data    string
			created int64
			edited  sql.NullInt64
		)
		if err := rows.Scan(&a.ID, &a.Kind, &user, &email, &data, &created, &edited); err != nil {
			return nil, err
		}
		var ad activityData
		if err := json.Unmarshal([]byte(data), &ad); err != nil {
			return nil, fmt.Errorf("activity %d: %w", a.ID, err)
		}
		a.IssueID, a.Created = issueID, fromMillis(created)
		if user.Valid {
			a.Actor = &ActivityUser{ID: user.Int64, Email: email.String}
		}
		if edited.Valid {
			t := fromMillis(edited.Int64)
			a.Edited = &t
		}
		a.Text, a.Release, a.AfterRelease, a.Merged = ad.Text, ad.Release, ad.AfterRelease, ad.Merged
		if ad.Assignee != 0 {
			a.Assignee = &ActivityUser{ID: ad.Assignee}
			if !slices.Contains(assignees, ad.Assignee) {
				assignees = append(assignees, ad.Assignee)
			}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(assignees) == 0 {
		return out, nil
	}
	emails, err := d.userEmails(ctx, assignees)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if a := out[i].Assignee; a != nil {
			a.Email = emails[a.ID]
		}
	}
	return out, nil
}

// userEmails returns the emails of those of the users ids that exist.
func (d *DB) userEmails(ctx context.Context, ids []int64) (map[int64]string, error) {
	q := d.query()
	q.add(`SELECT id, email FROM users WHERE id IN (`, q.list(ids), `)`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	emails := make(map[int64]string, len(ids))
	for rows.Next() {
		var (
			id    int64
			email string
		)
		if err := rows.Scan(&id, &email); err != nil {
			return nil, err
		}
		emails[id] = email
	}
	return emails, rows.Err()
}

// commentText checks a comment's text: plain text of 1 to
// MaxCommentLength characters, not only spaces, without NUL bytes, valid
// UTF-8. It is kept as written, line breaks and all.
func commentText(text string) error {
	switch {
	case !storable(text):
		return fmt.Errorf("%w: a comment must be UTF-8 text without NUL bytes", ErrInvalid)
	case strings.TrimSpace(text) == "":
		return fmt.Errorf("%w: a comment needs some text", ErrInvalid)
	case utf8.RuneCountInString(text) > MaxCommentLength:
		return fmt.Errorf("%w: a comment may hold at most %d characters, this one has %d",
			ErrInvalid, MaxCommentLength, utf8.RuneCountInString(text))
	}
	return nil
}

// AddComment adds v's comment to an issue v may see and returns it.
func (d *DB) AddComment(ctx context.Context, v Viewer, issueID int64, text string) (Activity, error) {
	if err := commentText(text); err != nil {
		return Activity{}, fmt.Errorf("store: comment on issue %d: %w", issueID, err)
	}
	var id int64
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		// Locked against a merge or delete, which would otherwise leave
		// the comment on an issue that is gone, and against another
		// comment, which would otherwise count the same comments and
		// take the issue past MaxCommentsPerIssue with this one.
		var (
			q   query
			one int
		)
		q.add(`SELECT 1 FROM issues i WHERE i.id = `, q.arg(issueID), ` AND `, q.visible(v, "i.project_id"), d.forNoKeyUpdate())
		if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&one); err != nil {
			return notFound(err)
		}
		// Counted up to the cap only: an issue merged past it need not
		// be read whole.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM issue_activity
			WHERE issue_id = $1 AND kind = '`+ActivityComment+`' LIMIT $2) c`, issueID, MaxCommentsPerIssue).Scan(&n); err != nil {
			return err
		}
		if n >= MaxCommentsPerIssue {
			return fmt.Errorf("%w: an issue holds at most %d comments and this one has reached it: delete old comments (their authors and the project's admins may) or edit one instead",
				ErrInvalid, MaxCommentsPerIssue)
		}
		var err error
		id, err = addActivity(ctx, tx, issueID, ActivityComment, v.UserID, activityData{Text: text})
		return err
	})
	if err != nil {
		return Activity{}, fmt.Errorf("store: comment on issue %d: %w", issueID, err)
	}
	return d.comment(ctx, issueID, id)
}

// comment reads comment id of an issue.
func (d *DB) comment(ctx context.Context, issueID, id int64) (Activity, error) {
	q := d.query()
	q.add(`SELECT a.id, a.kind, a.user_id, u.email, a.data, a.created_at, a.edited_at
		FROM issue_activity a LEFT JOIN users u ON u.id = a.user_id WHERE a.issue_id = `, q.arg(issueID),
		` AND a.id = `, q.arg(id), ` AND a.kind = '`+ActivityComment+`'`)
	as, err := d.scanActivity(ctx, q, issueID)
	if err != nil {
		return Activity{}, fmt.Errorf("store: comment %d: %w", id, err)
	}
	if len(as) == 0 {
		return Activity{}, fmt.Errorf("store: comment %d: %w", id, ErrNotFound)
	}
	return as[0], nil
}

// lockComment checks that comment id of an issue v may see exists, locks
// it and returns its author (0 for none) and the issue's project.
func (d *DB) lockComment(ctx context.Context, tx *sql.Tx, v Viewer, issueID, id int64) (author, project int64, err error) {
	var (
		q    query
		user sql.NullInt64
	)
	q.add(`SELECT a.user_id, i.project_id FROM issue_activity a JOIN issues i ON i.id = a.issue_id
		WHERE a.id = `, q.arg(id), ` AND a.issue_id = `, q.arg(issueID), ` AND a.kind = '`+ActivityComment+`' AND `,
		q.visible(v, "i.project_id"), d.forUpdateOf("a"))
	if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&user, &project); err != nil {
		return 0, 0, notFound(err)
	}
	return user.Int64, project, nil
}

// EditComment replaces the text of comment id of an issue v may see;
// only its author may (else ErrForbidden).
func (d *DB) EditComment(ctx context.Context, v Viewer, issueID, id int64, text string) (Activity, error) {
	if err := commentText(text); err != nil {
		return Activity{}, fmt.Errorf("store: edit comment %d: %w", id, err)
	}
	b, err := json.Marshal(activityData{Text: text})
	if err != nil {
		return Activity{}, err
	}
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		author, _, err := d.lockComment(ctx, tx, v, issueID, id)
		if err != nil {
			return err
		}
		if author == 0 || author != v.UserID {
			return ErrNotAuthor
		}
		_, err = tx.ExecContext(ctx, `UPDATE issue_activity SET data = $1, edited_at = $2 WHERE id = $3`,
			string(b), millis(nowUTC()), id)
		return err
	})
	if err != nil {
		return Activity{}, fmt.Errorf("store: edit comment %d: %w", id, err)
	}
	return d.comment(ctx, issueID, id)
}

// DeleteComment deletes comment id of an issue v may see; its author, an
// admin user or an admin of the issue's project may (else ErrForbidden).
func (d *DB) DeleteComment(ctx context.Context, v Viewer, issueID, id int64) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		author, project, err := d.lockComment(ctx, tx, v, issueID, id)
		if err != nil {
			return err
		}
		if author == 0 || author != v.UserID {
			switch err := d.projectAdmin(ctx, tx, v, project, false); {
			case errors.Is(err, ErrForbidden):
				return ErrNotYours
			case err != nil:
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM issue_activity WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete comment %d: %w", id, err)
	}
	return nil
}

// forUpdateOf locks, on PostgreSQL, the rows of table alias t that a
// join reads, and not the other tables'.
func (d *DB) forUpdateOf(t string) string {
	if d.dialect == DialectPostgres {
		return " FOR UPDATE OF " + t
	}
	return ""
}
