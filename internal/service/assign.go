package service

import (
	"context"
	"strconv"

	"github.com/getflytrap/flytrap/internal/store"
)

// AssignMailer emails a user that another assigned them an issue:
// notify.LinkMailer does, given to WithMailer when the server sends email.
type AssignMailer interface {
	MailAssignment(ctx context.Context, to, by, title, url string) error
}

// NotifyAssigned emails the assignee of is, an issue a has just assigned,
// a link to it under base, unless a assigned it to themselves, it was
// already theirs (before is the ID of whom it was assigned to, 0 for
// nobody: assigning it to them again is no news), the server sends no
// email (its mailer is no AssignMailer) or base is "" (no public URL: the
// link could not be followed). Failing to send is logged: the assignment
// stands.
func (s *Services) NotifyAssigned(ctx context.Context, a Actor, is store.Issue, before int64, base string) {
	m, ok := s.Users.mailer.(AssignMailer)
	if !ok || base == "" || is.AssignedTo == nil || is.AssignedTo.ID == a.UserID || is.AssignedTo.ID == before {
		return
	}
	by := "Someone"
	if u, err := s.Users.store.UserByID(ctx, a.UserID); err == nil {
		by = u.Email
	}
	url := base + "/issues/" + strconv.FormatInt(is.ID, 10)
	if err := m.MailAssignment(ctx, is.AssignedTo.Email, by, is.Title, url); err != nil {
		s.Users.log.Warn("assignment email not sent", "issue", is.ID, "to", is.AssignedTo.ID, "err", err)
	}
}

// CommentMailer emails an issue's assignee the comment another user wrote
// on it: notify.LinkMailer does, as it does AssignMailer's.
// held is how many comments on the issue were not emailed since the last
// email, which it says.
type CommentMailer interface {
	MailComment(ctx context.Context, to, by, title, text, url string, held int) error
}

// NotifyComment emails the assignee of is, an issue on which a has just
// written comment c, the comment and a link to it under base, unless a is
// the assignee, nobody is, the server sends no email or base is "" (no
// public URL), as NotifyAssigned, or the assignee was emailed about the
// issue's comments less than CommentEmailEvery ago (the comment is then
// counted in the next email). Failing to send is logged: the comment
// stands.
func (s *Services) NotifyComment(ctx context.Context, a Actor, is store.Issue, c store.Activity, base string) {
	m, ok := s.Users.mailer.(CommentMailer)
	if !ok || base == "" || is.AssignedTo == nil || is.AssignedTo.ID == a.UserID {
		return
	}
	send, held := s.comments.take(is.ID, is.AssignedTo.ID)
	if !send {
		s.Users.log.Debug("comment email held back", "issue", is.ID, "to", is.AssignedTo.ID)
		return
	}
	by := "Someone"
	if u, err := s.Users.store.UserByID(ctx, a.UserID); err == nil {
		by = u.Email
	}
	url := base + "/issues/" + strconv.FormatInt(is.ID, 10) + "#activity-" + strconv.FormatInt(c.ID, 10)
	if err := m.MailComment(ctx, is.AssignedTo.Email, by, is.Title, c.Text, url, held); err != nil {
		s.Users.log.Warn("comment email not sent", "issue", is.ID, "to", is.AssignedTo.ID, "err", err)
	}
}

// WithCommentThrottle makes s share t, which decides which comment emails
// are sent, with the other services given it; it returns s.
func (s *Services) WithCommentThrottle(t *CommentThrottle) *Services {
	s.comments = t
	return s
}

// CommentThrottle is the throttle of s's comment emails, for another
// server face's services to share (WithCommentThrottle).
func (s *Services) CommentThrottle() *CommentThrottle { return s.comments }
