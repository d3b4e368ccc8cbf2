package dev

import (
	"testing"

	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/service"
)

// TestMailerSendsAssignments: the mailer a server with SMTP gives the
// services also emails assignments, which the services find by asking
// for an AssignMailer: without the method they would silently send none.
func TestMailerSendsAssignments(t *testing.T) {
	var m service.LinkMailer = notify.LinkMailer{}
	if _, ok := m.(service.AssignMailer); !ok {
		t.Fatal("notify.LinkMailer is no service.AssignMailer")
	}
}
