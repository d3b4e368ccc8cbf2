package awsxtest

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
// (idempotent by name), Publish (with message attributes, delivered to the
// confirmed subscriptions whose filter policy accepts them), Subscribe
// (email subscriptions start pending; the FilterPolicy attribute is
// kept, and subscribing again with other attributes is refused, as in
// SNS), SetSubscriptionAttributes (FilterPolicy, on a confirmed
// subscription), Unsubscribe (confirmed subscriptions only, as in SNS),
// ListSubscriptionsByTopic and ListTopics (paged, ListTopics in ARN
// order), and DeleteTopic (with the topic's subscriptions; a topic that
// does not exist is no error, as in SNS), and answers other actions with
// InvalidAction. Confirm stands for a person clicking the link SNS mails,
// UnsubscribeByLink for them clicking the unsubscribe link of an email
// SNS delivered, and ClearDeleted for SNS clearing the subscriptions so
// deleted, 72 hours later.
//
// Filter policies are SNS's on message attributes (the default scope)
// with exact string values only: a policy using another operator
// (prefix, anything-but, numeric, exists) is refused as InvalidParameter
// rather than matched wrongly.
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
	// deleted is a subscription its endpoint's owner unsubscribed by
	// SNS's link: SNS lists it with the ARN "Deleted", delivers it
	// nothing, and refuses to subscribe the endpoint again until it
	// clears the subscription, 72 hours later.
	deleted bool
	// policy is the FilterPolicy attribute as given ("" for none), filter
	// its parsed form: attribute name → the values it accepts.
	policy string
	filter map[string][]string
}

// Published is a message published to a topic.
type Published struct {
	TopicARN, Subject, Message string
	// Attributes are the message attributes' string values by name.
	Attributes map[string]string
	// Delivered are the endpoints of the confirmed subscriptions SNS
	// delivered the message to, their filter policies allowing, sorted.
	Delivered []string
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

// Subscriptions returns "topic name: endpoint (pending|confirmed|deleted)"
// for every subscription, sorted.
func (f *SNSFake) Subscriptions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.subs {
		state := "pending"
		switch {
		case s.deleted:
			state = "deleted"
		case s.confirmed:
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
		if f.topics[s.topic] == name && s.endpoint == endpoint && !s.deleted {
			s.confirmed = true
		}
	}
}

// UnsubscribeByLink is endpoint's owner clicking the unsubscribe link of
// an email SNS delivered from the topic called name: the confirmed
// subscription is deleted, which SNS, as the caller does not own it,
// lists as "Deleted" until ClearDeleted.
func (f *SNSFake) UnsubscribeByLink(name, endpoint string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		if f.topics[s.topic] == name && s.endpoint == endpoint && s.confirmed {
			s.deleted = true
		}
	}
}

// ClearDeleted is SNS clearing the subscriptions deleted by their
// owners' links, 72 hours after: they are no longer listed, and their
// endpoints can be subscribed again.
func (f *SNSFake) ClearDeleted() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = slices.DeleteFunc(f.subs, func(s *snsSub) bool { return s.deleted })
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
		attrs, types, err := messageAttributes(r.PostForm)
		if err != nil {
			snsError(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
			return
		}
		p := Published{TopicARN: topic, Subject: subject, Message: r.PostForm.Get("Message"), Attributes: attrs}
		for _, s := range f.subs {
			if s.topic == topic && s.confirmed && !s.deleted && s.accepts(attrs, types) {
				p.Delivered = append(p.Delivered, s.endpoint)
			}
		}
		slices.Sort(p.Delivered)
		f.published = append(f.published, p)
		f.seq++
		snsResult(w, action, "<MessageId>msg-"+strconv.Itoa(f.seq)+"</MessageId>")
	case "Subscribe":
		if !needTopic() {
			return
		}
		protocol, endpoint := r.PostForm.Get("Protocol"), r.PostForm.Get("Endpoint")
		attrs := queryMap(r.PostForm, "Attributes", "key", "value")
		policy := attrs["FilterPolicy"]
		delete(attrs, "FilterPolicy")
		if len(attrs) > 0 {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Attributes Reason: the fake supports FilterPolicy only")
			return
		}
		filter, err := parseFilterPolicy(policy)
		if err != nil {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: FilterPolicy: "+err.Error())
			return
		}
		for _, s := range f.subs {
			if s.topic == topic && s.protocol == protocol && s.endpoint == endpoint {
				if s.deleted {
					// SNS refuses the endpoint while it lists the
					// subscription as Deleted; the message is the fake's.
					snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Endpoint Reason: the subscription is being deleted")
					return
				}
				if s.policy != policy {
					snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
					return
				}
				snsResult(w, action, "<SubscriptionArn>"+esc(s.shownARN())+"</SubscriptionArn>")
				return
			}
		}
		f.seq++
		s := &snsSub{topic: topic, protocol: protocol, endpoint: endpoint, arn: topic + ":sub-" + strconv.Itoa(f.seq), policy: policy, filter: filter}
		f.subs = append(f.subs, s)
		snsResult(w, action, "<SubscriptionArn>"+esc(s.shownARN())+"</SubscriptionArn>")
	case "SetSubscriptionAttributes":
		arn := r.PostForm.Get("SubscriptionArn")
		i := slices.IndexFunc(f.subs, func(s *snsSub) bool { return s.confirmed && !s.deleted && s.arn == arn })
		if i < 0 {
			snsError(w, http.StatusNotFound, "NotFound", "Subscription does not exist")
			return
		}
		if name := r.PostForm.Get("AttributeName"); name != "FilterPolicy" {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: AttributeName: the fake supports FilterPolicy only, not "+name)
			return
		}
		policy := r.PostForm.Get("AttributeValue")
		filter, err := parseFilterPolicy(policy)
		if err != nil {
			snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: FilterPolicy: "+err.Error())
			return
		}
		f.subs[i].policy, f.subs[i].filter = policy, filter
		snsResult(w, action, "")
	case "Unsubscribe":
		arn := r.PostForm.Get("SubscriptionArn")
		i := slices.IndexFunc(f.subs, func(s *snsSub) bool { return s.confirmed && !s.deleted && s.arn == arn })
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

// Policies returns "topic name: endpoint: filter policy" for every
// subscription that has a filter policy, sorted.
func (f *SNSFake) Policies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.subs {
		if s.policy != "" {
			out = append(out, f.topics[s.topic]+": "+s.endpoint+": "+s.policy)
		}
	}
	slices.Sort(out)
	return out
}

