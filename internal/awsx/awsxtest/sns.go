package awsxtest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SNSFake is an in-memory SNS server speaking the Query protocol the SDK
// uses (form-encoded Action=... in, XML out). It implements CreateTopic
// (idempotent by name), Publish, Subscribe (email subscriptions start
// pending), Unsubscribe (confirmed subscriptions only, as in SNS),
// ListSubscriptionsByTopic and ListTopics (paged, ListTopics in ARN
// order), and DeleteTopic (with the topic's subscriptions; a topic that
// does not exist is no error, as in SNS), and answers other actions with
// InvalidAction. Confirm stands for a person clicking the link SNS mails.
type SNSFake struct {
	srv *httptest.Server

	mu        sync.Mutex
	topics    map[string]string // ARN → name
	subs      []*snsSub
	published []Published
	seq       int
	// PageSize is the page of ListSubscriptionsByTopic and ListTopics
	// (default 100, as SNS).
	PageSize int
	// Refuse, when set, is asked about each request before it is served:
	// an SNS error code (AuthorizationError for a permission the caller
	// lacks, InternalError, ...) makes the request fail with it, "" serves
	// it. topicARN is the request's TopicArn, if any.
	Refuse func(action, topicARN string) string
}

type snsSub struct {
	topic, protocol, endpoint, arn string
	confirmed                      bool
}

// Published is a message published to a topic.
type Published struct {
	TopicARN, Subject, Message string
}

// NewSNS starts the fake and stops it when t ends.
func NewSNS(t testing.TB) *SNSFake {
	f := &SNSFake{topics: map[string]string{}, PageSize: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint to give the SDK.
func (f *SNSFake) URL() string { return f.srv.URL }

// Client returns an SNS client for the fake.
func (f *SNSFake) Client() *sns.Client { return sns.NewFromConfig(Config(f.srv.URL)) }

// Published returns the messages published so far.
func (f *SNSFake) Published() []Published {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.published)
}

// Subscriptions returns "topic name: endpoint (pending|confirmed)" for
// every subscription, sorted.
func (f *SNSFake) Subscriptions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.subs {
		state := "pending"
		if s.confirmed {
			state = "confirmed"
		}
		out = append(out, f.topics[s.topic]+": "+s.endpoint+" ("+state+")")
	}
	slices.Sort(out)
	return out
}

