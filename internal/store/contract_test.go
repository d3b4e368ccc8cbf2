package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// runContract checks the behaviour both dialects must share. open returns a
// fresh, migrated, empty store for each subtest.
func runContract(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		fn   func(*env)
	}{
		{"Users", testUsers},
		{"Projects", testProjects},
		{"CreateProjectWithKey", testCreateProjectWithKey},
		{"ProjectKeys", testProjectKeys},
		{"APITokens", testAPITokens},
		{"Settings", testSettings},
		{"SaveEvent", testSaveEvent},
		{"SaveEventInvalid", testSaveEventInvalid},
		{"SaveBatch", testSaveBatch},
		{"SaveBatchRollback", testSaveBatchRollback},
		{"SaveBatchAggregates", testSaveBatchAggregates},
		{"PreviousFingerprints", testPreviousFingerprints},
		{"PreviousFromOlderIngest", testPreviousFromOlderIngest},
		{"ConcurrentBatches", testConcurrentBatches},
		{"Regression", testRegression},
		{"Authorization", testAuthorization},
		{"ListIssuesFilters", testListIssuesFilters},
		{"ListIssuesEnvironmentCounts", testListIssuesEnvironmentCounts},
		{"IssueEnvironmentFigures", testIssueEnvironmentFigures},
		{"EnvironmentBatch", testEnvironmentBatch},
		{"EnvironmentBackfill", testEnvironmentBackfill},
		{"EnvironmentEvents", testEnvironmentEvents},
		{"ListIssuesPaging", testListIssuesPaging},
		{"ListIssuesSearch", testListIssuesSearch},
		{"ListIssuesWildcards", testListIssuesWildcards},
		{"LatestReleaseTie", testLatestReleaseTie},
		{"ListEvents", testListEvents},
		{"UpdateIssueStatus", testUpdateIssueStatus},
		{"DeleteIssue", testDeleteIssue},
		{"MergeIssues", testMergeIssues},
		{"MergeIssuesRefused", testMergeIssuesRefused},
		{"MergeChains", testMergeChains},
		{"ResolveNextRelease", testResolveNextRelease},
		{"BulkResolveInRelease", testBulkResolveInRelease},
		{"ResolveInUnknownRelease", testResolveInUnknownRelease},
		{"MergeConcurrentEvents", testMergeConcurrentEvents},
		{"MergeGroupingVersion", testMergeGroupingVersion},
		{"MergeAssignee", testMergeAssignee},
		{"MergeTagBounds", testMergeTagBounds},
		{"MergeBulkRefused", testMergeBulkRefused},
		{"IssueTagBounds", testIssueTagBounds},
		{"TagFlood", testTagFlood},
		{"TagKeysBackfill", testTagKeysBackfill},
		{"BuiltinTags", testBuiltinTags},
		{"Prune", testPrune},
		{"PruneHistory", testPruneHistory},
		{"ReleaseHealth", testReleaseHealth},
		{"ReleaseHealthEndsOnce", testReleaseHealthEndsOnce},
		{"ReleaseHealthSaturates", testReleaseHealthSaturates},
		{"SessionReleasesBounded", testSessionReleasesBounded},
		{"SessionIDsConcurrent", testSessionIDsConcurrent},
		{"EventReleasesBounded", testEventReleasesBounded},
		{"ReleasesConcurrent", testReleasesConcurrent},
		{"PruneReleases", testPruneReleases},
		{"PruneReleaseWhileSaving", testPruneReleaseWhileSaving},
		{"Monitors", testMonitors},
		{"MonitorsBounded", testMonitorsBounded},
		{"MonitorsHeld", testMonitorsHeld},
		{"MonitorLegacySlug", testMonitorLegacySlug},
		{"MonitorsHeldRace", testMonitorsHeldRace},
		{"MonitorsBoundedConcurrent", testMonitorsBoundedConcurrent},
		{"MonitorsLockOrder", testMonitorsLockOrder},
		{"JudgeMonitors", testJudgeMonitors},
		{"JudgeMissedRunsOnSchedule", testJudgeMissedRunsOnSchedule},
		{"MonitorAlerts", testMonitorAlerts},
		{"MonitorAlertBurst", testMonitorAlertBurst},
		{"JudgeBrokenSchedule", testJudgeBrokenSchedule},
		{"MonitorEnvironments", testMonitorEnvironments},
		{"JudgeMonitorEnvironments", testJudgeMonitorEnvironments},
		{"MonitorEnvironmentsBounded", testMonitorEnvironmentsBounded},
		{"Feedback", testFeedback},
		{"UserReportFromEventUser", testUserReportFromEventUser},
		{"PruneFeedback", testPruneFeedback},
		{"ConcurrentSameIssue", testConcurrentSameIssue},
		{"ConcurrentSameEvent", testConcurrentSameEvent},
		{"Payload", testPayload},
		{"UntrustedText", testUntrustedText},
		{"HostileLookups", testHostileLookups},
		{"Sessions", testSessions},
		{"PasswordLinks", testPasswordLinks},
		{"ForgotLinks", testForgotLinks},
		{"UserAdmin", testUserAdmin},
		{"DeleteUser", testDeleteUser},
		{"ConcurrentLastAdmin", testConcurrentLastAdmin},
		{"ProjectAuthorization", testProjectAuthorization},
		{"RenameProject", testRenameProject},
		{"DeleteProject", testDeleteProject},
		{"Members", testMembers},
		{"AccessHooks", testAccessHooks},
		{"RotateProjectKey", testRotateProjectKey},
		{"ProjectStats", testProjectStats},
		{"ProjectCounts", testProjectCounts},
		{"CountAtCap", testCountAtCap},
		{"BulkUpdateStatus", testBulkUpdateStatus},
		{"BulkDuringSaves", testBulkDuringSaves},
		{"DeleteDuringSaves", testDeleteDuringSaves},
		{"AssignIssue", testAssignIssue},
		{"IssueActivity", testIssueActivity},
		{"Comments", testComments},
		{"CommentCap", testCommentCap},
		{"UpdateIssue", testUpdateIssue},
		{"ListIssuesAssigned", testListIssuesAssigned},
		{"AdjacentEvents", testAdjacentEvents},
		{"EventIDPerProject", testEventIDPerProject},
		{"APITokenAdmin", testAPITokenAdmin},
		{"TokenScopes", testTokenScopes},
		{"SignInTokens", testSignInTokens},
		{"Feed", testFeed},
		{"Privacy", testPrivacy},
		{"InboundFilters", testInboundFilters},
		{"RateLimit", testRateLimit},
		{"ScrubbedPayload", testScrubbedPayload},
		{"Artifacts", testArtifacts},
		{"ChunkUploads", testChunkUploads},
		{"ArtifactsDebugIDOnly", testArtifactsDebugIDOnly},
		{"ArtifactDebugIDsCanonical", testArtifactDebugIDsCanonical},
		{"ReleasesAndArtifactPruning", testReleasesAndArtifactPruning},
		{"ReleaseTracking", testReleaseTracking},
		{"ReleasesListedNewest", testReleasesListedNewest},
		{"DeployBound", testDeployBound},
		{"ReleaseInUse", testReleaseInUse},
		{"Repositories", testRepositories},
		{"AlertConfig", testAlertConfig},
		{"AlertChannelNames", testAlertChannelNames},
		{"AlertLimits", testAlertLimits},
		{"AlertOutbox", testAlertOutbox},
		{"AlertFloodDigest", testAlertFloodDigest},
		{"AlertNewIssueBurst", testAlertNewIssueBurst},
		{"AlertBurstConcurrent", testAlertBurstConcurrent},
		{"AlertRegression", testAlertRegression},
		{"AlertFrequencyFilters", testAlertFrequencyFilters},
		{"AlertFrequencyBatchCount", testAlertFrequencyBatchCount},
		{"AlertFrequencyOnAnotherChannel", testAlertFrequencyOnAnotherChannel},
		{"AlertDueDigestNotLost", testAlertDueDigestNotLost},
		{"AlertResolvedSilent", testAlertResolvedSilent},
		{"AlertNewInEnvironment", testAlertNewInEnvironment},
		{"AlertIgnoredAndMuted", testAlertIgnoredAndMuted},
		{"AlertMerge", testAlertMerge},
		{"AlertMergeDigest", testAlertMergeDigest},
		{"AlertMergeDigestSent", testAlertMergeDigestSent},
		{"AlertDigestPerChannel", testAlertDigestPerChannel},
		{"AlertMergeDigestPerChannel", testAlertMergeDigestPerChannel},
		{"AlertPayloadTimes", testAlertPayloadTimes},
		{"AlertChannelUnsubscribe", testAlertChannelUnsubscribe},
		{"AlertProjectEmailUnsubscribe", testAlertProjectEmailUnsubscribe},
		{"AlertClaim", testAlertClaim},
		{"AlertLogged", testAlertLogged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(newEnv(t, open(t)))
		})
	}
}

func testUsers(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v; want 0", n, err)
	}
	alice, err := db.CreateUser(ctx, " Alice@Example.com ", "argon2id$x", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID == 0 || alice.Email != "Alice@Example.com" || alice.Role != RoleAdmin || alice.CreatedAt.Location() != time.UTC {
		t.Errorf("CreateUser = %+v", alice)
	}
	_, err = db.CreateUser(ctx, "alice@EXAMPLE.com", "h", RoleMember)
	wantErr(t, "duplicate email in other case", err, ErrConflict)
	_, err = db.CreateUser(ctx, "bob@example.com", "h", "owner")
	wantErr(t, "unknown role", err, ErrInvalid)
	_, err = db.CreateUser(ctx, " ", "h", RoleMember)
	wantErr(t, "empty email", err, ErrInvalid)
	bob := e.createUser("bob@example.com", RoleMember)

	for _, lookup := range []struct {
		name string
		get  func() (User, error)
	}{
		{"UserByEmail", func() (User, error) { return db.UserByEmail(ctx, "ALICE@example.COM") }},
		{"UserByID", func() (User, error) { return db.UserByID(ctx, alice.ID) }},
	} {
		got, err := lookup.get()
		if err != nil || !reflect.DeepEqual(got, alice) {
			t.Errorf("%s = %+v, %v; want %+v", lookup.name, got, err, alice)
		}
	}
	_, err = db.UserByEmail(ctx, "carol@example.com")
	wantErr(t, "UserByEmail of a stranger", err, ErrNotFound)
	_, err = db.UserByID(ctx, bob.ID+100)
	wantErr(t, "UserByID of a missing ID", err, ErrNotFound)
	if n, err := db.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
}

