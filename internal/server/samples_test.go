package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// TestSentrySamplesStored sends every sample event of the SDKs' corpus to
// the project flytrap dev makes on its first start, as an SDK would, and
// waits until each is stored and readable: the ingest tests hold that
// each is accepted, this one that nothing on the way (a default inbound
// filter, the processor, the store) drops one, on both databases.
func TestSentrySamplesStored(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samples.Dir(t), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	onEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, b := devServerOn(t, db)
		ln := httptest.NewUnstartedServer(nil).Listener
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, ln) }()
		defer func() {
			cancel()
			<-done
		}()
		url := "http://" + ln.Addr().String() + "/api/" + itoa(b.Project.ID) + "/store/?sentry_key=" + b.Key.PublicKey
		ids := map[string]string{} // event ID → sample
		for _, path := range files {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct{ ID string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &got) != nil || got.ID == "" {
				t.Fatalf("%s: HTTP %d %s", filepath.Base(path), resp.StatusCode, answer)
			}
			ids[got.ID] = filepath.Base(path)
		}
		deadline := time.Now().Add(30 * time.Second)
		for id, name := range ids {
			for {
				_, err := db.GetEvent(ctx, store.System, id)
				if err == nil {
					break
				}
				if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
					filtered, _ := db.FilteredSince(ctx, store.System, b.Project.ID, time.Now().Add(-time.Hour))
					t.Fatalf("%s (event %s) not stored: %v; filtered by the project: %v", name, id, err, filtered)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