// Topics returns the names of the topics, sorted.
func (f *SNSFake) Topics() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, name := range f.topics {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Confirm confirms endpoint's subscription of the topic called name.
func (f *SNSFake) Confirm(name, endpoint string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		if f.topics[s.topic] == name && s.endpoint == endpoint {
			s.confirmed = true
		}
	}
}

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (f *SNSFake) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		snsError(w, http.StatusForbidden, "MissingAuthenticationToken", "request is not signed")
		return
	}
	if err := r.ParseForm(); err != nil {
		snsError(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	action := r.PostForm.Get("Action")
	topic := r.PostForm.Get("TopicArn")
	if f.Refuse != nil {
		if code := f.Refuse(action, topic); code != "" {
			snsError(w, snsErrorStatus(code), code, "refused by the test: "+action+" "+topic)
			return
		}
	}
	needTopic := func() bool {
		if _, ok := f.topics[topic]; !ok {
			snsError(w, http.StatusNotFound, "NotFound", "Topic does not exist")
			return false
		}
		return true
	}
	switch action {
	case "CreateTopic":
		name := r.PostForm.Get("Name")
		if !topicName.MatchString(name) {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Topic Name")
			return
		}
		arn := "arn:aws:sns:" + Region + ":" + Account + ":" + name
		f.topics[arn] = name
		snsResult(w, action, "<TopicArn>"+esc(arn)+"</TopicArn>")
	case "Publish":
		if !needTopic() {
			return
		}
		subject := r.PostForm.Get("Subject")
		if len(subject) >= 100 || strings.ContainsAny(subject, "\r\n") {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Subject")
			return
		}
		f.published = append(f.published, Published{TopicARN: topic, Subject: subject, Message: r.PostForm.Get("Message")})
		f.seq++
		snsResult(w, action, "<MessageId>msg-"+strconv.Itoa(f.seq)+"</MessageId>")
	case "Subscribe":
		if !needTopic() {
			return
		}
		protocol, endpoint := r.PostForm.Get("Protocol"), r.PostForm.Get("Endpoint")
		for _, s := range f.subs {
			if s.topic == topic && s.protocol == protocol && s.endpoint == endpoint {
				snsResult(w, action, "<SubscriptionArn>"+esc(s.shownARN())+"</SubscriptionArn>")
				return
			}
		}
		f.seq++
		s := &snsSub{topic: topic, protocol: protocol, endpoint: endpoint, arn: topic + ":sub-" + strconv.Itoa(f.seq)}
		f.subs = append(f.subs, s)
		snsResult(w, action, "<SubscriptionArn>"+esc(s.shownARN())+"</SubscriptionArn>")
	case "Unsubscribe":
		arn := r.PostForm.Get("SubscriptionArn")
		i := slices.IndexFunc(f.subs, func(s *snsSub) bool { return s.confirmed && s.arn == arn })
		if i < 0 {
			snsError(w, http.StatusNotFound, "NotFound", "Subscription does not exist")
			return
		}
		f.subs = slices.Delete(f.subs, i, i+1)
		snsResult(w, action, "")
	case "ListSubscriptionsByTopic":
		if !needTopic() {
			return
		}
		var members []string
		for _, s := range f.subs {
			if s.topic != topic {
				continue
			}
			members = append(members, fmt.Sprintf("<member><TopicArn>%s</TopicArn><Protocol>%s</Protocol><SubscriptionArn>%s</SubscriptionArn><Owner>%s</Owner><Endpoint>%s</Endpoint></member>",
				esc(s.topic), esc(s.protocol), esc(s.listedARN()), Account, esc(s.endpoint)))
		}
		f.listResult(w, r, action, "Subscriptions", members)
	case "ListTopics":
		var arns []string
		for arn := range f.topics {
			arns = append(arns, arn)
		}
		slices.Sort(arns)
		var members []string
		for _, arn := range arns {
			members = append(members, "<member><TopicArn>"+esc(arn)+"</TopicArn></member>")
		}
		f.listResult(w, r, action, "Topics", members)
	case "DeleteTopic":
		delete(f.topics, topic)
		f.subs = slices.DeleteFunc(f.subs, func(s *snsSub) bool { return s.topic == topic })
		snsResult(w, action, "")
	default:
		snsError(w, http.StatusBadRequest, "InvalidAction", "The action "+action+" is not valid for this endpoint.")
	}
}

// listResult answers a List action with the page of members, a listing
// named list, that the request's NextToken asks for, and the NextToken of
// the rest unless it is the last page. SNS's tokens are opaque; these are
// the next index, and one that is no index is refused, as SNS refuses a
// token it did not hand out.
func (f *SNSFake) listResult(w http.ResponseWriter, r *http.Request, action, list string, members []string) {
	start := 0
	if tok := r.PostForm.Get("NextToken"); tok != "" {
		var err error
		if start, err = strconv.Atoi(tok); err != nil || start <= 0 {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: NextToken")
			return
		}
	}
	start = min(start, len(members))
	end := min(len(members), start+f.PageSize)
	inner := "<" + list + ">" + strings.Join(members[start:end], "") + "</" + list + ">"
	if end < len(members) {
		inner += "<NextToken>" + strconv.Itoa(end) + "</NextToken>"
	}
	snsResult(w, action, inner)
}

// snsErrorStatus is the HTTP status SNS answers an error code with.
func snsErrorStatus(code string) int {
	switch code {
	case "AuthorizationError":
		return http.StatusForbidden
	case "NotFound":
		return http.StatusNotFound
	case "InternalError":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// shownARN is what Subscribe answers: "pending confirmation" until the
// owner confirms.
func (s *snsSub) shownARN() string {
	if s.confirmed {
		return s.arn
	}
	return "pending confirmation"
}

// listedARN is what ListSubscriptionsByTopic shows: PendingConfirmation
// until the owner confirms.
func (s *snsSub) listedARN() string {
	if s.confirmed {
		return s.arn
	}
	return "PendingConfirmation"
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func snsResult(w http.ResponseWriter, action, inner string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></%sResponse>`,
		action, action, inner, action, action)
}

func snsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
		code, esc(msg))
}
