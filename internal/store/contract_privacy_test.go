package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/scrub"
)

func testPrivacy(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	got, err := db.ProjectPrivacy(ctx, System, e.project.ID)
	if err != nil || !reflect.DeepEqual(got, DefaultPrivacy) {
		t.Fatalf("ProjectPrivacy of a new project = %+v, %v; want %+v", got, err, DefaultPrivacy)
	}
	set := PrivacySettings{
		Scrubbing:       false,
		SensitiveFields: []string{" order_ref ", "", "Order_Ref", "iban"},
		SafeFields:      []string{"session_id"},
		DropIPAddresses: true,
	}
	want := PrivacySettings{SensitiveFields: []string{"order_ref", "iban"}, SafeFields: []string{"session_id"}, DropIPAddresses: true}
	stored, err := db.SetProjectPrivacy(ctx, System, e.project.ID, set)
	if err != nil || !reflect.DeepEqual(stored, want) {
		t.Fatalf("SetProjectPrivacy = %+v, %v; want %+v", stored, err, want)
	}
	if got, err := db.ProjectPrivacy(ctx, System, e.project.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ProjectPrivacy after set = %+v, %v; want %+v", got, err, want)
	}
	other := e.createProject("other")
	if got, _ := db.ProjectPrivacy(ctx, System, other.ID); !reflect.DeepEqual(got, DefaultPrivacy) {
		t.Errorf("another project's settings = %+v, want the defaults", got)
	}

	tooMany := make([]string, MaxPrivacyFields+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint("f", i)
	}
	for name, s := range map[string]PrivacySettings{
		"too many fields": {SensitiveFields: tooMany},
		"too long a name": {SafeFields: []string{strings.Repeat("x", MaxPrivacyFieldLen+1)}},
		// PostgreSQL refuses such text, where SQLite stored it.
		"invalid UTF-8": {SensitiveFields: []string{"pass\xffword"}},
		"a NUL byte":    {SafeFields: []string{"id\x00"}},
	} {
		_, err := db.SetProjectPrivacy(ctx, System, e.project.ID, s)
		wantErr(t, "SetProjectPrivacy with "+name, err, ErrInvalid)
	}
	if got, _ := db.ProjectPrivacy(ctx, System, e.project.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("refused settings changed the stored ones to %+v", got)
	}
	_, err = db.SetProjectPrivacy(ctx, System, 1<<40, DefaultPrivacy)
	wantErr(t, "SetProjectPrivacy of a missing project", err, ErrNotFound)
}

// secretEvent has a secret in every place the scrubber covers.
func secretEvent(projectID int64) *event.Event {
	return &event.Event{
		EventID: newEventID(), ProjectID: projectID, Source: event.SourceSentry,
		Timestamp: t0, Received: t0, Level: "error",
		Message:    "charge of 4111 1111 1111 1111 from 203.0.113.9 failed",
		Exceptions: []event.Exception{{Type: "CardError", Value: "declined 4111111111111111"}},
		Breadcrumbs: []event.Breadcrumb{{Category: "http", Message: "GET /pay?token=secret",
			Data: json.RawMessage(`{"url":"/pay?token=secret","api_key":"k"}`)}},
		Request: &event.Request{
			URL:         "https://shop.example.com/pay?session_id=s1",
			QueryString: "token=secret",
			Headers:     [][2]string{{"Authorization", "Bearer xyz"}, {"X-Api-Key", "k"}},
			Data:        json.RawMessage(`{"password":"hunter2","card":"4111111111111111","session_id":"s1"}`),
		},
		User:     &event.User{ID: "7", IPHash: "0123456789abcdef", Data: json.RawMessage(`{"ssn":"078-05-1120"}`)},
		Extra:    json.RawMessage(`{"db":{"passwd":"p"}}`),
		Contexts: json.RawMessage(`{"app":{"private_key":"pk"}}`),
	}
}

// testScrubbedPayload stores an event scrubbed as the processor does, with
// the project's settings read from the store, and reads the payload back.
func testScrubbedPayload(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	stored := func(s PrivacySettings) string {
		t.Helper()
		if _, err := db.SetProjectPrivacy(ctx, System, e.project.ID, s); err != nil {
			t.Fatal(err)
		}
		p, err := db.ProjectPrivacy(ctx, System, e.project.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev := secretEvent(e.project.ID)
		if note := scrub.Scrub(ev, p.ScrubConfig()).Note(); note != "" {
			ev.Notes = append(ev.Notes, note)
		}
		if _, err := db.SaveEvent(ctx, SaveRequest{Event: ev, Fingerprint: "fp", Title: ev.Title()}); err != nil {
			t.Fatal(err)
		}
		row, err := db.GetEvent(ctx, System, ev.EventID)
		if err != nil {
			t.Fatal(err)
		}
		return string(row.Payload)
	}
	secrets := []string{"hunter2", "4111", "secret", "xyz", `"k"`, "078-05", `"p"`, `"pk"`, "203.0.113.9"}

	t.Run("default", func(t *testing.T) {
		p := stored(DefaultPrivacy)
		for _, s := range secrets {
			if strings.Contains(p, s) {
				t.Errorf("stored payload holds %s:\n%s", s, p)
			}
		}
		for _, want := range []string{`"password":"[Filtered]"`, `"card":"[Filtered]"`, `"query_string":"token=[Filtered]"`,
			`["Authorization","[Filtered]"]`, `"ip_hash":"0123456789abcdef"`, `"notes":["Scrubbed 16 values (message: 2, `} {
			if !strings.Contains(p, want) {
				t.Errorf("stored payload lacks %s:\n%s", want, p)
			}
		}
	})
	t.Run("safe field", func(t *testing.T) {
		p := stored(PrivacySettings{Scrubbing: true, SafeFields: []string{"session_id"}})
		if !strings.Contains(p, `"session_id":"s1"`) || !strings.Contains(p, "?session_id=s1") || strings.Contains(p, "hunter2") {
			t.Errorf("with session_id safe, stored payload is:\n%s", p)
		}
	})
	t.Run("off", func(t *testing.T) {
		p := stored(PrivacySettings{})
		for _, s := range []string{"hunter2", "4111111111111111", "token=secret"} {
			if !strings.Contains(p, s) {
				t.Errorf("with scrubbing off, stored payload lacks %s:\n%s", s, p)
			}
		}
		if strings.Contains(p, "notes") {
			t.Errorf("with scrubbing off, stored payload has notes:\n%s", p)
		}
	})
	t.Run("drop IP", func(t *testing.T) {
		p := stored(PrivacySettings{Scrubbing: true, DropIPAddresses: true})
		if strings.Contains(p, "ip_hash") || !strings.Contains(p, `"user":{"id":"7"`) {
			t.Errorf("with IP addresses dropped, stored payload is:\n%s", p)
		}
	})
}