// queryMap reads a map of the Query protocol: prefix.entry.N.key and
// prefix.entry.N.value, N from 1.
func queryMap(form url.Values, prefix, key, value string) map[string]string {
	m := map[string]string{}
	for n := 1; ; n++ {
		e := prefix + ".entry." + strconv.Itoa(n) + "."
		k, ok := form[e+key]
		if !ok {
			return m
		}
		m[k[0]] = form.Get(e + value)
	}
}

// messageAttributes reads Publish's MessageAttributes (entries of Name and
// Value.DataType, Value.StringValue): the values by name, and their data
// types. A String.Array must be a JSON array, as SNS requires.
func messageAttributes(form url.Values) (values, types map[string]string, err error) {
	values, types = map[string]string{}, map[string]string{}
	for n := 1; ; n++ {
		e := "MessageAttributes.entry." + strconv.Itoa(n) + "."
		name, ok := form[e+"Name"]
		if !ok {
			return values, types, nil
		}
		dt, v := form.Get(e+"Value.DataType"), form.Get(e+"Value.StringValue")
		switch dt {
		case "String", "Number":
		case "String.Array":
			var arr []any
			if json.Unmarshal([]byte(v), &arr) != nil {
				return nil, nil, fmt.Errorf("the message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String", name[0])
			}
		default:
			return nil, nil, fmt.Errorf("the message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String", name[0])
		}
		values[name[0]], types[name[0]] = v, dt
	}
}

// parseFilterPolicy parses a filter policy of exact string values; ""
// and {} are none. SNS allows at most 5 keys and 150 combinations of
// values.
func parseFilterPolicy(policy string) (map[string][]string, error) {
	if policy == "" {
		return nil, nil
	}
	var raw map[string][]any
	if err := json.Unmarshal([]byte(policy), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of arrays (or an operator the fake does not support): %v", err)
	}
	if len(raw) > 5 {
		return nil, errors.New("filter policy can not have more than 5 keys")
	}
	out := map[string][]string{}
	combos := 1
	for k, vs := range raw {
		for _, v := range vs {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("the fake supports exact string values only, not %v", v)
			}
			out[k] = append(out[k], s)
		}
		combos *= len(vs)
	}
	if combos > 150 {
		return nil, errors.New("filter policy is too complex")
	}
	return out, nil
}

// accepts reports whether the subscription's filter policy lets through a
// message with attrs (of types): every key of the policy names an
// attribute with one of its values, or, for a String.Array, with one of
// its elements among them. No policy accepts everything.
func (s *snsSub) accepts(attrs, types map[string]string) bool {
	for k, want := range s.filter {
		v, ok := attrs[k]
		if !ok {
			return false
		}
		have := []string{v}
		if types[k] == "String.Array" {
			var arr []any
			_ = json.Unmarshal([]byte(v), &arr)
			have = have[:0]
			for _, a := range arr {
				if str, ok := a.(string); ok {
					have = append(have, str)
				}
			}
		}
		if !slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) }) {
			return false
		}
	}
	return true
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
// until the owner confirms, Deleted once they unsubscribed by the link.
func (s *snsSub) listedARN() string {
	if s.deleted {
		return "Deleted"
	}
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
