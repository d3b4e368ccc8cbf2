package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMergeIssues: merging answers the primary with the summed figures,
// refuses bad requests with a 400, and the merged issue's old paths lead
// to the primary: reads by a redirect, changes by a 404 naming it.
func TestMergeIssues(t *testing.T) {
	f := newFixture(t)
	merge := fmt.Sprintf("/api/v1/projects/%d/issues/merge", f.project.ID)
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"ids":[]}`, 400},
		{`{}`, 400},
		{fmt.Sprintf(`{"ids":[%d]}`, f.issueA), 400},
		{fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueA, f.issueA), 400},
		// An issue of a project the member does not see is none.
		{fmt.Sprintf(`{"ids":[%d,%d]}`, f.issueA, f.otherIssue), 404},
		{fmt.Sprintf(`{"ids":[%d,999999]}`, f.issueA), 404},
		{`{"ids":["x"]}`, 400},
	} {
		if code, _, out := f.do(t, f.memberToken, "POST", merge, c.body); code != c.code {
			t.Errorf("POST %s: HTTP %d %v, want %d", c.body, code, out, c.code)
		}
	}
	code, _, out := f.do(t, f.memberToken, "POST", merge, fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueA, f.issueB))
	if code != 200 || out["id"] != float64(f.issueB) || out["count"] != float64(3) {
		t.Fatalf("merge into B: HTTP %d %v, want issue %d with 3 events", code, out, f.issueB)
	}
	if _, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID), ""); len(out["data"].([]any)) != 1 {
		t.Errorf("issue list after merge: %v, want one issue", out["data"])
	}

	old := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		method, path, body string
		code               int
		location           string
	}{
		{"GET", old + "/events?limit=5", "", 301, fmt.Sprintf("/api/v1/issues/%d/events?limit=5", f.issueB)},
		{"GET", old, "", 301, fmt.Sprintf("/api/v1/issues/%d", f.issueB)},
		{"PATCH", old, `{"status":"resolved"}`, 404, ""},
		{"DELETE", old, "", 404, ""},
		{"GET", old + "/activity", "", 301, fmt.Sprintf("/api/v1/issues/%d/activity", f.issueB)},
		{"POST", old + "/comments", `{"text":"on it"}`, 404, ""},
	} {
		req, _ := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+f.memberToken)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct {
			Error struct {
				Code       string `json:"code"`
				MergedInto int64  `json:"merged_into"`
			} `json:"error"`
		}
		json.Unmarshal(raw, &body)
		if resp.StatusCode != c.code || resp.Header.Get("Location") != c.location ||
			body.Error.Code != "issue_merged" || body.Error.MergedInto != f.issueB {
			t.Errorf("%s %s: HTTP %d Location %q %s, want %d %q naming issue %d", c.method, c.path,
				resp.StatusCode, resp.Header.Get("Location"), raw, c.code, c.location, f.issueB)
		}
	}
	// Followed, the redirect answers the primary.
	if code, _, out := f.do(t, f.memberToken, "GET", old, ""); code != 200 || out["id"] != float64(f.issueB) {
		t.Errorf("GET %s followed: HTTP %d %v, want issue %d", old, code, out["id"], f.issueB)
	}
	// Who may not see the project learns nothing of the merge.
	if code, _, out := f.do(t, f.outsider, "GET", old, ""); code != 404 || out["error"].(map[string]any)["code"] != "not_found" {
		t.Errorf("outsider GET %s: HTTP %d %v, want a plain 404", old, code, out)
	}
}

// TestBulkMerged: a bulk change naming an issue that was merged is a 404
// issue_merged naming, per merged ID, the issue it was merged into, and
// changes nothing; the kept issue's ID does the change.
func TestBulkMerged(t *testing.T) {
	f := newFixture(t)
	if code, _, out := f.do(t, f.memberToken, "POST", fmt.Sprintf("/api/v1/projects/%d/issues/merge", f.project.ID),
		fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueA, f.issueB)); code != 200 {
		t.Fatalf("merge: HTTP %d %v", code, out)
	}
	bulk := fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID)
	for _, body := range []string{
		fmt.Sprintf(`{"ids":[%d,%d],"status":"resolved"}`, f.issueB, f.issueA),
		fmt.Sprintf(`{"ids":[%d],"assignedTo":"me"}`, f.issueA),
	} {
		code, _, out := f.do(t, f.memberToken, "POST", bulk, body)
		e, _ := out["error"].(map[string]any)
		want := fmt.Sprintf("issue %d was merged into issue %d; nothing was changed", f.issueA, f.issueB)
		if code != 404 || e["code"] != "issue_merged" || e["merged_into"] != float64(f.issueB) ||
			fmt.Sprint(e["merged"]) != fmt.Sprintf("map[%d:%d]", f.issueA, f.issueB) ||
			fmt.Sprint(e["urls"]) != fmt.Sprintf("[/api/v1/issues/%d]", f.issueB) ||
			!strings.HasPrefix(fmt.Sprint(e["message"]), want) {
			t.Errorf("POST %s: HTTP %d %v, want 404 issue_merged saying %q", body, code, out, want)
		}
	}
	if _, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.issueB), ""); out["status"] != "unresolved" || out["assignedTo"] != nil {
		t.Errorf("kept issue after refused bulk changes: %v", out)
	}
	if code, _, out := f.do(t, f.memberToken, "POST", bulk, fmt.Sprintf(`{"ids":[%d],"status":"resolved"}`, f.issueB)); code != 200 || out["updated"] != float64(1) {
		t.Errorf("bulk on the kept issue: HTTP %d %v", code, out)
	}
}

// TestMergeMergedID: a merge naming an issue that was merged, among the
// IDs or as the one to keep, is a 404 issue_merged naming the issue it
// was merged into, and changes nothing.
func TestMergeMergedID(t *testing.T) {
	f := newFixture(t)
	merge := fmt.Sprintf("/api/v1/projects/%d/issues/merge", f.project.ID)
	if code, _, out := f.do(t, f.memberToken, "POST", merge, fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueA, f.issueB)); code != 200 {
		t.Fatalf("merge: HTTP %d %v", code, out)
	}
	kept := fmt.Sprintf("/api/v1/issues/%d", f.issueB)
	_, _, before := f.do(t, f.memberToken, "GET", kept, "")
	for _, body := range []string{
		fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueA, f.issueB),
		fmt.Sprintf(`{"ids":[%d],"into":%d}`, f.issueB, f.issueA),
		fmt.Sprintf(`{"ids":[%d,%d]}`, f.issueA, f.issueB),
	} {
		code, _, out := f.do(t, f.memberToken, "POST", merge, body)
		e, _ := out["error"].(map[string]any)
		want := fmt.Sprintf("issue %d was merged into issue %d; nothing was changed", f.issueA, f.issueB)
		if code != 404 || e["code"] != "issue_merged" || e["merged_into"] != float64(f.issueB) ||
			fmt.Sprint(e["merged"]) != fmt.Sprintf("map[%d:%d]", f.issueA, f.issueB) ||
			fmt.Sprint(e["urls"]) != fmt.Sprintf("[%s]", kept) ||
			!strings.HasPrefix(fmt.Sprint(e["message"]), want) {
			t.Errorf("POST %s: HTTP %d %v, want 404 issue_merged saying %q", body, code, out, want)
		}
	}
	if _, _, after := f.do(t, f.memberToken, "GET", kept, ""); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("kept issue after refused merges: %v, was %v", after, before)
	}
}
