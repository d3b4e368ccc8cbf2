// Package lambdaxtest runs Lambda function binaries in tests: it builds a
// runtime package the way it is deployed and serves the Lambda Runtime API
// (/2018-06-01/runtime/...) from an httptest server, so the real
// `bootstrap`, with aws-lambda-go's own runtime client, handles invocations
// the test sends.
package lambdaxtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildTags are the tags every runtime binary is built with: no RPC mode
// in aws-lambda-go (provided.al2023 speaks the Runtime API only) and no
// SQLite driver (the binaries only talk to PostgreSQL).
const BuildTags = "lambda.norpc nosqlite"

// Build compiles the main package in dir (e.g. "." or "../processor") for
// goos/goarch exactly as releases do (CGO off, -trimpath, stripped) and
// returns the path of the binary, named bootstrap as Lambda's
// provided.al2023 runtime expects.
func Build(t testing.TB, dir, goos, goarch string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", BuildTags, "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s for %s/%s: %v\n%s", dir, goos, goarch, err, b)
	}
	return out
}

// Result is what the function answered to one invocation.
type Result struct {
	// Body is the response payload, or the error payload when Error.
	Body []byte
	// Error is true when the function reported an invocation error.
	Error bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type header of an
	// error.
	ErrorType string
}

type invocation struct {
	id      string
	payload []byte
	result  chan Result
}

// RuntimeAPI is a fake Lambda Runtime API for one function process.
type RuntimeAPI struct {
	srv     *httptest.Server
	pending chan *invocation
	done    chan struct{}

	mu       sync.Mutex
	inflight map[string]*invocation
	seq      int
	initErr  chan []byte
}

// NewRuntimeAPI starts the fake. It stops when the test ends; stop the
// function process first (Start does, in its cleanup), since a function
// waits in /next until then.
func NewRuntimeAPI(t testing.TB) *RuntimeAPI {
	t.Helper()
	r := &RuntimeAPI{
		pending:  make(chan *invocation),
		done:     make(chan struct{}),
		inflight: map[string]*invocation{},
		initErr:  make(chan []byte, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.reply(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.reply(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		select {
		case r.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(r.done)
		r.srv.Close()
	})
	return r
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API (host:port, no scheme).
func (r *RuntimeAPI) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Invoke hands payload to the function's next /next call and waits for its
// response or error. The function's deadline is 30 seconds away.
func (r *RuntimeAPI) Invoke(ctx context.Context, payload []byte) (Result, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{id: "8476a536-e9f4-11e8-9739-" + fmt.Sprintf("%012d", r.seq), payload: payload, result: make(chan Result, 1)}
	r.mu.Unlock()
	select {
	case r.pending <- inv:
	case b := <-r.initErr:
		return Result{}, fmt.Errorf("the function failed to initialize: %s", b)
	case <-ctx.Done():
		return Result{}, fmt.Errorf("the function never asked for the invocation: %w", ctx.Err())
	}
	select {
	case res := <-inv.result:
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("no response to the invocation: %w", ctx.Err())
	}
}

func (r *RuntimeAPI) next(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.pending:
	case <-req.Context().Done():
		return
	case <-r.done:
		http.Error(w, "shutting down", http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:flytrap-test")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-6740f3a0-2b5c4d6e7f8091a2b3c4d5e6;Parent=53995c3f42cd8ad8;Sampled=0")
	h.Set("Content-Type", "application/json")
	w.Write(inv.payload)
}

func (r *RuntimeAPI) reply(isErr bool) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		var body bytes.Buffer
		body.ReadFrom(req.Body)
		id := req.PathValue("id")
		r.mu.Lock()
		inv := r.inflight[id]
		delete(r.inflight, id)
		r.mu.Unlock()
		if inv == nil {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		inv.result <- Result{Body: body.Bytes(), Error: isErr, ErrorType: req.Header.Get("Lambda-Runtime-Function-Error-Type")}
		w.WriteHeader(http.StatusAccepted)
	}
}

// Start runs binary as a function process against api with env added to a
// minimal environment (the runtime API address, the function's name and
// PATH), and stops it when the test ends. Its output is kept and logged if
// the test fails.
func Start(t testing.TB, binary string, api *RuntimeAPI, env ...string) {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + api.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=flytrap-test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
	}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("function output:\n%s", out.String())
		}
	})
}