func testProjects(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	if other.ID == e.project.ID || other.CreatedAt.IsZero() {
		t.Errorf("CreateProject = %+v", other)
	}
	_, err := db.CreateProject(ctx, "other")
	wantErr(t, "duplicate project name", err, ErrConflict)
	_, err = db.CreateProject(ctx, "  ")
	wantErr(t, "empty project name", err, ErrInvalid)

	member := e.createUser("m@example.com", RoleMember)
	for range 2 { // idempotent
		e.addMember(e.project, member)
	}
	if n := e.count(`SELECT COUNT(*) FROM project_members WHERE user_id = $1`, member.ID); n != 1 {
		t.Errorf("member rows = %d, want 1", n)
	}
	if err := db.AddMember(ctx, e.project.ID, member.ID, RoleAdmin); err != nil {
		t.Errorf("AddMember changing the role: %v", err)
	}
	wantErr(t, "AddMember to a missing project", db.AddMember(ctx, other.ID+100, member.ID, RoleMember), ErrNotFound)
	wantErr(t, "AddMember of a missing user", db.AddMember(ctx, other.ID, member.ID+100, RoleMember), ErrNotFound)
	wantErr(t, "AddMember with a bad role", db.AddMember(ctx, other.ID, member.ID, "boss"), ErrInvalid)

	tests := []struct {
		name string
		v    Viewer
		want []Project
	}{
		{"admin", System, []Project{e.project, other}},
		{"member", Viewer{UserID: member.ID}, []Project{e.project}},
		{"stranger", Viewer{UserID: member.ID + 100}, []Project{}},
	}
	for _, tt := range tests {
		got, err := db.ListProjects(ctx, tt.v)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListProjects(%s) = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if got, err := db.GetProject(ctx, Viewer{UserID: member.ID}, e.project.ID); err != nil || got != e.project {
		t.Errorf("GetProject(member) = %+v, %v", got, err)
	}
	_, err = db.GetProject(ctx, Viewer{UserID: member.ID}, other.ID)
	wantErr(t, "GetProject of a project the user is not in", err, ErrNotFound)
	_, err = db.GetProject(ctx, System, other.ID+100)
	wantErr(t, "GetProject of a missing project", err, ErrNotFound)
}

func testProjectKeys(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	k1, err := db.CreateProjectKey(ctx, e.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := db.CreateProjectKey(ctx, e.project.ID)
	k3, _ := db.CreateProjectKey(ctx, other.ID)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, k := range []ProjectKey{k1, k2, k3} {
		if !hex32.MatchString(k.PublicKey) || !k.Active || k.ID == 0 {
			t.Errorf("key %+v: want an active key of 32 lowercase hex characters", k)
		}
	}
	if k1.PublicKey == k2.PublicKey {
		t.Error("two keys are equal")
	}
	_, err = db.CreateProjectKey(ctx, other.ID+100)
	wantErr(t, "CreateProjectKey of a missing project", err, ErrNotFound)

	member := e.createUser("m@example.com", RoleMember)
	e.addMember(e.project, member)
	got, err := db.ProjectKeys(ctx, Viewer{UserID: member.ID}, e.project.ID)
	if err != nil || !reflect.DeepEqual(got, []ProjectKey{k1, k2}) {
		t.Errorf("ProjectKeys = %+v, %v; want %+v", got, err, []ProjectKey{k1, k2})
	}
	_, err = db.ProjectKeys(ctx, Viewer{UserID: member.ID}, other.ID)
	wantErr(t, "ProjectKeys of another project", err, ErrNotFound)

	active, err := db.ActiveKeys(ctx)
	want := map[string]ActiveKey{k1.PublicKey: {ProjectID: e.project.ID}, k2.PublicKey: {ProjectID: e.project.ID}, k3.PublicKey: {ProjectID: other.ID}}
	if err != nil || !reflect.DeepEqual(active, want) {
		t.Errorf("ActiveKeys = %v, %v; want %v", active, err, want)
	}
}

func testAPITokens(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("dev@example.com", RoleMember)
	token, meta, err := db.CreateAPIToken(ctx, u.ID, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, APITokenPrefix) || len(token) < len(APITokenPrefix)+40 {
		t.Errorf("token %q: want flyt_ and at least 40 random characters", token)
	}
	if meta.ID == 0 || meta.UserID != u.ID || meta.Name != "laptop" {
		t.Errorf("APIToken = %+v", meta)
	}
	token2, _, _ := db.CreateAPIToken(ctx, u.ID, "ci")
	if token2 == token {
		t.Error("two tokens are equal")
	}
	sum := sha256.Sum256([]byte(token))
	if n := e.count(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("rows with the token's SHA-256 = %d, want 1", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 OR name = $1`, token); n != 0 {
		t.Error("the token itself is stored")
	}
	got, err := db.UserByAPIToken(ctx, token)
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByAPIToken = %+v, %v; want user %d", got, err, u.ID)
	}
	for _, bad := range []string{"", "flyt_", token + "0", strings.TrimPrefix(token, APITokenPrefix)} {
		_, err := db.UserByAPIToken(ctx, bad)
		wantErr(t, fmt.Sprintf("UserByAPIToken(%q)", bad), err, ErrNotFound)
	}
	_, _, err = db.CreateAPIToken(ctx, u.ID+100, "ghost")
	wantErr(t, "CreateAPIToken for a missing user", err, ErrNotFound)
}

func testSettings(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	steps := []struct{ key, value, want string }{
		{"ip_salt", "first", "first"},
		{"ip_salt", "second", "first"},
		{"bootstrapped", "true", "true"},
	}
	for _, s := range steps {
		got, err := db.EnsureSetting(ctx, s.key, s.value)
		if err != nil || got != s.want {
			t.Errorf("EnsureSetting(%q, %q) = %q, %v; want %q", s.key, s.value, got, err, s.want)
		}
	}
}

func testSaveEvent(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	first := request(e.project.ID, "fp", withAt(t0), withRelease("1.0"), withEnv("production"),
		withTags("browser", "Chrome", "environment", "ignored-by-env"), withUser("u1"), withTitle("Boom"), withCulprit("app.js in f"))
	res, err := db.SaveEvent(ctx, first)
	if err != nil || !res.NewIssue || res.Duplicate || res.Regression || res.IssueID == 0 {
		t.Fatalf("first SaveEvent = %+v, %v; want a new issue", res, err)
	}
	id := res.IssueID
	again, err := db.SaveEvent(ctx, first)
	if err != nil || again != (SaveResult{IssueID: id, Duplicate: true}) {
		t.Errorf("SaveEvent of the same event = %+v, %v; want duplicate of issue %d", again, err, id)
	}
	newest := e.save("fp", withAt(t0.Add(2*time.Hour+30*time.Minute)), withRelease("1.1"), withEnv("production"),
		withLevel("warning"), withUser("u1"), withTitle("Boom newest"), withCulprit("app.js in g"), withID("newest"))
	e.save("fp", withAt(t0.Add(-time.Hour)), withRelease("0.9"), withEnv("staging"), withUser("u2"), withTitle("Boom oldest"))
	e.save("fp", withAt(t0.Add(10*time.Minute)))
	if newest.NewIssue || newest.IssueID != id {
		t.Errorf("later SaveEvent = %+v, want issue %d", newest, id)
	}
	e.save("other-fp")

	got := e.issue(id)
	want := Issue{
		ID: id, ProjectID: e.project.ID, Fingerprint: "fp", GroupingVersion: "test-1",
		Title: "Boom newest", Culprit: "app.js in g", Level: "warning", Status: StatusUnresolved,
		Count: 4, UserCount: 2, FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(2*time.Hour + 30*time.Minute),
		FirstRelease: "0.9", LastRelease: "1.1", LatestEventID: "newest",
	}
	if got != want {
		t.Errorf("issue after four events:\n got %+v\nwant %+v", got, want)
	}

	buckets, err := db.IssueHourlyCounts(ctx, System, id, t0.Add(-2*time.Hour), "")
	wantBuckets := []Bucket{{t0.Add(-time.Hour), 1}, {t0, 2}, {t0.Add(2 * time.Hour), 1}}
	if err != nil || !reflect.DeepEqual(buckets, wantBuckets) {
		t.Errorf("IssueHourlyCounts = %v, %v; want %v", buckets, err, wantBuckets)
	}
	buckets, _ = db.IssueHourlyCounts(ctx, System, id, t0.Add(30*time.Minute), "")
	if !reflect.DeepEqual(buckets, wantBuckets[1:]) {
		t.Errorf("IssueHourlyCounts from mid-hour = %v; want the hour containing it on: %v", buckets, wantBuckets[1:])
	}

	tags, err := db.IssueTags(ctx, System, id)
	wantTags := []TagCount{
		{Key: "browser", Value: "Chrome", Count: 1},
		{Key: "environment", Value: "production", Count: 2}, {Key: "environment", Value: "staging", Count: 1},
		{Key: "level", Value: "error", Count: 3}, {Key: "level", Value: "warning", Count: 1},
		{Key: "release", Value: "0.9", Count: 1}, {Key: "release", Value: "1.0", Count: 1}, {Key: "release", Value: "1.1", Count: 1},
	}
	if err != nil || !reflect.DeepEqual(tags, wantTags) {
		t.Errorf("IssueTags =\n %v, %v\nwant %v", tags, err, wantTags)
	}
	if n := e.count(`SELECT COUNT(*) FROM releases WHERE project_id = $1`, e.project.ID); n != 3 {
		t.Errorf("releases = %d, want 3", n)
	}
}

func testSaveEventInvalid(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	tests := []struct {
		name string
		req  SaveRequest
		want error
	}{
		{"no event", SaveRequest{Fingerprint: "fp"}, ErrInvalid},
		{"no fingerprint", request(e.project.ID, ""), ErrInvalid},
		{"no event ID", request(e.project.ID, "fp", withID("")), ErrInvalid},
		{"no project", request(0, "fp"), ErrInvalid},
		{"missing project", request(e.project.ID+100, "fp"), ErrNotFound},
	}
	for _, tt := range tests {
		_, err := db.SaveEvent(ctx, tt.req)
		wantErr(t, tt.name, err, tt.want)
	}
	if n := e.count(`SELECT COUNT(*) FROM issues`); n != 0 {
		t.Errorf("failed saves left %d issues", n)
	}
}

func testRegression(e *env) {
	tests := []struct {
		name       string
		seen       []string // releases seen before resolving, oldest first
		sameTime   bool     // all of seen were first seen at once
		status     string
		resolvedIn string
		release    string // of the new event
		regression bool
		wantStatus string
	}{
		{name: "resolved", status: StatusResolved, regression: true, wantStatus: StatusUnresolved},
		{name: "resolved, event with a release", seen: []string{"1.0"}, status: StatusResolved, release: "1.0", regression: true, wantStatus: StatusUnresolved},
		// As in Sentry: an event of no release is taken for one from
		// before releases were set (QA: sentry-go without a Release sent
		// a false regression alert).
		{name: "in release, event without one", seen: []string{"1.0", "2.0"}, status: StatusResolved, resolvedIn: "2.0", wantStatus: StatusResolved},
		{name: "in release, same release", seen: []string{"1.0", "2.0"}, status: StatusResolved, resolvedIn: "2.0", release: "2.0", regression: true, wantStatus: StatusUnresolved},
		{name: "in release, newer seen release", seen: []string{"1.0", "2.0", "3.0"}, status: StatusResolved, resolvedIn: "2.0", release: "3.0", regression: true, wantStatus: StatusUnresolved},
		{name: "in release, release first seen with it", seen: []string{"2.0", "2.0b"}, sameTime: true, status: StatusResolved, resolvedIn: "2.0", release: "2.0b", regression: true, wantStatus: StatusUnresolved},
		{name: "in release, brand-new release", seen: []string{"1.0", "2.0"}, status: StatusResolved, resolvedIn: "2.0", release: "4.0", regression: true, wantStatus: StatusUnresolved},
		{name: "in release, older release", seen: []string{"1.0", "2.0"}, status: StatusResolved, resolvedIn: "2.0", release: "1.0", wantStatus: StatusResolved},
		{name: "in a release not seen yet", seen: []string{"1.0"}, status: StatusResolved, resolvedIn: "2.0", release: "1.0", wantStatus: StatusResolved},
		// QA: `flytrap issues resolve 9 --in-release shop@4.0.0` before
		// any event of shop@4.0.0, then shop@4.0.1 and shop@5.0.0.
		{name: "in an unseen release, a newer patch", seen: []string{"shop@3.0.0"}, status: StatusResolved, resolvedIn: "shop@4.0.0", release: "shop@4.0.1", regression: true, wantStatus: StatusUnresolved},
		{name: "in an unseen release, a newer major", seen: []string{"shop@3.0.0"}, status: StatusResolved, resolvedIn: "shop@4.0.0", release: "shop@5.0.0", regression: true, wantStatus: StatusUnresolved},
		{name: "in an unseen release, 1.11.0 after 1.10.0", seen: []string{"shop@1.9.0"}, status: StatusResolved, resolvedIn: "shop@1.10.0", release: "shop@1.11.0", regression: true, wantStatus: StatusUnresolved},
		// Versions are ordered as versions, whenever each was first seen.
		{name: "semver: an older release seen before", seen: []string{"shop@1.9.0", "shop@1.10.0"}, status: StatusResolved, resolvedIn: "shop@1.10.0", release: "shop@1.9.0", wantStatus: StatusResolved},
		{name: "semver: an older release first seen after", seen: []string{"shop@1.0.0"}, status: StatusResolved, resolvedIn: "shop@1.10.0", release: "shop@1.9.0", wantStatus: StatusResolved},
		{name: "semver: a newer release seen before", seen: []string{"shop@1.11.0", "shop@1.10.0"}, status: StatusResolved, resolvedIn: "shop@1.10.0", release: "shop@1.11.0", regression: true, wantStatus: StatusUnresolved},
		{name: "semver without a package", seen: []string{"1.9.0"}, status: StatusResolved, resolvedIn: "1.10.0", release: "1.11.0", regression: true, wantStatus: StatusUnresolved},
		{name: "semver without a package, older", seen: []string{"1.10.0", "1.9.0"}, status: StatusResolved, resolvedIn: "1.10.0", release: "1.9.0", wantStatus: StatusResolved},
		{name: "semver: its pre-release is older", seen: []string{"shop@1.0.0"}, status: StatusResolved, resolvedIn: "shop@2.0.0", release: "shop@2.0.0-rc.1", wantStatus: StatusResolved},
		{name: "semver: the release of its pre-release is newer", seen: []string{"shop@1.0.0"}, status: StatusResolved, resolvedIn: "shop@2.0.0-rc.1", release: "shop@2.0.0", regression: true, wantStatus: StatusUnresolved},
		{name: "semver: a later pre-release is newer", seen: []string{"shop@1.0.0"}, status: StatusResolved, resolvedIn: "shop@2.0.0-beta.2", release: "shop@2.0.0-beta.11", regression: true, wantStatus: StatusUnresolved},
		// Not versions: by date, the unseen release created before resolving.
		{name: "by date: in an unseen release, a release first seen after", seen: []string{"build-a"}, status: StatusResolved, resolvedIn: "build-b", release: "build-c", regression: true, wantStatus: StatusUnresolved},
		{name: "by date: in an unseen release, a release seen before", seen: []string{"build-a"}, status: StatusResolved, resolvedIn: "build-b", release: "build-a", wantStatus: StatusResolved},
		{name: "by date: versions of two packages", seen: []string{"api@9.0.0", "shop@1.0.0"}, status: StatusResolved, resolvedIn: "shop@1.0.0", release: "api@9.0.0", wantStatus: StatusResolved},
		{name: "ignored", seen: []string{"1.0"}, status: StatusIgnored, release: "1.0", wantStatus: StatusIgnored},
		{name: "unresolved", seen: []string{"1.0"}, status: StatusUnresolved, release: "1.0", wantStatus: StatusUnresolved},
	}
	for n, tt := range tests {
		e.t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, db: e.db, ctx: e.ctx, project: e.createProject(fmt.Sprintf("regression-%d", n))}
			at := t0
			var id int64
			for i, r := range append([]string{""}, tt.seen...) {
				if i < 2 || !tt.sameTime {
					at = at.Add(time.Minute)
				}
				id = e.save("fp", withRelease(r), withAt(at), withRcv(at)).IssueID
			}
			if tt.resolvedIn != "" && !slices.Contains(tt.seen, tt.resolvedIn) {
				// A release without events yet is created first, as
				// `flytrap releases new` does: first seen now, so a
				// release first seen after it is newer.
				if _, err := e.db.CreateRelease(e.ctx, System, e.project.ID, tt.resolvedIn, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			e.setStatus(id, tt.status, tt.resolvedIn)
			// The new event arrives after the resolve, as it does live.
			at = time.Now().UTC()
			res := e.save("fp", withRelease(tt.release), withAt(at), withRcv(at))
			got := e.issue(id)
			if res.Regression != tt.regression || got.Status != tt.wantStatus || res.Status != got.Status || res.Count != got.Count {
				t.Errorf("Regression = %v, status %s (result says %s, count %d of %d); want %v, %s",
					res.Regression, got.Status, res.Status, res.Count, got.Count, tt.regression, tt.wantStatus)
			}
			wantIn := tt.resolvedIn
			if tt.wantStatus != StatusResolved {
				wantIn = ""
			}
			if got.ResolvedInRelease != wantIn {
				t.Errorf("ResolvedInRelease = %q, want %q", got.ResolvedInRelease, wantIn)
			}
			if got.Count != int64(len(tt.seen)+2) {
				t.Errorf("Count = %d, want %d", got.Count, len(tt.seen)+2)
			}
		})
	}
}

func testAuthorization(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	member := e.createUser("member@example.com", RoleMember)
	outsider := e.createUser("outsider@example.com", RoleMember)
	e.addMember(e.project, member)
	e.addMember(other, outsider)
	res := e.save("fp", withID("secret-event"), withTags("k", "v"))
	e.saveIn(other.ID, "fp")
	id := res.IssueID

	// Each check reads or changes the issue of e.project for a viewer.
	checks := []struct {
		name string
		do   func(v Viewer) error
	}{
		{"GetProject", func(v Viewer) error { _, err := db.GetProject(ctx, v, e.project.ID); return err }},
		{"ProjectKeys", func(v Viewer) error { _, err := db.ProjectKeys(ctx, v, e.project.ID); return err }},
		{"GetIssue", func(v Viewer) error { _, err := db.GetIssue(ctx, v, id); return err }},
		{"ListEvents", func(v Viewer) error { _, _, err := db.ListEvents(ctx, v, id, "", 0, ""); return err }},
		{"GetEvent", func(v Viewer) error { _, err := db.GetEvent(ctx, v, "secret-event"); return err }},
		{"GetProjectEvent", func(v Viewer) error { _, err := db.GetProjectEvent(ctx, v, e.project.ID, "secret-event"); return err }},
		{"GetIssueEvent", func(v Viewer) error { _, err := db.GetIssueEvent(ctx, v, id, "secret-event"); return err }},
		{"LatestEvent", func(v Viewer) error { _, err := db.LatestEvent(ctx, v, id, ""); return err }},
		{"IssueHourlyCounts", func(v Viewer) error { _, err := db.IssueHourlyCounts(ctx, v, id, t0, ""); return err }},
		{"IssueTags", func(v Viewer) error { _, err := db.IssueTags(ctx, v, id); return err }},
		{"UpdateIssueStatus", func(v Viewer) error {
			_, err := db.UpdateIssueStatus(ctx, v, id, StatusIgnored, "")
			return err
		}},
		{"ListIssues", func(v Viewer) error {
			issues, _, err := db.ListIssues(ctx, v, IssueFilter{ProjectID: e.project.ID})
			if err == nil && len(issues) == 0 {
				return ErrNotFound
			}
			return err
		}},
		{"ListIssues of every project", func(v Viewer) error {
			issues, _, err := db.ListIssues(ctx, v, IssueFilter{})
			if err == nil && !slices.ContainsFunc(issues, func(i Issue) bool { return i.ID == id }) {
				return ErrNotFound
			}
			return err
		}},
	}
	viewers := []struct {
		name string
		v    Viewer
		want error
	}{
		{"outsider", Viewer{UserID: outsider.ID}, ErrNotFound},
		{"nobody", Viewer{}, ErrNotFound},
		{"member", Viewer{UserID: member.ID}, nil},
		{"admin", Viewer{UserID: outsider.ID, Admin: true}, nil},
	}
	for _, vw := range viewers {
		for _, c := range checks {
			if err := c.do(vw.v); !errors.Is(err, vw.want) {
				t.Errorf("%s as %s: err = %v, want %v", c.name, vw.name, err, vw.want)
			}
		}
	}
	if got := e.issue(id); got.Status != StatusIgnored {
		t.Errorf("status = %s; the member's and admin's updates should have applied", got.Status)
	}
	wantErr(t, "DeleteIssue as outsider", db.DeleteIssue(ctx, Viewer{UserID: outsider.ID}, id), ErrNotFound)
	e.issue(id) // still there
	if err := db.DeleteIssue(ctx, Viewer{UserID: member.ID}, id); err != nil {
		t.Errorf("DeleteIssue as member: %v", err)
	}
}

// testListIssuesEnvironmentCounts: filtered by environment, an issue's
// count is of its events there, and sorting by count and paging go by it.
func testListIssuesEnvironmentCounts(e *env) {
	t := e.t
	x := e.save("x", withEnv("staging")).IssueID
	e.save("x", withEnv("staging"))
	e.save("x", withEnv("staging"))
	e.save("x", withEnv("production"))
	y := e.save("y", withEnv("production")).IssueID
	e.save("y", withEnv("production"))
	p := e.project.ID
	counts := func(f IssueFilter) (ids []int64, n []int64) {
		t.Helper()
		is, _, err := e.db.ListIssues(e.ctx, System, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range is {
			ids, n = append(ids, i.ID), append(n, i.Count)
		}
		return ids, n
	}
	for _, tt := range []struct {
		name      string
		f         IssueFilter
		ids, want []int64
	}{
		{"every environment", IssueFilter{ProjectID: p, Sort: SortCount}, []int64{x, y}, []int64{4, 2}},
		{"production", IssueFilter{ProjectID: p, Sort: SortCount, Environment: "production"}, []int64{y, x}, []int64{2, 1}},
		{"staging", IssueFilter{ProjectID: p, Sort: SortCount, Environment: "staging"}, []int64{x}, []int64{3}},
		{"production by last seen", IssueFilter{ProjectID: p, Environment: "production"}, []int64{y, x}, []int64{2, 1}},
	} {
		if ids, n := counts(tt.f); !slices.Equal(ids, tt.ids) || !slices.Equal(n, tt.want) {
			t.Errorf("%s: issues %v with counts %v, want %v with %v", tt.name, ids, n, tt.ids, tt.want)
		}
	}
	// Pages of one, by the environment's count.
	f := IssueFilter{ProjectID: p, Sort: SortCount, Environment: "production", Limit: 1}
	first, cursor, err := e.db.ListIssues(e.ctx, System, f)
	if err != nil || len(first) != 1 || first[0].ID != y || cursor == "" {
		t.Fatalf("first page %+v, cursor %q, %v", first, cursor, err)
	}
	f.Cursor = cursor
	second, cursor, err := e.db.ListIssues(e.ctx, System, f)
	if err != nil || len(second) != 1 || second[0].ID != x || second[0].Count != 1 || cursor != "" {
		t.Errorf("second page %+v, cursor %q, %v; want x with 1 event and no more", second, cursor, err)
	}
}

func testListIssuesFilters(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	a := e.save("a", withAt(t0.Add(4*time.Minute)), withTitle("TypeError: x is undefined"), withCulprit("app.js in render"),
		withEnv("production"), withRelease("1.0"), withTags("browser", "Chrome", "user.email", "forged@example.com"),
		withSDKUser(event.User{ID: "u-1", Email: "Ada@Example.COM"})).IssueID
	b := e.save("b", withAt(t0.Add(3*time.Minute)), withTitle("ValueError: 100% wrong_value"), withCulprit("api.py in handler"),
		withEnv("staging"), withRelease("2.0"), withLevel("warning"), withTags("browser", "Firefox", "os", "Linux"),
		withSDKUser(event.User{Username: "bob", IPHash: "5f3a"})).IssueID
	c := e.save("c", withAt(t0.Add(time.Minute)), withTitle("Timeout"), withEnv("production")).IssueID
	e.save("c", withAt(t0.Add(2*time.Minute)), withTitle("Timeout: Ошибка в Über-Modul"), withEnv("staging"))
	e.setStatus(c, StatusResolved, "")
	elsewhere := e.saveIn(e.createProject("other").ID, "a", withAt(t0.Add(time.Hour))).IssueID

	p := e.project.ID
	tests := []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		{"all", IssueFilter{ProjectID: p}, []int64{a, b, c}},
		{"every project", IssueFilter{}, []int64{elsewhere, a, b, c}},
		{"status", IssueFilter{ProjectID: p, Status: StatusResolved}, []int64{c}},
		{"environment", IssueFilter{ProjectID: p, Environment: "production"}, []int64{a, c}},
		{"environment seen on a later event", IssueFilter{ProjectID: p, Environment: "staging"}, []int64{b, c}},
		{"release", IssueFilter{ProjectID: p, Release: "2.0"}, []int64{b}},
		{"level", IssueFilter{ProjectID: p, Level: "warning"}, []int64{b}},
		{"query in title, other case", IssueFilter{ProjectID: p, Query: "typeERROR"}, []int64{a}},
		{"query in culprit", IssueFilter{ProjectID: p, Query: "HANDLER"}, []int64{b}},
		// SQLite's LIKE folds ASCII letters only; PostgreSQL's lower() all.
		{"query of other letters, other case", IssueFilter{ProjectID: p, Query: "ОШИБКА в üBER-modul"}, []int64{c}},
		{"query of other letters, no match", IssueFilter{ProjectID: p, Query: "Übel"}, nil},
		{"query with %", IssueFilter{ProjectID: p, Query: "0%"}, []int64{b}},
		{"query of a literal %", IssueFilter{ProjectID: p, Query: "%"}, []int64{b}},
		{"query of a literal _", IssueFilter{ProjectID: p, Query: "_"}, []int64{b}},
		{"query of a backslash", IssueFilter{ProjectID: p, Query: `\`}, nil},
		{"tag", IssueFilter{ProjectID: p, Tags: tagList("browser", "Chrome")}, []int64{a}},
		{"all tags must match", IssueFilter{ProjectID: p, Tags: tagList("browser", "Firefox", "os", "Linux")}, []int64{b}},
		{"a tag that does not match", IssueFilter{ProjectID: p, Tags: tagList("browser", "Firefox", "os", "Windows")}, nil},
		{"implicit tag", IssueFilter{ProjectID: p, Tags: tagList("level", "error")}, []int64{a, c}},
		{"not a tag", IssueFilter{ProjectID: p, NotTags: tagList("browser", "Chrome")}, []int64{b, c}},
		{"not a value some event had", IssueFilter{ProjectID: p, NotTags: tagList("environment", "staging")}, []int64{a}},
		{"has a tag", IssueFilter{ProjectID: p, Has: []string{"browser"}}, []int64{a, b}},
		{"misses a tag", IssueFilter{ProjectID: p, Missing: []string{"os"}}, []int64{a, c}},
		{"all of them", IssueFilter{ProjectID: p, Tags: tagList("environment", "production"), NotTags: tagList("level", "warning"), Has: []string{"browser"}, Missing: []string{"os"}}, []int64{a}},
		// The user's fields are tags; an SDK's own user.email tag gives way
		// to the user's email, in lower case.
		{"user email", IssueFilter{ProjectID: p, Tags: tagList("user.email", "ada@example.com")}, []int64{a}},
		{"a user.email tag the SDK sent", IssueFilter{ProjectID: p, Tags: tagList("user.email", "forged@example.com")}, nil},
		{"user id", IssueFilter{ProjectID: p, Tags: tagList("user.id", "u-1")}, []int64{a}},
		{"user name", IssueFilter{ProjectID: p, Tags: tagList("user.username", "bob")}, []int64{b}},
		{"has a user id", IssueFilter{ProjectID: p, Has: []string{"user.id"}}, []int64{a}},
		{"since", IssueFilter{ProjectID: p, Since: t0.Add(3 * time.Minute)}, []int64{a, b}},
		{"combined", IssueFilter{ProjectID: p, Environment: "production", Status: StatusUnresolved, Query: "error"}, []int64{a}},
		{"first seen order", IssueFilter{ProjectID: p, Sort: SortFirstSeen}, []int64{a, b, c}},
		{"count order", IssueFilter{ProjectID: p, Sort: SortCount}, []int64{c, b, a}},
	}
	// PostgreSQL folds letters beyond ASCII as the database's LC_CTYPE
	// does: C.UTF-8 and en_US.UTF-8 (RDS's default) fold them, C does not.
	folds := true
	if db.Dialect() == DialectPostgres {
		if err := db.db.QueryRowContext(ctx, `SELECT lower('ÜБ') = 'üб'`).Scan(&folds); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		if !folds && strings.HasPrefix(tt.name, "query of other letters") {
			t.Logf("%s: skipped, the database's LC_CTYPE folds ASCII letters only", tt.name)
			continue
		}
		if got := e.listAll(System, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if none, _, err := db.ListIssues(ctx, System, IssueFilter{ProjectID: p, Query: "nothing matches"}); err != nil || none == nil {
		t.Errorf("empty page = %#v, %v; want an empty slice, which encodes as a JSON array", none, err)
	}
	_, _, err := db.ListIssues(ctx, System, IssueFilter{Sort: "title"})
	wantErr(t, "unknown sort", err, ErrInvalid)
	_, _, err = db.ListIssues(ctx, System, IssueFilter{Status: "open"})
	wantErr(t, "unknown status", err, ErrInvalid)
}

// pageIDs are the IDs of a page's issues, in order.
func pageIDs(issues []Issue) []int64 {
	ids := make([]int64, len(issues))
	for i, is := range issues {
		ids[i] = is.ID
	}
	return ids
}

func testListIssuesPaging(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	// Few distinct times and counts, so many issues share a sort value
	// and only the ID tiebreak orders them.
	const n = 105
	for i := range n {
		fp := fmt.Sprintf("fp-%03d", i)
		for j := range 1 + i%4 {
			e.save(fp, withAt(t0.Add(time.Duration(i%3+j%2)*time.Minute)))
		}
	}
	all, _, err := db.ListIssues(ctx, System, IssueFilter{ProjectID: e.project.ID, Limit: 1000})
	if err != nil || len(all) != MaxLimit {
		t.Fatalf("ListIssues with limit 1000: %d issues, %v; want %d", len(all), err, MaxLimit)
	}
	def, _, _ := db.ListIssues(ctx, System, IssueFilter{ProjectID: e.project.ID})
	if len(def) != DefaultLimit {
		t.Errorf("default page: %d issues, want %d", len(def), DefaultLimit)
	}

	var issues []Issue
	for _, id := range e.listAll(System, IssueFilter{ProjectID: e.project.ID, Limit: MaxLimit}) {
		issues = append(issues, e.issue(id))
	}
	sortValue := map[string]func(Issue) int64{
		SortLastSeen:  func(i Issue) int64 { return i.LastSeen.UnixMilli() },
		SortFirstSeen: func(i Issue) int64 { return i.FirstSeen.UnixMilli() },
		SortCount:     func(i Issue) int64 { return i.Count },
	}
	for sort, value := range sortValue {
		want := slices.Clone(issues)
		slices.SortFunc(want, func(a, b Issue) int {
			if va, vb := value(a), value(b); va != vb {
				return int(vb - va)
			}
			return int(b.ID - a.ID)
		})
		var wantIDs []int64
		for _, i := range want {
			wantIDs = append(wantIDs, i.ID)
		}
		for _, limit := range []int{1, 7, 25} {
			got := e.listAll(System, IssueFilter{ProjectID: e.project.ID, Sort: sort, Limit: limit})
			if !slices.Equal(got, wantIDs) {
				t.Errorf("sort %s, limit %d: pages give %v\nwant %v", sort, limit, got, wantIDs)
			}
		}
	}

	// Previous pages: from the last page, each Prev gives the pages read
	// forwards, in reverse, to the first, which has none; a page reached
	// backwards has a Next that goes forwards again.
	for sort := range sortValue {
		for _, limit := range []int{1, 7, 25} {
			f := IssueFilter{ProjectID: e.project.ID, Sort: sort, Limit: limit}
			var forward [][]int64
			var p IssuePage
			for {
				var err error
				if p, err = db.ListIssuesPage(ctx, System, f); err != nil {
					t.Fatalf("sort %s, limit %d: %v", sort, limit, err)
				}
				if (f.Cursor == "") != (p.Prev == "") {
					t.Errorf("sort %s, limit %d: page after %q has previous page %q", sort, limit, f.Cursor, p.Prev)
				}
				forward = append(forward, pageIDs(p.Issues))
				if p.Next == "" {
					break
				}
				f.Cursor = p.Next
			}
			for i := len(forward) - 2; i >= 0; i-- {
				f.Cursor = p.Prev
				back, err := db.ListIssuesPage(ctx, System, f)
				if err != nil || !slices.Equal(pageIDs(back.Issues), forward[i]) || (i == 0) != (back.Prev == "") {
					t.Fatalf("sort %s, limit %d: page %d read backwards = %v, prev %q, %v; want %v", sort, limit, i,
						pageIDs(back.Issues), back.Prev, err, forward[i])
				}
				f.Cursor = back.Next
				if again, err := db.ListIssuesPage(ctx, System, f); err != nil || !slices.Equal(pageIDs(again.Issues), forward[i+1]) {
					t.Fatalf("sort %s, limit %d: the next page of page %d read backwards = %v, %v; want %v", sort, limit, i,
						pageIDs(again.Issues), err, forward[i+1])
				}
				p = back
			}
		}
	}

	// A previous page with nothing left in it (the issues before the
	// cursor resolved or deleted since it was made) is the first page,
	// which leads on, not an empty page with no way back (QA).
	top := def[0]
	f := IssueFilter{ProjectID: e.project.ID, Cursor: encodeBeforeCursor("last_seen", top.LastSeen.UnixMilli(), top.ID)}
	if p, err := db.ListIssuesPage(ctx, System, f); err != nil || !slices.Equal(pageIDs(p.Issues), pageIDs(def)) || p.Prev != "" || p.Next == "" {
		t.Errorf("previous page of the first = %v, prev %q, next %q, %v; want the first page %v", pageIDs(p.Issues), p.Prev, p.Next, err, pageIDs(def))
	}

	// The total counts up to its cap, whatever the cursor and page size.
	for _, tt := range []struct {
		f    IssueFilter
		max  int
		want int
	}{
		{IssueFilter{ProjectID: e.project.ID}, 10000, n},
		{IssueFilter{ProjectID: e.project.ID, Limit: 3, Cursor: encodeCursor("last_seen", def[0].LastSeen.UnixMilli(), def[0].ID)}, 10000, n},
		{IssueFilter{ProjectID: e.project.ID}, 10, 10},
		{IssueFilter{ProjectID: e.project.ID, Query: "nothing like it"}, 10, 0},
		{IssueFilter{ProjectID: e.project.ID + 100}, 10, 0},
	} {
		if got, err := db.CountIssues(ctx, System, tt.f, tt.max); err != nil || got != tt.want {
			t.Errorf("CountIssues(%+v, %d) = %d, %v; want %d", tt.f, tt.max, got, err, tt.want)
		}
	}
	if got, err := db.CountIssues(ctx, Viewer{UserID: 1 << 40}, IssueFilter{ProjectID: e.project.ID}, 10); err != nil || got != 0 {
		t.Errorf("CountIssues as a stranger = %d, %v; want 0", got, err)
	}

	// An issue created after the first page was read lands before the
	// cursor: later pages neither repeat nor skip the others.
	f = IssueFilter{ProjectID: e.project.ID, Limit: 10}
	page, next, err := db.ListIssues(ctx, System, f)
	if err != nil || next == "" {
		t.Fatalf("first page: %v, cursor %q", err, next)
	}
	e.save("brand-new", withAt(t0.Add(time.Hour)))
	f.Cursor = next
	ids := e.listAll(System, f)
	for _, i := range page {
		ids = append(ids, i.ID)
	}
	if len(ids) != n || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != n {
		t.Errorf("paging across writes returned %d IDs (%d distinct), want the %d original issues once", len(ids),
			len(slices.Compact(slices.Sorted(slices.Values(ids)))), n)
	}

	for _, tt := range []struct{ name, cursor string }{
		{"not base64", "***"},
		{"not a cursor", "aGVsbG8"},
		{"another sort's cursor", encodeCursor("count", 3, 4)},
		{"events cursor", encodeCursor(eventsOrder, 3, 4)},
		{"truncated", encodeCursor("last_seen", 3, 4)[:10]},
		{"non-numeric", base64.RawURLEncoding.EncodeToString([]byte("last_seen:x:1"))},
		{"not a previous page", base64.RawURLEncoding.EncodeToString([]byte("last_seen:3:4:after"))},
	} {
		_, _, err := db.ListIssues(ctx, System, IssueFilter{ProjectID: e.project.ID, Cursor: tt.cursor})
		wantErr(t, tt.name, err, ErrBadCursor)
		wantErr(t, tt.name, err, ErrInvalid)
	}
}

func testListEvents(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	// Two events share each time: insertion order breaks the tie.
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("ev-%d", i)
		e.save("fp", withID(id), withAt(t0.Add(time.Duration(i/2)*time.Minute)))
		want = append([]string{id}, want...)
	}
	issue := e.issue(e.save("fp", withAt(t0.Add(10*time.Minute))).IssueID)
	want = append([]string{issue.LatestEventID}, want...)
	e.save("other")

	var got []string
	var cursor string
	for page := 0; ; page++ {
		events, next, err := db.ListEvents(ctx, System, issue.ID, cursor, 3, "")
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if next != "" && len(events) != 3 {
			t.Errorf("page %d has %d events and a next page", page, len(events))
		}
		for _, ev := range events {
			if ev.Payload != nil || ev.IssueID != issue.ID || ev.ProjectID != e.project.ID || ev.Title != issue.Title {
				t.Errorf("listed event %+v", ev)
			}
			got = append(got, ev.EventID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListEvents pages = %v, want %v", got, want)
	}
	if all, _, _ := db.ListEvents(ctx, System, issue.ID, "", 0, ""); len(all) != len(want) {
		t.Errorf("default page has %d events, want %d", len(all), len(want))
	}
	_, _, err := db.ListEvents(ctx, System, issue.ID, encodeCursor("last_seen", 1, 1), 3, "")
	wantErr(t, "issues cursor for events", err, ErrBadCursor)
	// Events page forwards only.
	_, _, err = db.ListEvents(ctx, System, issue.ID, encodeBeforeCursor(eventsOrder, 1, 1), 3, "")
	wantErr(t, "previous-page cursor for events", err, ErrBadCursor)
	_, _, err = db.ListEvents(ctx, System, issue.ID+100, "", 3, "")
	wantErr(t, "ListEvents of a missing issue", err, ErrNotFound)

	latest, err := db.LatestEvent(ctx, System, issue.ID, "")
	if err != nil || latest.EventID != want[0] || len(latest.Payload) == 0 {
		t.Errorf("LatestEvent = %s (%d bytes), %v; want %s with payload", latest.EventID, len(latest.Payload), err, want[0])
	}
	_, err = db.GetEvent(ctx, System, "no-such-event")
	wantErr(t, "GetEvent of a missing event", err, ErrNotFound)
}

func testUpdateIssueStatus(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	id := e.save("fp").IssueID
	e.createRelease("2.0")
	steps := []struct {
		status, release string
		err             error
		wantIn          string
	}{
		{status: StatusResolved, release: "2.0", wantIn: "2.0"},
		{status: StatusIgnored, release: "2.0", err: ErrInvalid, wantIn: "2.0"},
		{status: "closed", err: ErrInvalid, wantIn: "2.0"},
		{status: StatusResolved, release: strings.Repeat("r", MaxTagLength+1), err: ErrInvalid, wantIn: "2.0"},
		{status: StatusResolved, release: "bad\x00", err: ErrInvalid, wantIn: "2.0"},
		{status: StatusResolved, release: "web/2.1", err: ErrInvalid, wantIn: "2.0"},
		{status: StatusResolved, release: "2.1\x1b[2J", err: ErrInvalid, wantIn: "2.0"},
		{status: StatusResolved, release: "2.1", err: ErrInvalid, wantIn: "2.0"},
		{status: StatusIgnored},
		{status: StatusResolved},
		{status: StatusUnresolved},
	}
	for _, s := range steps {
		got, err := db.UpdateIssueStatus(ctx, System, id, s.status, s.release)
		if !errors.Is(err, s.err) {
			t.Errorf("UpdateIssueStatus(%s, %.10q): err = %v, want %v", s.status, s.release, err, s.err)
		}
		if err == nil && (got.Status != s.status || got.ResolvedInRelease != s.wantIn || got.Count != 1) {
			t.Errorf("UpdateIssueStatus(%s, %q) = %+v", s.status, s.release, got)
		}
		if stored := e.issue(id); stored.ResolvedInRelease != s.wantIn {
			t.Errorf("after UpdateIssueStatus(%s, %.10q): resolved in %q, want %q", s.status, s.release, stored.ResolvedInRelease, s.wantIn)
		}
	}
	_, err := db.UpdateIssueStatus(ctx, System, id+100, StatusResolved, "")
	wantErr(t, "UpdateIssueStatus of a missing issue", err, ErrNotFound)
}

func testDeleteIssue(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	id := e.save("fp", withID("doomed"), withTags("k", "v"), withUser("u"), withEnv("production")).IssueID
	e.save("fp", withUser("u2"))
	keep := e.save("keep", withTags("k", "v"), withUser("u"), withEnv("production")).IssueID
	if err := db.DeleteIssue(ctx, System, id); err != nil {
		t.Fatal(err)
	}
	_, err := db.GetIssue(ctx, System, id)
	wantErr(t, "GetIssue after delete", err, ErrNotFound)
	_, err = db.GetEvent(ctx, System, "doomed")
	wantErr(t, "GetEvent after delete", err, ErrNotFound)
	wantErr(t, "second delete", db.DeleteIssue(ctx, System, id), ErrNotFound)
	for _, table := range []string{"events", "issue_counts", "issue_tags", "issue_tag_keys", "issue_users",
		"issue_environments", "issue_environment_users", "issue_environment_counts"} {
		if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE issue_id = $1`, id); n != 0 {
			t.Errorf("%s keeps %d rows of the deleted issue", table, n)
		}
		if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE issue_id = $1`, keep); n == 0 {
			t.Errorf("%s lost the other issue's rows", table)
		}
	}
	if res := e.save("fp"); !res.NewIssue || res.IssueID == id {
		t.Errorf("event after delete: %+v, want a new issue", res)
	}
}

func testPrune(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	now := t0.Add(24 * time.Hour)
	// busy: 10 recent events. stale: 3 events received two days ago.
	// skewed: its newest event (by its own clock) arrived long ago.
	var busy, stale, skewed int64
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		busy = e.save("busy", withID(fmt.Sprintf("busy-%d", i)), withAt(at), withRcv(at)).IssueID
	}
	for i := range 3 {
		at := now.Add(-48*time.Hour + time.Duration(i)*time.Minute)
		stale = e.save("stale", withAt(at), withRcv(at)).IssueID
	}
	skewed = e.save("skewed", withID("skewed-late"), withAt(now.Add(time.Hour)), withRcv(now.Add(-48*time.Hour))).IssueID
	e.save("skewed", withID("skewed-ok"), withAt(now.Add(-time.Hour)), withRcv(now.Add(-time.Hour)))
	if e.issue(skewed).LatestEventID != "skewed-late" {
		t.Fatal("setup: the skewed issue's latest event should be the late one")
	}

	steps := []struct {
		name        string
		maxAge      time.Duration
		maxPerIssue int
		deleted     int64
		latest      map[int64]string
		stored      map[int64]int64
	}{
		{"disabled", 0, 0, 0,
			map[int64]string{skewed: "skewed-late"}, map[int64]int64{busy: 10, stale: 3, skewed: 2}},
		{"by age", 30 * time.Hour, 0, 4,
			map[int64]string{busy: "busy-9", stale: "", skewed: "skewed-ok"}, map[int64]int64{busy: 10, stale: 0, skewed: 1}},
		{"per issue", 0, 4, 6,
			map[int64]string{busy: "busy-9"}, map[int64]int64{busy: 4, skewed: 1}},
		{"again", 30 * time.Hour, 4, 0,
			map[int64]string{busy: "busy-9"}, map[int64]int64{busy: 4}},
	}
	for _, s := range steps {
		n, err := db.Prune(ctx, now, s.maxAge, s.maxPerIssue)
		if err != nil || n != s.deleted {
			t.Errorf("%s: Prune = %d, %v; want %d", s.name, n, err, s.deleted)
		}
		for id, want := range s.latest {
			if got := e.issue(id).LatestEventID; got != want {
				t.Errorf("%s: issue %d latest event %q, want %q", s.name, id, got, want)
			}
		}
		for id, want := range s.stored {
			if got := e.count(`SELECT COUNT(*) FROM events WHERE issue_id = $1`, id); got != want {
				t.Errorf("%s: issue %d has %d events, want %d", s.name, id, got, want)
			}
		}
	}
	events, _, _ := db.ListEvents(ctx, System, busy, "", 0, "")
	var kept []string
	for _, ev := range events {
		kept = append(kept, ev.EventID)
	}
	if want := []string{"busy-9", "busy-8", "busy-7", "busy-6"}; !slices.Equal(kept, want) {
		t.Errorf("busy keeps %v, want the newest %v", kept, want)
	}
	for id, want := range map[int64]int64{busy: 10, stale: 3, skewed: 2} {
		if got := e.issue(id).Count; got != want {
			t.Errorf("issue %d count %d after pruning, want %d", id, got, want)
		}
	}
	_, err := db.LatestEvent(ctx, System, stale, "")
	wantErr(t, "LatestEvent of a fully pruned issue", err, ErrNotFound)
}

func testConcurrentSameIssue(e *env) {
	t := e.t
	const workers, each = 8, 25
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		newIssue int
		issueIDs = map[int64]bool{}
	)
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				at := t0.Add(time.Duration(w*each+i) * time.Second)
				res, err := e.db.SaveEvent(e.ctx, request(e.project.ID, "hot", withAt(at), withUser(fmt.Sprintf("user-%d", w))))
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				issueIDs[res.IssueID] = true
				if res.NewIssue {
					newIssue++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(issueIDs) != 1 || newIssue != 1 {
		t.Fatalf("saves reported issues %v, %d of them new; want one issue created once", issueIDs, newIssue)
	}
	for id := range issueIDs {
		i := e.issue(id)
		if i.Count != workers*each || i.UserCount != workers {
			t.Errorf("count %d, users %d; want %d, %d", i.Count, i.UserCount, workers*each, workers)
		}
		if n := e.count(`SELECT COALESCE(SUM(count), 0) FROM issue_counts WHERE issue_id = $1`, id); n != workers*each {
			t.Errorf("hourly counts sum to %d, want %d", n, workers*each)
		}
		if want := t0.Add((workers*each - 1) * time.Second); !i.LastSeen.Equal(want) || !i.FirstSeen.Equal(t0) {
			t.Errorf("seen %v..%v, want %v..%v", i.FirstSeen, i.LastSeen, t0, want)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM issues`); n != 1 {
		t.Errorf("%d issues, want 1", n)
	}
}

func testConcurrentSameEvent(e *env) {
	t := e.t
	const workers = 8
	req := request(e.project.ID, "fp", withUser("u"), withTags("k", "v"))
	results := make([]SaveResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { results[w], errs[w] = e.db.SaveEvent(e.ctx, req) })
	}
	wg.Wait()
	stored := 0
	for w, res := range results {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		if !res.Duplicate {
			stored++
		}
		if res.IssueID != results[0].IssueID {
			t.Errorf("worker %d got issue %d, worker 0 issue %d", w, res.IssueID, results[0].IssueID)
		}
	}
	if stored != 1 {
		t.Errorf("%d saves stored the event, want 1", stored)
	}
	i := e.issue(results[0].IssueID)
	if i.Count != 1 || i.UserCount != 1 {
		t.Errorf("count %d, users %d; want 1, 1", i.Count, i.UserCount)
	}
	for q, want := range map[string]int64{
		`SELECT COUNT(*) FROM events`:                                    1,
		`SELECT COUNT(*) FROM issues`:                                    1,
		`SELECT COALESCE(SUM(count), 0) FROM issue_tags WHERE key = 'k'`: 1,
	} {
		if n := e.count(q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
}

func testPayload(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	yes := true
	ev := &event.Event{
		EventID: "0123456789abcdef0123456789abcdef", ProjectID: e.project.ID, Source: event.SourceFlytrap,
		Timestamp: t0.Add(123456789 * time.Nanosecond), Received: t0.Add(time.Second),
		Platform: "javascript", Level: "fatal", Message: "héllo wörld ✓", Release: "web@1.2.3", Environment: "prod",
		Tags: tagList("browser", "Firefox"),
		User: &event.User{ID: "42", IPHash: "abc"},
		Exceptions: []event.Exception{{
			Type: "TypeError", Value: "x is undefined", Mechanism: &event.Mechanism{Type: "onerror", Handled: &yes},
			Frames: []event.Frame{{Filename: "app.js", Function: "render", Lineno: 10, Colno: 5, InApp: &yes,
				PreContext: []string{"a", "b"}, ContextLine: "boom()"}},
		}},
		Breadcrumbs: []event.Breadcrumb{{Timestamp: t0, Category: "ui.click", Message: "button"}},
		Request:     &event.Request{Method: "GET", URL: "https://example.com/?q=1", Headers: [][2]string{{"Accept", "*/*"}}},
		Contexts:    json.RawMessage(`{"os":{"name":"Linux"}}`),
		Extra:       json.RawMessage(`{"big":"` + strings.Repeat("x", 100000) + `"}`),
		SDK:         &event.SDK{Name: "sentry.javascript.browser", Version: "8.0.0"},
		Notes:       []string{"no source map for app.js"},
	}
	before, _ := json.Marshal(ev)
	res, err := db.SaveEvent(ctx, SaveRequest{Event: ev, Fingerprint: "fp", Title: ev.Title(), Culprit: ev.Culprit()})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(ev); !bytes.Equal(before, after) {
		t.Error("SaveEvent changed the caller's event")
	}
	got, err := db.GetEvent(ctx, System, ev.EventID)
	if err != nil {
		t.Fatal(err)
	}
	var decoded event.Event
	if err := json.Unmarshal(got.Payload, &decoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&decoded, ev) {
		t.Errorf("payload round trip changed the event:\n got %s\nwant %s", got.Payload, before)
	}
	wantRow := EventRow{
		EventID: ev.EventID, ProjectID: e.project.ID, IssueID: res.IssueID,
		Timestamp: t0.Add(123 * time.Millisecond), Received: t0.Add(time.Second),
		Title: "TypeError: x is undefined", Level: "fatal", Release: "web@1.2.3", Environment: "prod", Payload: got.Payload,
	}
	if !reflect.DeepEqual(got, wantRow) {
		t.Errorf("GetEvent =\n %+v\nwant %+v", got, wantRow)
	}
	var stored []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT payload FROM events`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if inflated, err := decompress(stored); err != nil || !bytes.HasPrefix(stored, zstdMagic) || !bytes.Equal(inflated, got.Payload) || len(stored) > len(before)/4 {
		t.Errorf("stored payload is %d bytes of %d and not a zstd frame of the event (%v)", len(stored), len(before), err)
	}
	// A row an earlier version wrote as raw DEFLATE reads the same.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE events SET payload = $1 WHERE event_id = $2`, deflate(t, got.Payload), ev.EventID); err != nil {
		t.Fatal(err)
	}
	if old, err := db.GetEvent(ctx, System, ev.EventID); err != nil || !bytes.Equal(old.Payload, got.Payload) {
		t.Errorf("DEFLATE row: GetEvent = %d bytes, %v; want the event back", len(old.Payload), err)
	}

	// Defaults chosen by SaveEvent are written into the payload.
	bare := request(e.project.ID, "bare", withAt(time.Time{}), withRcv(time.Time{}), withLevel(""))
	if _, err := db.SaveEvent(ctx, bare); err != nil {
		t.Fatal(err)
	}
	got, err = db.GetEvent(ctx, System, bare.Event.EventID)
	if err != nil {
		t.Fatal(err)
	}
	decoded = event.Event{}
	json.Unmarshal(got.Payload, &decoded)
	if decoded.Timestamp.IsZero() || decoded.Timestamp.UnixMilli() != got.Timestamp.UnixMilli() || decoded.Level != "error" || got.Level != "error" {
		t.Errorf("event without time and level: row %+v, payload time %v level %q", got, decoded.Timestamp, decoded.Level)
	}
	if time.Since(got.Timestamp) > time.Minute {
		t.Errorf("event without time stored at %v, want about now", got.Timestamp)
	}
}

func testUntrustedText(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	long := strings.Repeat("é", MaxTagLength+50)
	longKey := strings.Repeat("z", MaxTagLength+50)
	res := e.save("fp\x00"+strings.Repeat("f", 500),
		withTitle("bad \x00 byte \xff"), withRelease("r\x00"), withEnv(long), withUser(strings.Repeat("u", 1000)),
		withTags("k\xff", "v\x00", longKey, long))
	i := e.issue(res.IssueID)
	if i.Title != "bad  byte \uFFFD" || i.LastRelease != "r" || i.UserCount != 1 {
		t.Errorf("issue from untrusted text: %+v", i)
	}
	if again := e.save("fp\x00" + strings.Repeat("f", 500)); again.IssueID != res.IssueID {
		t.Error("a long fingerprint did not group with itself")
	}
	tags, err := db.IssueTags(ctx, System, res.IssueID)
	if err != nil {
		t.Fatal(err)
	}
	cut := strings.Repeat("é", MaxTagLength)
	want := []TagCount{{Key: "environment", Value: cut, Count: 1}, {Key: "k\uFFFD", Value: "v", Count: 1}, {Key: "level", Value: "error", Count: 2}, {Key: "release", Value: "r", Count: 1},
		{Key: longKey[:MaxTagLength], Value: cut, Count: 1}}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("IssueTags = %+v\nwant %+v", tags, want)
	}
	// Filters are cut like stored values, so the full value still matches.
	found := e.listAll(System, IssueFilter{ProjectID: e.project.ID, Environment: long, Tags: tagList(longKey, long)})
	if !slices.Equal(found, []int64{res.IssueID}) {
		t.Errorf("filtering by the long values found %v", found)
	}
}

// testEventIDPerProject is the event ID shadowing attack: whoever holds one
// project's ingest key posts an event reusing another project's event ID.
// Neither event may be dropped as the other's duplicate, and no lookup may
// show one in place of the other.
func testEventIDPerProject(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	// The attacker's project has the lower ID, which unscoped lookups used
	// to prefer.
	attacker := e.project
	victim := e.createProject("victim")
	member := e.createUser("victim-member@example.com", RoleMember)
	e.addMember(victim, member)
	attackerMember := e.createUser("attacker-member@example.com", RoleMember)
	e.addMember(attacker, attackerMember)
	outsider := e.createUser("outsider@example.com", RoleMember)

	// "first" reaches the victim before the attacker reuses it; "second"
	// is reused before the victim's real event arrives.
	real := e.saveIn(victim.ID, "fp", withID("first"), withTitle("real"))
	fake := e.saveIn(attacker.ID, "fp", withID("first"), withTitle("attacker text"))
	if fake.Duplicate || !fake.NewIssue || fake.IssueID == real.IssueID {
		t.Errorf("attacker's reuse of the victim's ID: %+v, want a new event in its own issue", fake)
	}
	early := e.saveIn(attacker.ID, "fp", withID("second"), withTitle("attacker text"))
	late := e.saveIn(victim.ID, "fp", withID("second"), withTitle("real"))
	if late.Duplicate || late.IssueID != real.IssueID || early.IssueID != fake.IssueID {
		t.Errorf("victim's event after the attacker's: %+v, want stored in issue %d", late, real.IssueID)
	}
	if again := e.saveIn(victim.ID, "fp", withID("first")); again != (SaveResult{IssueID: real.IssueID, Duplicate: true}) {
		t.Errorf("redelivery to the victim = %+v, want a duplicate of issue %d", again, real.IssueID)
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, victim.ID); n != 2 {
		t.Errorf("victim's project holds %d events, want 2", n)
	}
	// The schema itself holds an event ID once per project, whatever a
	// later writer forgets to check.
	insert := func(id string) error {
		_, err := db.SQL().ExecContext(ctx, `INSERT INTO events (project_id, issue_id, event_id, occurred_at, received_at, title, level, release_name, environment, payload)
			VALUES ($1, $2, $3, 0, 0, 'copy', 'error', '', '', $4)`, victim.ID, real.IssueID, id, []byte{})
		return err
	}
	if err := insert("raw-insert"); err != nil {
		t.Fatalf("raw insert of a new event ID: %v", err)
	}
	err := insert("first")
	if err == nil {
		t.Error("a second row for (victim, first) was inserted; want a unique violation")
	}

	victimV, attackerV := Viewer{UserID: member.ID}, Viewer{UserID: attackerMember.ID}
	for _, id := range []string{"first", "second"} {
		lookups := []struct {
			name      string
			get       func() (EventRow, error)
			project   int64
			wantTitle string
		}{
			{"GetProjectEvent(victim) as admin", func() (EventRow, error) { return db.GetProjectEvent(ctx, System, victim.ID, id) }, victim.ID, "real"},
			{"GetProjectEvent(victim) as member", func() (EventRow, error) { return db.GetProjectEvent(ctx, victimV, victim.ID, id) }, victim.ID, "real"},
			{"GetProjectEvent(attacker) as admin", func() (EventRow, error) { return db.GetProjectEvent(ctx, System, attacker.ID, id) }, attacker.ID, "attacker text"},
			{"GetIssueEvent(victim's) as admin", func() (EventRow, error) { return db.GetIssueEvent(ctx, System, real.IssueID, id) }, victim.ID, "real"},
			{"GetIssueEvent(victim's) as member", func() (EventRow, error) { return db.GetIssueEvent(ctx, victimV, real.IssueID, id) }, victim.ID, "real"},
			{"GetIssueEvent(attacker's) as admin", func() (EventRow, error) { return db.GetIssueEvent(ctx, System, fake.IssueID, id) }, attacker.ID, "attacker text"},
			{"GetEvent as the victim's member", func() (EventRow, error) { return db.GetEvent(ctx, victimV, id) }, victim.ID, "real"},
			{"GetEvent as the attacker's member", func() (EventRow, error) { return db.GetEvent(ctx, attackerV, id) }, attacker.ID, "attacker text"},
		}
		for _, l := range lookups {
			got, err := l.get()
			if err != nil || got.ProjectID != l.project || got.Title != l.wantTitle || got.EventID != id || len(got.Payload) == 0 {
				t.Errorf("%s(%s) = project %d %q, %v; want project %d %q with payload", l.name, id, got.ProjectID, got.Title, err, l.project, l.wantTitle)
			}
		}
		_, err := db.GetEvent(ctx, System, id)
		wantErr(t, "GetEvent of an ID in two projects as admin", err, ErrAmbiguous)
		// The error names the projects, in ID order, to look in instead.
		var amb *AmbiguousEventError
		want := []int64{victim.ID, attacker.ID}
		slices.Sort(want)
		if !errors.As(err, &amb) || amb.EventID != id || !slices.Equal(amb.ProjectIDs, want) {
			t.Errorf("GetEvent(%s) as admin = %v, want an AmbiguousEventError naming projects %v", id, err, want)
		}
		_, err = db.GetProjectEvent(ctx, attackerV, victim.ID, id)
		wantErr(t, "GetProjectEvent of the victim as the attacker", err, ErrNotFound)
		_, err = db.GetIssueEvent(ctx, attackerV, real.IssueID, id)
		wantErr(t, "GetIssueEvent of the victim's issue as the attacker", err, ErrNotFound)
		_, err = db.GetEvent(ctx, Viewer{UserID: outsider.ID}, id)
		wantErr(t, "GetEvent as an outsider", err, ErrNotFound)
	}

	// An issue of the same project answers only for its own events.
	other := e.saveIn(victim.ID, "other-fp", withID("third"))
	_, err = db.GetIssueEvent(ctx, System, real.IssueID, "third")
	wantErr(t, "GetIssueEvent of another issue's event", err, ErrNotFound)
	if got, err := db.GetIssueEvent(ctx, System, other.IssueID, "third"); err != nil || got.IssueID != other.IssueID {
		t.Errorf("GetIssueEvent(third) = %+v, %v", got, err)
	}
	_, err = db.GetProjectEvent(ctx, System, attacker.ID, "third")
	wantErr(t, "GetProjectEvent in a project without the event", err, ErrNotFound)
	if got, err := db.GetEvent(ctx, System, "third"); err != nil || got.ProjectID != victim.ID {
		t.Errorf("GetEvent of an unambiguous ID = project %d, %v; want %d", got.ProjectID, err, victim.ID)
	}
}

// testPruneHistory: PruneHistory deletes the dead letters, settled alert
// notifications (with their attempts and recipients) and hourly counts,
// overall and per environment, older than its age, in batches, and keeps what is newer, pending alerts
// whatever their age, and the issues' totals.
func testPruneHistory(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	now := t0.Add(100 * 24 * time.Hour)
	maxAge := 30 * 24 * time.Hour
	old, recent := millis(now.Add(-maxAge-time.Hour)), millis(now.Add(-maxAge+time.Hour))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// More old dead letters than one batch.
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*pruneBatch + 10 {
		at := old
		if i%100 == 0 {
			at = recent // 11 recent ones among them
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO queue_dead (id, body, attempts, reason, enqueued_at, died_at)
			VALUES ($1, $2, 5, 'boom', $3, $3)`, i+1, []byte("{}"), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Notifications: settled and old (pruned), settled and recent, and
	// pending or sending and old (kept: still the outbox).
	notes := []struct {
		status string
		at     int64
		pruned bool
	}{
		{"sent", old, true}, {"dead", old, true}, {"sent", recent, false}, {"dead", recent, false},
		{"pending", old, false}, {"sending", old, false},
	}
	for i, n := range notes {
		key := fmt.Sprintf("history-%d", i)
		exec(`INSERT INTO alert_notifications (project_id, issue_id, rule_id, channel_id, reason, idempotency_key, payload,
			status, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at)
			VALUES ($1, 0, 0, 0, 'new_issue', $2, '{}', $3, 1, $4, 0, '', $4, 0)`, e.project.ID, key, n.status, n.at)
		var id int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM alert_notifications WHERE idempotency_key = $1`, key).Scan(&id); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO alert_attempts (notification_id, attempt, started_at, finished_at, outcome, error) VALUES ($1, 1, $2, $2, 'sent', '')`, id, n.at)
		exec(`INSERT INTO alert_recipients (notification_id, address, error, settled_at) VALUES ($1, 'a@example.com', '', $2)`, id, n.at)
	}
	// Hourly counts: two old hours and one recent hour of one issue, in
	// one environment, so with as many of the environment's and of the
	// project's.
	var issue int64
	for i, at := range []time.Time{now.Add(-maxAge - 3*time.Hour), now.Add(-maxAge - 2*time.Hour), now.Add(-time.Hour)} {
		issue = e.save("history", withID(fmt.Sprintf("history-%d", i)), withAt(at), withRcv(at), withEnv("production")).IssueID
	}

	got, err := db.PruneHistory(ctx, now, 0)
	if err != nil || got.Total() != 0 {
		t.Errorf("PruneHistory with no age = %+v, %v; want nothing deleted", got, err)
	}
	got, err = db.PruneHistory(ctx, now, maxAge)
	if want := (HistoryPruned{DeadLetters: 2*pruneBatch + 10 - 11, Notifications: 2, HourlyCounts: 6}); err != nil || got != want {
		t.Errorf("PruneHistory = %+v, %v; want %+v", got, err, want)
	}
	if n := e.count(`SELECT COUNT(*) FROM queue_dead`); n != 11 {
		t.Errorf("%d dead letters left, want the 11 recent ones", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM queue_dead WHERE died_at < $1`, millis(now.Add(-maxAge))); n != 0 {
		t.Errorf("%d old dead letters left", n)
	}
	for i, n := range notes {
		left := e.count(`SELECT COUNT(*) FROM alert_notifications WHERE idempotency_key = $1`, fmt.Sprintf("history-%d", i))
		if want := map[bool]int64{true: 0, false: 1}[n.pruned]; left != want {
			t.Errorf("%s notification of %d: %d left, want %d", n.status, n.at, left, want)
		}
	}
	for _, table := range []string{"alert_attempts", "alert_recipients"} {
		if n := e.count(`SELECT COUNT(*) FROM ` + table + ` WHERE notification_id NOT IN (SELECT id FROM alert_notifications)`); n != 0 {
			t.Errorf("%d %s left of deleted notifications", n, table)
		}
		if n := e.count(`SELECT COUNT(*) FROM ` + table); n != 4 {
			t.Errorf("%d %s left, want those of the 4 kept notifications", n, table)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM issue_counts WHERE issue_id = $1`, issue); n != 1 {
		t.Errorf("issue has %d hourly counts left, want the recent hour's", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM issue_environment_counts WHERE issue_id = $1`, issue); n != 1 {
		t.Errorf("issue has %d hourly counts in its environment left, want the recent hour's", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM project_counts WHERE project_id = $1`, e.project.ID); n != 1 {
		t.Errorf("project has %d hourly counts left, want the recent hour's", n)
	}
	if is := e.issue(issue); is.Count != 3 {
		t.Errorf("issue count %d after pruning its hourly counts, want 3", is.Count)
	}
	if is, err := db.GetIssueIn(ctx, System, issue, "production"); err != nil || is.Count != 3 {
		t.Errorf("issue count in its environment %d, %v after pruning its hourly counts, want 3", is.Count, err)
	}
	if got, err := db.PruneHistory(ctx, now, maxAge); err != nil || got.Total() != 0 {
		t.Errorf("PruneHistory again = %+v, %v; want nothing", got, err)
	}
}
