package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrNotAssignable is the ErrInvalid of assigning an issue to a user who
// is not a member of its project (nor, for an admin viewer, an admin
// user), or who does not exist: the refusal is the same, so that it does
// not tell a member who has an account.
var ErrNotAssignable = fmt.Errorf("%w: the assignee must be a member of the issue's project, or an admin user assigned by an admin", ErrInvalid)

// assignable returns ErrNotAssignable unless v may assign user userID
// issues of the project: a member of it, or for an admin v, also an admin
// user. A member may not assign an admin user who is no member: the
// answer shows the assignee's email, and trying user IDs one by one would
// list every admin's. On PostgreSQL it locks the rows it read, so that
// removing the membership or demoting the admin waits for the assignment
// and then unassigns.
func (d *DB) assignable(ctx context.Context, tx *sql.Tx, v Viewer, projectID, userID int64) error {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`+d.forUpdate(), userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotAssignable
	}
	if err != nil || role == RoleAdmin && v.Admin {
		return err
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2`+d.forUpdate(),
		projectID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotAssignable
	}
	return err
}

// assigneeArg is userID as the value of issues.assigned_user_id: NULL
// for 0, nobody.
func assigneeArg(userID int64) any {
	if userID == 0 {
		return nil
	}
	return userID
}

// BulkAssign assigns those of ids that are issues of the project, a
// project v may see (else ErrNotFound), to user userID, or to nobody when
// userID is 0; the assignee is as UpdateIssue's. IDs of other projects'
// issues are ignored. It returns how many issues changed; ones already
// assigned so do not count.
func (d *DB) BulkAssign(ctx context.Context, v Viewer, projectID int64, ids []int64, userID int64) (int64, error) {
	_, n, err := d.BulkUpdate(ctx, v, projectID, ids, BulkChange{Assign: true, AssigneeID: userID})
	return n, err
}

// bulkAssign assigns those of ids that are issues of the project to user
// userID, 0 for nobody, writing its statement to q, and returns the IDs
// of those that changed.
func bulkAssign(ctx context.Context, tx *sql.Tx, q query, v Viewer, projectID int64, ids []int64, userID int64) ([]int64, error) {
	q.add(`UPDATE issues SET assigned_user_id = `, q.arg(assigneeArg(userID)), ` WHERE project_id = `, q.arg(projectID),
		` AND `, q.visibleProject(v, projectID), ` AND `)
	if userID == 0 {
		q.add(`assigned_user_id IS NOT NULL`)
	} else {
		q.add(`(assigned_user_id IS NULL OR assigned_user_id <> `, q.arg(userID), `)`)
	}
	q.add(` AND id IN (`, q.list(ids), `) RETURNING id`)
	return changedIDs(ctx, tx, q)
}

// unassignFromProject unassigns the user's issues of the project, unless
// the user is an admin, who may be assigned any project's issues: for a
// membership that user actor (0 for none) is removing. Each issue's
// activity records it, by actor.
func (d *DB) unassignFromProject(ctx context.Context, tx *sql.Tx, actor, projectID, userID int64) error {
	var lock query
	lock.add(`assigned_user_id = `, lock.arg(userID), ` AND project_id = `, lock.arg(projectID))
	if err := d.lockIssueRows(ctx, tx, &lock); err != nil {
		return err
	}
	q := d.query()
	user := q.arg(userID)
	q.add(`UPDATE issues SET assigned_user_id = NULL WHERE assigned_user_id = `, user, ` AND project_id = `, q.arg(projectID),
		` AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = `, user, ` AND u.role = '`+RoleAdmin+`') RETURNING id`)
	return d.unassigned(ctx, tx, q, actor)
}

// unassignOutsideProjects unassigns the user's issues of the projects the
// user is not a member of: for an admin whom user actor is making a
// member. Each issue's activity records it, by actor.
func (d *DB) unassignOutsideProjects(ctx context.Context, tx *sql.Tx, actor, userID int64) error {
	if err := d.lockAssigned(ctx, tx, userID); err != nil {
		return err
	}
	q := d.query()
	user := q.arg(userID)
	q.add(`UPDATE issues SET assigned_user_id = NULL WHERE assigned_user_id = `, user, `
		AND NOT EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = issues.project_id AND m.user_id = `, user, `) RETURNING id`)
	return d.unassigned(ctx, tx, q, actor)
}

// lockAssigned locks the issues assigned to the user (lockIssueRows).
func (d *DB) lockAssigned(ctx context.Context, tx *sql.Tx, userID int64) error {
	var lock query
	lock.add(`assigned_user_id = `, lock.arg(userID))
	return d.lockIssueRows(ctx, tx, &lock)
}

// unassigned runs q, an UPDATE that unassigns issues and returns their
// IDs, and records it in their activity, by actor.
func (d *DB) unassigned(ctx context.Context, tx *sql.Tx, q query, actor int64) error {
	changed, err := changedIDs(ctx, tx, q)
	if err != nil {
		return err
	}
	return d.addActivities(ctx, tx, changed, ActivityUnassigned, actor, activityData{})
}

// assignedConditions adds the conditions of f's Assigned and NotAssigned
// to q, AssigneeMe being v. Each assignee's condition is true or false,
// never NULL, so that NOT of it holds for unassigned issues too.
func assignedConditions(q *query, v Viewer, f IssueFilter) {
	is := func(a string) string {
		switch a {
		case AssigneeNone:
			return `i.assigned_user_id IS NULL`
		case AssigneeAny:
			return `i.assigned_user_id IS NOT NULL`
		case AssigneeMe:
			return `(i.assigned_user_id IS NOT NULL AND i.assigned_user_id = ` + q.arg(v.UserID) + `)`
		}
		return `(i.assigned_user_id IS NOT NULL AND i.assigned_user_id IN (SELECT u.id FROM users u WHERE u.email_key = ` +
			q.arg(emailKey(a)) + `))`
	}
	for _, set := range f.Assigned {
		q.add(` AND (`)
		for j, a := range set {
			if j > 0 {
				q.add(` OR `)
			}
			q.add(is(a))
		}
		q.add(`)`)
	}
	for _, a := range f.NotAssigned {
		q.add(` AND NOT (`, is(a), `)`)
	}
}
