package store

func testRateLimit(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	key := func(p Project) string {
		t.Helper()
		k, err := db.CreateProjectKey(ctx, p.ID)
		if err != nil {
			t.Fatalf("CreateProjectKey(%d): %v", p.ID, err)
		}
		return k.PublicKey
	}
	mainKey, otherKey := key(e.project), key(other)
	changes := 0
	db.OnAccessChange(func() { changes++ })

	for _, set := range []int{120, RateLimitNone, MaxRateLimit, RateLimitDefault} {
		before := changes
		if err := db.SetProjectRateLimit(ctx, System, e.project.ID, set); err != nil {
			t.Fatalf("SetProjectRateLimit(%d): %v", set, err)
		}
		if changes != before+1 {
			t.Errorf("SetProjectRateLimit(%d) ran the access hooks %d times, want once, so ingest reloads its keys", set, changes-before)
		}
		if got, err := db.ProjectRateLimit(ctx, System, e.project.ID); got != set || err != nil {
			t.Errorf("ProjectRateLimit after setting %d = %d, %v", set, got, err)
		}
		keys, err := db.ActiveKeys(ctx)
		if err != nil || keys[mainKey] != (ActiveKey{ProjectID: e.project.ID, RateLimit: set}) || keys[otherKey] != (ActiveKey{ProjectID: other.ID}) {
			t.Errorf("ActiveKeys after setting %d = %v, %v; want the limit on project %d's key alone", set, keys, err, e.project.ID)
		}
	}

	if err := db.SetProjectRateLimit(ctx, System, e.project.ID, 300); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int{-2, MaxRateLimit + 1} {
		err := db.SetProjectRateLimit(ctx, System, e.project.ID, bad)
		wantErr(t, "SetProjectRateLimit of a bad limit", err, ErrInvalid)
		if got, _ := db.ProjectRateLimit(ctx, System, e.project.ID); got != 300 {
			t.Errorf("a refused limit %d changed the stored one to %d", bad, got)
		}
	}
	wantErr(t, "SetProjectRateLimit of a missing project", db.SetProjectRateLimit(ctx, System, 1<<40, 10), ErrNotFound)
	_, err := db.ProjectRateLimit(ctx, System, 1<<40)
	wantErr(t, "ProjectRateLimit of a missing project", err, ErrNotFound)
}
