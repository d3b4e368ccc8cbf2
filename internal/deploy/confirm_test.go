package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/tf"
)

// TestConfirmWarnsReplacement: the plan's deletions and replacements are
// warned about, in a dry run too, and a replaced dashboard instance says
// what that costs (a new boot; with a domain, a new certificate).
func TestConfirmWarnsReplacement(t *testing.T) {
	change := func(addr, action string) tf.Change {
		return tf.Change{Resource: tf.Resource{Addr: addr}, Action: action}
	}
	tests := []struct {
		name   string
		domain string
		change tf.Change
		want   []string // in one warning
	}{
		{"instance", "", change("module.dashboard.aws_instance.this", "replace"), []string{"module.dashboard.aws_instance.this will be replaced", "new dashboard instance", "Elastic IP"}},
		{"instance with a domain", "errors.example.com", change("module.dashboard.aws_instance.this", "replace"), []string{"will be replaced", "Let's Encrypt certificate for errors.example.com is issued again"}},
		{"other", "", change("module.queue.aws_sqs_queue.dlq", "delete"), []string{"module.queue.aws_sqs_queue.dlq will be destroyed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			s := &State{Plan: plan.Plan{Domain: tt.domain}, Options: Options{DryRun: true}, Log: &log,
				PlanProgress: &Progress{Planned: []tf.Change{change("module.queue.aws_sqs_queue.this", "update"), tt.change}}}
			if err := (confirmStep{}).Run(context.Background(), s); !errors.Is(err, ErrStop) {
				t.Fatalf("dry run: %v", err)
			}
			if len(s.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", s.Warnings)
			}
			for _, w := range tt.want {
				if !strings.Contains(s.Warnings[0], w) {
					t.Errorf("warning %q lacks %q", s.Warnings[0], w)
				}
			}
		})
	}
}
