package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// commentMailer records the comment emails it is asked to send.
type commentMailer struct {
	fakeMailer
	sent []string
}

func (m *commentMailer) MailComment(_ context.Context, to, _, _, text, _ string, held int) error {
	m.sent = append(m.sent, fmt.Sprintf("%s %s held %d", to, text, held))
	return nil
}

// TestCommentEmailThrottle: 20 comments in a row email the assignee once;
// the next one after CommentEmailEvery is emailed saying how many were
// held back; another issue or assignee has its own window, and services
// sharing a throttle (the dashboard's and the API's) share the window.
func TestCommentEmailThrottle(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
		mail := &commentMailer{}
		throttle := service.NewCommentThrottle(service.CommentEmailEvery, func() time.Time { return now })
		f.svc.WithMailer(mail).WithCommentThrottle(throttle)
		other := service.New(f.db, nil).WithMailer(mail).WithCommentThrottle(throttle)
		const base = "https://flytrap.example"
		bob := &store.Assignee{ID: f.admin.UserID, Email: "admin@example.com"}
		issue := store.Issue{ID: 1, Title: "TypeError", AssignedTo: bob}
		comment := func(svc *service.Services, is store.Issue, text string) {
			svc.NotifyComment(f.ctx, f.member, is, store.Activity{ID: 1, Text: text}, base)
		}
		for i := range 20 {
			svc := f.svc
			if i%2 == 1 {
				svc = other
			}
			comment(svc, issue, fmt.Sprint("loop ", i))
			now = now.Add(10 * time.Second)
		}
		comment(f.svc, store.Issue{ID: 2, Title: "RangeError", AssignedTo: bob}, "another issue")
		now = now.Add(service.CommentEmailEvery)
		comment(other, issue, "later")
		comment(other, issue, "at once after")
		want := []string{"admin@example.com loop 0 held 0", "admin@example.com another issue held 0", "admin@example.com later held 19"}
		if fmt.Sprint(mail.sent) != fmt.Sprint(want) {
			t.Errorf("emails %q, want %q", mail.sent, want)
		}
	})
}
