package awsxtest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SQS defaults, as a queue created without attributes has them (the
// message size limit is the 1 MiB SQS allows since 2025).
const (
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultMaxMessageBytes   = 1 << 20
	maxBatchEntries          = 10
	maxWaitTime              = 20 * time.Second
)

// SQSFake is an in-memory SQS server speaking the AWS JSON 1.0 protocol the
// SDK uses (X-Amz-Target: AmazonSQS.<Action>). It implements SendMessage,
// SendMessageBatch, ReceiveMessage (with visibility timeouts and long
// polling), DeleteMessage, DeleteMessageBatch, GetQueueAttributes and
// GetQueueUrl, returns the MD5 digests the SDK verifies, and refuses what
// SQS refuses (oversized messages, characters outside SQS's set, unknown
// queues and receipt handles) with SQS's error codes. Other actions answer
// UnsupportedOperation.
//
// Time is the wall clock plus whatever Advance added, so visibility
// timeouts can be tested without sleeping.
type SQSFake struct {
	srv *httptest.Server

	mu       sync.Mutex
	queues   map[string]*fakeQueue // by queue URL
	names    map[string]string     // queue name → URL
	receipts map[string]receipt    // every receipt handle issued
	offset   time.Duration
	calls    map[string]int
}

type fakeQueue struct {
	name, url  string
	created    time.Time
	visibility time.Duration
	maxBytes   int
	msgs       []*fakeMessage // in send order
}

type fakeMessage struct {
	id, body     string
	attrs        map[string]json.RawMessage // message attributes as sent
	sent         time.Time
	availableAt  time.Time // delay or visibility timeout end
	receives     int
	firstReceive time.Time
}

type receipt struct{ queueURL, messageID string }

// Message is a snapshot of a queued message, for assertions.
type Message struct {
	ID           string
	Body         string
	ReceiveCount int
	// Visible is false while the message is delayed or held by a
	// consumer (in flight).
	Visible bool
	SentAt  time.Time
}

// NewSQS starts a fake SQS server that stops when the test ends.
func NewSQS(t testing.TB) *SQSFake {
	t.Helper()
	f := &SQSFake{
		queues:   map[string]*fakeQueue{},
		names:    map[string]string{},
		receipts: map[string]receipt{},
		calls:    map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint to give the SDK (BaseEndpoint or
// AWS_ENDPOINT_URL_SQS).
func (f *SQSFake) URL() string { return f.srv.URL }

// CreateQueue creates a standard queue with default attributes and
// returns its URL, which has SQS's shape: <endpoint>/<account>/<name>.
// Creating an existing queue returns its URL.
func (f *SQSFake) CreateQueue(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.names[name]; ok {
		return u
	}
	u := f.srv.URL + "/" + Account + "/" + name
	f.queues[u] = &fakeQueue{name: name, url: u, created: f.now(),
		visibility: DefaultVisibilityTimeout, maxBytes: DefaultMaxMessageBytes}
	f.names[name] = u
	return u
}

// SetQueueAttributes changes a queue's VisibilityTimeout (seconds) or
// MaximumMessageSize (bytes). It panics on an unknown queue or attribute:
// that is a mistake in the test.
func (f *SQSFake) SetQueueAttributes(queueURL string, attrs map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queues[queueURL]
	if q == nil {
		panic("awsxtest: no queue " + queueURL)
	}
	for k, v := range attrs {
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("awsxtest: attribute %s=%q is not a number", k, v))
		}
		switch k {
		case "VisibilityTimeout":
			q.visibility = time.Duration(n) * time.Second
		case "MaximumMessageSize":
			q.maxBytes = n
		default:
			panic("awsxtest: unsupported queue attribute " + k)
		}
	}
}

// Messages returns the messages in queueURL in the order they were sent,
// visible or not; nil for an unknown queue.
func (f *SQSFake) Messages(queueURL string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queues[queueURL]
	if q == nil {
		return nil
	}
	now := f.now()
	out := make([]Message, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, Message{ID: m.id, Body: m.body, ReceiveCount: m.receives,
			Visible: !now.Before(m.availableAt), SentAt: m.sent})
	}
	return out
}

// Send puts a message straight into a queue, as another producer would;
// it returns the message ID.
func (f *SQSFake) Send(queueURL, body string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queues[queueURL]
	if q == nil {
		panic("awsxtest: no queue " + queueURL)
	}
	return f.enqueue(q, body, 0, nil).id
}

// Advance moves the fake's clock forward, e.g. past a visibility timeout.
func (f *SQSFake) Advance(d time.Duration) {
	f.mu.Lock()
	f.offset += d
	f.mu.Unlock()
}

// Calls returns how many requests named action ("SendMessage", ...) the
// fake answered, successful or not.
func (f *SQSFake) Calls(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func (f *SQSFake) now() time.Time { return time.Now().Add(f.offset) }

// sqsError is an error response of the JSON protocol. code is the modeled
// error shape (it becomes __type); query is the legacy Query-protocol code
// SQS also sends, which the SDK reports for unmodeled errors.
type sqsError struct {
	status      int
	code, query string
	msg         string
}

func (e *sqsError) Error() string { return e.code + ": " + e.msg }

func errQueue(u string) *sqsError {
	return &sqsError{400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist: " + u}
}

func errParam(format string, args ...any) *sqsError {
	return &sqsError{400, "InvalidParameterValue", "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func (f *SQSFake) serve(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var (
		out any
		err *sqsError
	)
	switch {
	case r.Method != http.MethodPost || !ok:
		err = &sqsError{400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "expected POST with X-Amz-Target: AmazonSQS.<Action>"}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0"):
		err = &sqsError{400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "expected Content-Type application/x-amz-json-1.0"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		err = &sqsError{403, "InvalidSecurity", "AWS.SimpleQueueService.InvalidSecurity", "the request is not signed with Signature Version 4"}
	default:
		var body map[string]json.RawMessage
		if jerr := json.NewDecoder(r.Body).Decode(&body); jerr != nil {
			err = &sqsError{400, "InvalidParameterValue", "InvalidParameterValue", "request body is not JSON: " + jerr.Error()}
			break
		}
		f.mu.Lock()
		f.calls[action]++
		f.mu.Unlock()
		out, err = f.dispatch(r.Context(), action, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", uuid.NewString())
	if err != nil {
		w.Header().Set("X-Amzn-Query-Error", err.query+";Sender")
		w.WriteHeader(err.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + err.code, "message": err.msg})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *SQSFake) dispatch(ctx context.Context, action string, in map[string]json.RawMessage) (any, *sqsError) {
	switch action {
	case "SendMessage":
		return f.sendMessage(in)
	case "SendMessageBatch":
		return f.sendMessageBatch(in)
	case "ReceiveMessage":
		return f.receiveMessage(ctx, in)
	case "DeleteMessage":
		return f.deleteMessage(in)
	case "DeleteMessageBatch":
		return f.deleteMessageBatch(in)
	case "GetQueueAttributes":
		return f.getQueueAttributes(in)
	case "GetQueueUrl":
		return f.getQueueURL(in)
	}
	return nil, &sqsError{400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "the fake does not implement " + action}
}

// field decodes in[name] into v when present.
func field(in map[string]json.RawMessage, name string, v any) *sqsError {
	raw, ok := in[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errParam("%s: %v", name, err)
	}
	return nil
}

func (f *SQSFake) queue(in map[string]json.RawMessage) (*fakeQueue, *sqsError) {
	var u string
	if err := field(in, "QueueUrl", &u); err != nil {
		return nil, err
	}
	if u == "" {
		return nil, &sqsError{400, "MissingParameter", "AWS.SimpleQueueService.MissingParameter", "QueueUrl is required"}
	}
	q := f.queues[u]
	if q == nil {
		return nil, errQueue(u)
	}
	return q, nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// validBody applies SQS's rules to a message body.
func validBody(q *fakeQueue, body string) *sqsError {
	if body == "" {
		return &sqsError{400, "MissingParameter", "AWS.SimpleQueueService.MissingParameter", "The request must contain the parameter MessageBody."}
	}
	if len(body) > q.maxBytes {
		return errParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.maxBytes)
	}
	for i, r := range body {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(body[i:]); size == 1 {
				ok = false
			}
		}
		if !ok {
			return &sqsError{400, "InvalidMessageContents", "InvalidMessageContents", fmt.Sprintf("Invalid binary character '#x%X' was found in the message body", r)}
		}
	}
	return nil
}

type sendEntry struct {
	ID                string                     `json:"Id"`
	MessageBody       string                     `json:"MessageBody"`
	DelaySeconds      int                        `json:"DelaySeconds"`
	MessageAttributes map[string]json.RawMessage `json:"MessageAttributes"`
}

func (f *SQSFake) enqueue(q *fakeQueue, body string, delay int, attrs map[string]json.RawMessage) *fakeMessage {
	now := f.now()
	m := &fakeMessage{id: uuid.NewString(), body: body, attrs: attrs, sent: now,
		availableAt: now.Add(time.Duration(delay) * time.Second)}
	q.msgs = append(q.msgs, m)
	return m
}

func (f *SQSFake) sendMessage(in map[string]json.RawMessage) (any, *sqsError) {
	var e sendEntry
	for name, v := range map[string]any{"MessageBody": &e.MessageBody, "DelaySeconds": &e.DelaySeconds, "MessageAttributes": &e.MessageAttributes} {
		if err := field(in, name, v); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	if err := validBody(q, e.MessageBody); err != nil {
		return nil, err
	}
	if e.DelaySeconds < 0 || e.DelaySeconds > 900 {
		return nil, errParam("DelaySeconds must be 0 to 900")
	}
	m := f.enqueue(q, e.MessageBody, e.DelaySeconds, e.MessageAttributes)
	return map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)}, nil
}

type batchFailure struct {
	ID          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

// checkBatch applies SQS's rules on batch entry counts and IDs.
func checkBatch(ids []string) *sqsError {
	switch {
	case len(ids) == 0:
		return &sqsError{400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request."}
	case len(ids) > maxBatchEntries:
		return &sqsError{400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || len(id) > 80 || strings.ContainsFunc(id, func(r rune) bool {
			return !(r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		}) {
			return &sqsError{400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}
		}
		if seen[id] {
			return &sqsError{400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id " + id + " repeated."}
		}
		seen[id] = true
	}
	return nil
}

func (f *SQSFake) sendMessageBatch(in map[string]json.RawMessage) (any, *sqsError) {
	var entries []sendEntry
	if err := field(in, "Entries", &entries); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	total := 0
	for i, e := range entries {
		ids[i] = e.ID
		total += len(e.MessageBody)
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	if total > q.maxBytes {
		return nil, &sqsError{400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", q.maxBytes, total)}
	}
	type success struct {
		ID               string `json:"Id"`
		MessageID        string `json:"MessageId"`
		MD5OfMessageBody string `json:"MD5OfMessageBody"`
	}
	ok, failed := []success{}, []batchFailure{}
	for _, e := range entries {
		if verr := validBody(q, e.MessageBody); verr != nil {
			failed = append(failed, batchFailure{ID: e.ID, Code: verr.code, Message: verr.msg, SenderFault: true})
			continue
		}
		m := f.enqueue(q, e.MessageBody, e.DelaySeconds, e.MessageAttributes)
		ok = append(ok, success{ID: e.ID, MessageID: m.id, MD5OfMessageBody: md5Hex(m.body)})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func newReceiptHandle() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "AQEB" + hex.EncodeToString(b)
}

func (f *SQSFake) receiveMessage(ctx context.Context, in map[string]json.RawMessage) (any, *sqsError) {
	var (
		maxN        = 1
		visibility  = -1
		wait        int
		attrNames   []string
		sysNames    []string
		msgAttrKeys []string
	)
	for name, v := range map[string]any{"MaxNumberOfMessages": &maxN, "VisibilityTimeout": &visibility, "WaitTimeSeconds": &wait,
		"AttributeNames": &attrNames, "MessageSystemAttributeNames": &sysNames, "MessageAttributeNames": &msgAttrKeys} {
		if err := field(in, name, v); err != nil {
			return nil, err
		}
	}
	switch {
	case maxN < 1 || maxN > 10:
		return nil, errParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.", maxN)
	case wait < 0 || time.Duration(wait)*time.Second > maxWaitTime:
		return nil, errParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20.", wait)
	case visibility > 43200:
		return nil, errParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.", visibility)
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		msgs, err := f.receiveNow(in, maxN, visibility, append(attrNames, sysNames...), msgAttrKeys)
		if err != nil || len(msgs) > 0 || !time.Now().Before(deadline) {
			return map[string]any{"Messages": msgs}, err
		}
		select {
		case <-ctx.Done():
			return map[string]any{"Messages": msgs}, nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (f *SQSFake) receiveNow(in map[string]json.RawMessage, maxN, visibility int, attrNames, msgAttrKeys []string) ([]map[string]any, *sqsError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	hold := q.visibility
	if visibility >= 0 {
		hold = time.Duration(visibility) * time.Second
	}
	now := f.now()
	all := slices.Contains(attrNames, "All")
	allMsgAttrs := slices.Contains(msgAttrKeys, "All") || slices.Contains(msgAttrKeys, ".*")
	msgs := []map[string]any{}
	for _, m := range q.msgs {
		if len(msgs) == maxN {
			break
		}
		if now.Before(m.availableAt) {
			continue
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.availableAt = now.Add(hold)
		rh := newReceiptHandle()
		f.receipts[rh] = receipt{queueURL: q.url, messageID: m.id}
		out := map[string]any{"MessageId": m.id, "ReceiptHandle": rh, "Body": m.body, "MD5OfBody": md5Hex(m.body)}
		attrs := map[string]string{}
		for name, v := range map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
			"SenderId":                         AccessKeyID,
		} {
			if all || slices.Contains(attrNames, name) {
				attrs[name] = v
			}
		}
		if len(attrs) > 0 {
			out["Attributes"] = attrs
		}
		sel := map[string]json.RawMessage{}
		for k, v := range m.attrs {
			if allMsgAttrs || slices.Contains(msgAttrKeys, k) {
				sel[k] = v
			}
		}
		if len(sel) > 0 {
			out["MessageAttributes"] = sel
		}
		msgs = append(msgs, out)
	}
	return msgs, nil
}

// deleteLocked removes the message a receipt handle names. A handle for a
// message already deleted succeeds, as in SQS; one never issued is
// ReceiptHandleIsInvalid.
func (f *SQSFake) deleteLocked(q *fakeQueue, handle string) *sqsError {
	rc, ok := f.receipts[handle]
	if !ok || rc.queueURL != q.url {
		return &sqsError{400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle \"" + handle + "\" is not a valid receipt handle."}
	}
	q.msgs = slices.DeleteFunc(q.msgs, func(m *fakeMessage) bool { return m.id == rc.messageID })
	return nil
}

func (f *SQSFake) deleteMessage(in map[string]json.RawMessage) (any, *sqsError) {
	var handle string
	if err := field(in, "ReceiptHandle", &handle); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	if err := f.deleteLocked(q, handle); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (f *SQSFake) deleteMessageBatch(in map[string]json.RawMessage) (any, *sqsError) {
	var entries []struct {
		ID            string `json:"Id"`
		ReceiptHandle string `json:"ReceiptHandle"`
	}
	if err := field(in, "Entries", &entries); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	type success struct {
		ID string `json:"Id"`
	}
	ok, failed := []success{}, []batchFailure{}
	for _, e := range entries {
		if derr := f.deleteLocked(q, e.ReceiptHandle); derr != nil {
			failed = append(failed, batchFailure{ID: e.ID, Code: derr.code, Message: derr.msg, SenderFault: true})
			continue
		}
		ok = append(ok, success{ID: e.ID})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (f *SQSFake) getQueueAttributes(in map[string]json.RawMessage) (any, *sqsError) {
	var names []string
	if err := field(in, "AttributeNames", &names); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.queue(in)
	if err != nil {
		return nil, err
	}
	now := f.now()
	var visible, inFlight, delayed int
	for _, m := range q.msgs {
		switch {
		case !now.Before(m.availableAt):
			visible++
		case m.receives > 0:
			inFlight++
		default:
			delayed++
		}
	}
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	all := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"VisibilityTimeout":                     secs(q.visibility),
		"MaximumMessageSize":                    strconv.Itoa(q.maxBytes),
		"MessageRetentionPeriod":                "345600",
		"DelaySeconds":                          "0",
		"ReceiveMessageWaitTimeSeconds":         "0",
		"QueueArn":                              "arn:aws:sqs:" + Region + ":" + Account + ":" + q.name,
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.created.Unix(), 10),
		"SqsManagedSseEnabled":                  "true",
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			out = all
			break
		}
		v, ok := all[n]
		if !ok {
			return nil, &sqsError{400, "InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute " + n + "."}
		}
		out[n] = v
	}
	return map[string]any{"Attributes": out}, nil
}

func (f *SQSFake) getQueueURL(in map[string]json.RawMessage) (any, *sqsError) {
	var name string
	if err := field(in, "QueueName", &name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.names[name]
	if !ok {
		return nil, errQueue(name)
	}
	return map[string]string{"QueueUrl": u}, nil
}
