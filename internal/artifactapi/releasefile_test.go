package artifactapi_test

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/artifactapi"
	"github.com/getflytrap/flytrap/internal/store"
)

const mib = 1 << 20

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// releaseFile posts a file of size random bytes (from seed) to the legacy
// release-file endpoint as curl -F does, streaming the body so that the
// client holds none of it.
func releaseFile(t *testing.T, e *env, token, name string, size int64, seed uint64) (*http.Response, map[string]any) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, _ := mw.CreateFormFile("file", name)
		rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
		if _, err := io.CopyN(w, rng, size); err != nil {
			pw.CloseWithError(err)
			return
		}
		mw.WriteField("name", "~/"+name)
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/0/projects/x/web-shop/releases/legacy1/files/", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// TestConcurrentReleaseFilesStayWithinBudget: the tester's four
// concurrent 40 MB uploads of random .js files to the legacy endpoint all
// succeed, and the server's heap grows by about one file, not by four
// files held twice each (395 MB of resident memory before the fix).
func TestConcurrentReleaseFilesStayWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates hundreds of MiB without the fix")
	}
	const (
		uploads = 4
		size    = 40 * mib
	)
	e := newEnv(t)
	runtime.GC()
	base := heapObjects()
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := heapObjects(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	var wg sync.WaitGroup
	codes := make([]int, uploads)
	outs := make([]map[string]any, uploads)
	for i := range uploads {
		wg.Go(func() {
			resp, out := releaseFile(t, e, e.token, "big"+strconv.Itoa(i)+".js", size, uint64(i))
			codes[i], outs[i] = resp.StatusCode, out
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	for i, code := range codes {
		if code != 201 || outs[i]["size"] != float64(size) {
			t.Errorf("upload %d: %d %v, want 201", i, code, outs[i])
		}
	}
	grew := float64(peak.Load()-min(base, peak.Load())) / mib
	t.Logf("%d concurrent uploads of %d MiB: the heap grew by %.1f MiB at peak", uploads, size/mib, grew)
	// One file read whole to check and store it, as much again in the
	// collector's headroom (GOGC=100), and a few MiB of buffers and test
	// scaffolding. Before the fix, every upload held its file twice at
	// once: the heap grew by about 300 MiB.
	if limit := 2*float64(size)/mib + 16; grew > limit {
		t.Errorf("the heap grew by %.1f MiB; want at most %.0f MiB", grew, limit)
	}
}

// TestReleaseFileQuota: legacy release files count against the same
// per-user quota as chunks: one over it is a 429 with Retry-After, and
// the same file uploaded again for the release is free, as it takes no
// room.
func TestReleaseFileQuota(t *testing.T) {
	e := newEnvWith(t, func(h *artifactapi.Handler) {
		h.WithChunkQuota(artifactapi.ChunkQuota{Bytes: 2 * artifact.ChunkSize, Per: time.Hour})
	})
	ctx := context.Background()
	member, err := e.db.UserByEmail(ctx, "o@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddMember(ctx, e.proj.ID, member.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	if resp, out := releaseFile(t, e, e.outsider, "a.js", 10*mib, 1); resp.StatusCode != 201 {
		t.Fatalf("first file within the quota: %d %v", resp.StatusCode, out)
	}
	if resp, out := releaseFile(t, e, e.outsider, "a.js", 10*mib, 1); resp.StatusCode != 201 {
		t.Errorf("the same file again: %d %v, want 201: it takes no room", resp.StatusCode, out)
	}
	resp, out := releaseFile(t, e, e.outsider, "b.js", 10*mib, 2)
	detail, _ := out["detail"].(string)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(detail, "limit of 16 MiB") {
		t.Errorf("a file over the quota: %d Retry-After %q %v, want 429 naming the limit", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if resp, out := releaseFile(t, e, e.token, "b.js", 10*mib, 2); resp.StatusCode != 201 {
		t.Errorf("another user's file: %d %v, want 201: the quota is per user", resp.StatusCode, out)
	}
}

// TestReleaseFileSlots: with every slot taken by an upload under way, one
// more waits its bound, then is answered 429 with Retry-After, and one
// whose request ends while it waits is answered, not left to net/http's
// 200; once the others are done it goes through.
func TestReleaseFileSlots(t *testing.T) {
	var h *artifactapi.Handler
	e := newEnvWith(t, func(hh *artifactapi.Handler) {
		h = hh
		h.SetReleaseFileWait(200 * time.Millisecond)
	})
	// Two uploads that have sent half a file and stall.
	var held []*io.PipeWriter
	var wg sync.WaitGroup
	for i := range 2 {
		pr, pw := io.Pipe()
		held = append(held, pw)
		mw := multipart.NewWriter(pw)
		go func() {
			w, _ := mw.CreateFormFile("file", "slow"+strconv.Itoa(i)+".js")
			w.Write([]byte("x()\n"))
		}()
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/0/projects/x/web-shop/releases/legacy1/files/", pr)
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		wg.Go(func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // both in their slots
	resp, out := releaseFile(t, e, e.token, "late.js", 1024, 9)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || !strings.Contains(out["detail"].(string), "busy") {
		t.Errorf("an upload with every slot taken: %d Retry-After %q %v, want 429 after its wait", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/0/projects/x/web-shop/releases/legacy1/files/", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+e.token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 503 {
		t.Errorf("an upload whose request ended while it waited: %d %s, want 503", rec.Code, rec.Body)
	}
	for _, pw := range held {
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	wg.Wait()
	if resp, out := releaseFile(t, e, e.token, "late.js", 1024, 9); resp.StatusCode != 201 {
		t.Errorf("once the slots are free: %d %v, want 201", resp.StatusCode, out)
	}
}
