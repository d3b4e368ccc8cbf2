package issuefilter

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		query string
		want  store.IssueFilter
	}{
		{"", store.IssueFilter{}},
		{"status=resolved&level=warning&environment=prod&release=app@1&sort=count&cursor=abc&limit=10",
			store.IssueFilter{Status: "resolved", Level: "warning", Environment: "prod", Release: "app@1", Sort: "count", Cursor: "abc", Limit: 10}},
		{"status=all", store.IssueFilter{}},
		// Sentry's sort names, as aliases of Flytrap's.
		{"sort=date", store.IssueFilter{Sort: store.SortLastSeen}},
		{"sort=new", store.IssueFilter{Sort: store.SortFirstSeen}},
		{"sort=freq", store.IssueFilter{Sort: store.SortCount}},
		{"sort=user", store.IssueFilter{Sort: store.SortUserCount}},
		{"sort=user_count", store.IssueFilter{Sort: store.SortUserCount}},
		{"query=timeout+reading", store.IssueFilter{Query: "timeout reading"}},
		{"status=unresolved&query=is:ignored", store.IssueFilter{Status: "ignored"}},
		{"query=status:resolved+level:fatal+env:staging+release:v2", store.IssueFilter{Status: "resolved", Levels: [][]string{{"fatal"}}, Environment: "staging", Tags: []event.Tag{{Key: "release", Value: "v2"}}}},
		{"query=environment:prod", store.IssueFilter{Environment: "prod"}},
		{"query=" + url.QueryEscape(`browser:"Mobile Safari" crash`),
			store.IssueFilter{Query: "crash", Tags: []event.Tag{{Key: "browser", Value: "Mobile Safari"}}}},
		// A pasted title matches itself: quotes inside a word stay, quotes
		// around a whole word group.
		{"query=" + url.QueryEscape(`TypeError: Cannot read properties of undefined (reading "foo")`),
			store.IssueFilter{Query: `TypeError: Cannot read properties of undefined (reading "foo")`}},
		{"query=" + url.QueryEscape(`"connection refused" level:error say "a b"c`),
			store.IssueFilter{Levels: [][]string{{"error"}}, Query: `connection refused say "a b"c`}},
		{"query=" + url.QueryEscape(`"" x`), store.IssueFilter{Query: "x"}},
		{"query=" + url.QueryEscape(`src/app.js:42 :lead trail:`),
			store.IssueFilter{Query: `src/app.js:42 :lead trail:`}},
		// The REST API's semantics, kept as they are: a URL's scheme reads
		// as a tag key.
		{"query=" + url.QueryEscape(`http://example.com/a`),
			store.IssueFilter{Tags: []event.Tag{{Key: "http", Value: "//example.com/a"}}}},
		// Sentry's negation and has:, on tags and on the filters that are
		// tags too.
		{"query=" + url.QueryEscape(`!browser:"Mobile Safari" !level:error !env:prod has:os !has:user level:warning`),
			store.IssueFilter{Levels: [][]string{{"warning"}}, NotTags: []event.Tag{{Key: "browser", Value: "Mobile Safari"}, {Key: "level", Value: "error"}, {Key: "environment", Value: "prod"}},
				Has: []string{"os"}, Missing: []string{"user"}}},
		{"query=" + url.QueryEscape(`!:x !nothing wow!`), store.IssueFilter{Query: `!:x !nothing wow!`}},
		// The user's fields are tags, an email in lower case as stored.
		{"query=" + url.QueryEscape(`user.email:Ada@Example.COM user.id:U-42 !user.username:Bob has:user.email`),
			store.IssueFilter{Tags: []event.Tag{{Key: "user.email", Value: "ada@example.com"}, {Key: "user.id", Value: "U-42"}},
				NotTags: []event.Tag{{Key: "user.username", Value: "Bob"}}, Has: []string{"user.email"}}},
		// The assignee: me, none, an email (in lower case, as matched), a
		// list; negated, each value; is:assigned and is:unassigned, which
		// leave the status alone.
		{"query=" + url.QueryEscape(`assigned:me assigned:[Ann@Example.com,none] assigned_or_suggested:NONE`),
			store.IssueFilter{Assigned: [][]string{{store.AssigneeMe}, {"ann@example.com", store.AssigneeNone}, {store.AssigneeNone}}}},
		{"query=" + url.QueryEscape(`!assigned:me !assigned:[bob@example.com,me]`),
			store.IssueFilter{NotAssigned: []string{store.AssigneeMe, "bob@example.com"}}},
		{"status=unresolved&query=" + url.QueryEscape(`is:assigned is:unassigned is:assigned_or_suggested`),
			store.IssueFilter{Status: "unresolved", Assigned: [][]string{{store.AssigneeAny}, {store.AssigneeNone}, {store.AssigneeAny}}}},
		// A repeated tag term is one subquery, however often it is typed.
		{"query=" + url.QueryEscape(strings.Repeat("a:b ", 200)+"a:c"),
			store.IssueFilter{Tags: []event.Tag{{Key: "a", Value: "b"}, {Key: "a", Value: "c"}}}},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms)), store.IssueFilter{Tags: tags(MaxTagTerms)}},
		// Repeated keys must all hold; a list is any of its values.
		{"query=" + url.QueryEscape(`environment:staging environment:production level:warning level:info`),
			store.IssueFilter{Environment: "staging", Tags: []event.Tag{{Key: "environment", Value: "production"}}, Levels: [][]string{{"warning"}, {"info"}}}},
		{"query=" + url.QueryEscape(`level:[warning,info] env:[staging,"pre prod"] release:[a@1,b@2] browser:[Firefox,"Mobile Safari"] !release:[c,d]`),
			store.IssueFilter{Levels: [][]string{{"warning", "info"}}, AnyTags: [][]event.Tag{
				{{Key: "environment", Value: "staging"}, {Key: "environment", Value: "pre prod"}},
				{{Key: "release", Value: "a@1"}, {Key: "release", Value: "b@2"}},
				{{Key: "browser", Value: "Firefox"}, {Key: "browser", Value: "Mobile Safari"}}},
				NotTags: []event.Tag{{Key: "release", Value: "c"}, {Key: "release", Value: "d"}}}},
		{"query=" + url.QueryEscape(`user.email:[Ada@X.org,b@x.org]`),
			store.IssueFilter{AnyTags: [][]event.Tag{{{Key: "user.email", Value: "ada@x.org"}, {Key: "user.email", Value: "b@x.org"}}}}},
		// The dropdowns and the search box both hold.
		{"level=error&environment=production&release=r1&query=" + url.QueryEscape(`level:warning environment:staging release:r2`),
			store.IssueFilter{Level: "error", Environment: "production", Release: "r1", Levels: [][]string{{"warning"}},
				Tags: []event.Tag{{Key: "environment", Value: "staging"}, {Key: "release", Value: "r2"}}}},
		{"query=" + url.QueryEscape(`timesSeen:>1 timesSeen:<=1k timesSeen:5 timesSeen:!=7 timesSeen:>=2.5m`),
			store.IssueFilter{TimesSeen: []store.CountBound{{Op: ">", N: 1}, {Op: "<=", N: 1000}, {Op: "=", N: 5}, {Op: "!=", N: 7}, {Op: ">=", N: 2500000}}}},
		{"query=" + url.QueryEscape(`lastSeen:-1h age:-24h firstSeen:+7d lastSeen:+1w lastSeen:-30m`),
			store.IssueFilter{
				LastSeen:  []store.TimeBound{{Op: ">=", T: now.Add(-time.Hour)}, {Op: "<=", T: now.Add(-7 * 24 * time.Hour)}, {Op: ">=", T: now.Add(-30 * time.Minute)}},
				FirstSeen: []store.TimeBound{{Op: ">=", T: now.Add(-24 * time.Hour)}, {Op: "<=", T: now.Add(-7 * 24 * time.Hour)}}}},
		{"query=" + url.QueryEscape(`lastSeen:>2026-12-01 firstSeen:<=2026-11-02T10:30:00Z age:2026-11-03 lastSeen:2026-11-04T08:00:00`),
			// Each date or time is the span it is precise to: >DATE
			// starts the next day, <=TIME takes its second in, a bare
			// time is its second.
			store.IssueFilter{
				LastSeen: []store.TimeBound{{Op: ">=", T: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
					{Op: ">=", T: time.Date(2026, 11, 4, 8, 0, 0, 0, time.UTC)}, {Op: "<", T: time.Date(2026, 11, 4, 8, 0, 1, 0, time.UTC)}},
				FirstSeen: []store.TimeBound{{Op: "<", T: time.Date(2026, 11, 2, 10, 30, 1, 0, time.UTC)},
					{Op: ">=", T: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}, {Op: "<", T: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)}}}},
		// The handled and mechanism tags every event carries, under
		// Sentry's error.* names too.
		{"query=" + url.QueryEscape(`handled:no error.handled:0 error.unhandled:[false,1] error.mechanism:onerror !mechanism:generic`),
			store.IssueFilter{Tags: []event.Tag{{Key: "handled", Value: "no"}, {Key: "mechanism", Value: "onerror"}},
				AnyTags: [][]event.Tag{{{Key: "handled", Value: "yes"}, {Key: "handled", Value: "no"}}},
				NotTags: []event.Tag{{Key: "mechanism", Value: "generic"}}}},
		// QA: "=DATE", "<=DATE" matched nothing of that day, and ">DATE"
		// matched the day itself.
		{"query=" + url.QueryEscape(`firstSeen:=2026-12-06 lastSeen:<=2026-12-06`),
			store.IssueFilter{
				FirstSeen: []store.TimeBound{{Op: ">=", T: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}, {Op: "<", T: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}},
				LastSeen:  []store.TimeBound{{Op: "<", T: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}}}},
		{"query=" + url.QueryEscape(`firstSeen:>2026-12-06 lastSeen:=2026-12-06T14:50:41.847Z age:<2026-12-06T14:50`),
			store.IssueFilter{
				FirstSeen: []store.TimeBound{{Op: ">=", T: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)},
					{Op: "<", T: time.Date(2026, 12, 6, 14, 50, 0, 0, time.UTC)}},
				LastSeen: []store.TimeBound{{Op: ">=", T: time.Date(2026, 12, 6, 14, 50, 41, 847e6, time.UTC)},
					{Op: "<", T: time.Date(2026, 12, 6, 14, 50, 41, 848e6, time.UTC)}}}},
		{"query=" + url.QueryEscape(`firstRelease:goapp@1.2.3 first-release:[latest,a@2]`),
			store.IssueFilter{FirstReleases: [][]string{{"goapp@1.2.3"}, {"latest", "a@2"}}}},
		{"query=" + url.QueryEscape(`message:queue title:"PaymentError" title:"card: declined" rest`),
			store.IssueFilter{Messages: []string{"queue"}, Titles: []string{"PaymentError", "card: declined"}, Query: "rest"}},
		// Escapes in quoted values; outside quotes a backslash is itself.
		{"query=" + url.QueryEscape(`q:"say \"hi\" now" p:"C:\\dir" w:C:\x "a \"b\""`),
			store.IssueFilter{Tags: []event.Tag{{Key: "q", Value: `say "hi" now`}, {Key: "p", Value: `C:\dir`}, {Key: "w", Value: `C:\x`}}, Query: `a "b"`}},
		// tags[key] is the tag, whatever its key; a pasted title's
		// "Error:" is text.
		{"query=" + url.QueryEscape(`tags[message]:m !tags[a:b]:"x y" tags[level]:[a,b] PaymentError: declined`),
			store.IssueFilter{Tags: []event.Tag{{Key: "message", Value: "m"}}, NotTags: []event.Tag{{Key: "a:b", Value: "x y"}},
				AnyTags: [][]event.Tag{{{Key: "level", Value: "a"}, {Key: "level", Value: "b"}}}, Query: "PaymentError: declined"}},
		// A key:[...] with quotes and commas inside quotes.
		{"query=" + url.QueryEscape(`k:["a,b","c\"]"]`),
			store.IssueFilter{AnyTags: [][]event.Tag{{{Key: "k", Value: "a,b"}, {Key: "k", Value: `c"]`}}}}},
		{"query=" + url.QueryEscape(`k:"[a,b]" is:resolved is:resolved`),
			store.IssueFilter{Status: "resolved", Tags: []event.Tag{{Key: "k", Value: "[a,b]"}}}},
		// QA: Sentry's * wildcard in a value (store.Wildcard, "W" here),
		// for any key: tags, release, environment, title and message,
		// the user's fields, negated and in lists.
		{"query=" + url.QueryEscape(`browser:Headless* release:shop@1.2.* title:*wrapError* message:*Timeout`),
			store.IssueFilter{Tags: []event.Tag{{Key: "browser", Value: w("HeadlessW")}, {Key: "release", Value: w("shop@1.2.W")}},
				Titles: []string{w("WwrapErrorW")}, Messages: []string{w("WTimeout")}}},
		{"query=" + url.QueryEscape(`!browser:*Safari* env:stag* user.email:*@Example.COM !env:[dev*,test] browser:[Fire*,"Mobile Safari"]`),
			store.IssueFilter{Tags: []event.Tag{{Key: "environment", Value: w("stagW")}, {Key: "user.email", Value: w("W@example.com")}},
				NotTags: []event.Tag{{Key: "browser", Value: w("WSafariW")}, {Key: "environment", Value: w("devW")}, {Key: "environment", Value: "test"}},
				AnyTags: [][]event.Tag{{{Key: "browser", Value: w("FireW")}, {Key: "browser", Value: "Mobile Safari"}}}}},
		// \* is a star, inside quotes or out; "\\*" is a backslash and a
		// wildcard.
		{"query=" + url.QueryEscape(`a:x\*y b:"x\*y z" c:"C:\\*" d:C:\d`),
			store.IssueFilter{Tags: []event.Tag{{Key: "a", Value: "x*y"}, {Key: "b", Value: "x*y z"}, {Key: "c", Value: w(`C:\W`)}, {Key: "d", Value: `C:\d`}}}},
		// Levels are few: a pattern is the levels it matches.
		{"query=" + url.QueryEscape(`level:[*a*,debug] level:f*`),
			store.IssueFilter{Levels: [][]string{{"fatal", "warning", "debug"}, {"fatal"}}}},
		{"query=" + url.QueryEscape(`firstRelease:[shop@1.*,latest] release:latest !release:latest release:[latest,a@1]`),
			store.IssueFilter{FirstReleases: [][]string{{w("shop@1.W"), "latest"}}, Tags: []event.Tag{{Key: "release", Value: "latest"}},
				NotTags: []event.Tag{{Key: "release", Value: "latest"}}, AnyTags: [][]event.Tag{{{Key: "release", Value: "latest"}, {Key: "release", Value: "a@1"}}}}},
		// As in Sentry, a * in free text is a wildcard and \* a star; other
		// backslashes are themselves.
		{"query=" + url.QueryEscape(`Type*Error`), store.IssueFilter{Query: w("TypeWError")}},
		{"query=" + url.QueryEscape(`*a\*b* "x * y" dir\x`), store.IssueFilter{Query: w(`Wa*bW x W y dir\x`)}},
		// Negated title: and message: leave out what they match, with
		// wildcards as the positive forms have them.
		{"query=" + url.QueryEscape(`!title:foo* !message:*bar* !title:exact !message:"a b" title:t`),
			store.IssueFilter{NotTitles: []string{w("fooW"), "exact"}, NotMessages: []string{w("WbarW"), "a b"}, Titles: []string{"t"}}},
		// Invalid UTF-8 becomes U+FFFD, as in stored events, and NULs go,
		// in every value that reaches the store: PostgreSQL refuses
		// anything else.
		{"query=%ff%fe", store.IssueFilter{Query: "\uFFFD"}}, // a run of bad bytes is one U+FFFD
		{"query=" + url.QueryEscape("k:\xffv !n:\xfe [a\xff] title:t\xff message:m\xff* firstRelease:[r\xff,s\xff*] has:h\xff release:x\xff"),
			store.IssueFilter{Query: "[a\uFFFD]", Tags: []event.Tag{{Key: "k", Value: "\uFFFDv"}, {Key: "release", Value: "x\uFFFD"}},
				NotTags: []event.Tag{{Key: "n", Value: "\uFFFD"}}, Titles: []string{"t\uFFFD"}, Messages: []string{w("m\uFFFDW")},
				FirstReleases: [][]string{{"r\uFFFD", w("s\uFFFDW")}}, Has: []string{"h\uFFFD"}}},
		{"query=" + url.QueryEscape("\xff:v"), store.IssueFilter{Tags: []event.Tag{{Key: "\uFFFD", Value: "v"}}}},
		{"environment=%ffprod&release=app%fe@1&cursor=c%ff", store.IssueFilter{Environment: "\uFFFDprod", Release: "app\uFFFD@1", Cursor: "c\uFFFD"}},
		// Sentry's OR and AND are upper case and unquoted; anything else
		// is text, and parentheses are text unless they group key:value
		// terms.
		{"query=" + url.QueryEscape(`a or b And c "OR" "AND" ORDER message:"A OR B" tag:value(x) url:a(b)) k:"(x:y)"`),
			store.IssueFilter{Query: "a or b And c OR AND ORDER", Messages: []string{"A OR B"},
				Tags: []event.Tag{{Key: "tag", Value: "value(x)"}, {Key: "url", Value: "a(b))"}, {Key: "k", Value: "(x:y)"}}}},
		{"query=" + url.QueryEscape(`(timeout crash) f(x) ( ) "(a:b)"`), store.IssueFilter{Query: "(timeout crash) f(x) ( ) (a:b)"}},
		{"since=24h", store.IssueFilter{Since: now.Add(-24 * time.Hour)}},
		{"since=14d", store.IssueFilter{Since: now.Add(-14 * 24 * time.Hour)}},
		{"since=2026-11-01T00:00:00Z", store.IssueFilter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(q, now)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ query, want string }{
		{"status=open", "status must be"},
		{"query=is:open", "status must be"},
		{"level=loud", "level must be"},
		{"sort=title", `sort must be one of last_seen, first_seen, count, user_count, date, new, freq, user, not "title"`},
		{"sort=priority", "sort must be one of"},
		{"sort=trends", "sort must be one of"},
		{"since=yesterday", "since must be"},
		{"since=0d", "since must be"},
		{"since=-1h", "since must be"},
		{"limit=0", "limit must be"},
		{"limit=101", "limit must be"},
		{"limit=x", "limit must be"},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms+1)), "more than 20 tag terms"},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms)+" has:x"), "more than 20 tag terms"},
		{"query=" + url.QueryEscape("!is:resolved"), "!is: is not supported"},
		{"query=" + url.QueryEscape("user.ip:10.0.0.1"), "user.ip: cannot be searched: Flytrap keeps only a salted hash"},
		{"query=" + url.QueryEscape("!has:user.ip"), "user.ip: cannot be searched"},
		{"query=" + url.QueryEscape("has:user.ip_address"), "user.ip_address: cannot be searched"},
		{"query=" + url.QueryEscape(`has:"user.ip"`), "user.ip: cannot be searched"},
		{"query=" + url.QueryEscape(`is:"bookmarked"`), "Flytrap has no bookmarks"},
		{"query=" + strings.Repeat("é", MaxQueryLen+1), "the search is 1001 characters long; it may be at most 1000"},
		{"query=level:", "level: needs a value, as in level:error or level:[warning,info]"},
		{"query=has:", "has: needs a value, as in has:browser"},
		{"query=" + url.QueryEscape(`has:""`), "has: needs a value"},
		{"query=" + url.QueryEscape(`tags[k]:`), "tags[k]: needs a value"},
		{"query=timesSeen:", "timesSeen: needs a value, as in timesSeen:>10"},
		{"query=age:", "age: needs a value, as in age:-24h"},
		{"query=" + url.QueryEscape(`level:[warning,loud]`), `level must be one of error, fatal, warning, info, debug, not "loud"`},
		{"query=" + url.QueryEscape(`level:[warning,]`), "level: the list [warning,] has an empty value"},
		{"query=" + url.QueryEscape(`timesSeen:>x`), `timesSeen: takes a whole number after >, >=, <, <=, = or !=, as in timesSeen:>10, not ">x"`},
		{"query=" + url.QueryEscape(`timesSeen:1.5`), "timesSeen: takes a whole number"},
		{"query=" + url.QueryEscape(`timesSeen:1e3`), "timesSeen: takes a whole number"},
		{"query=" + url.QueryEscape(`timesSeen:[1,2]`), "timesSeen: takes one value, not a list"},
		{"query=" + url.QueryEscape(`!timesSeen:1`), "!timesSeen: cannot be negated; use timesSeen:!=N, or < and >"},
		{"query=" + url.QueryEscape(`lastSeen:-1y`), "lastSeen: takes a time such as -24h (within the last 24 hours), +7d (longer ago than 7 days)"},
		{"query=" + url.QueryEscape(`lastSeen:yesterday`), "lastSeen: takes a time"},
		{"query=" + url.QueryEscape(`age:-99999999w`), "age: takes a time"},
		{"query=" + url.QueryEscape(`firstSeen:!=2026-11-01`), "firstSeen: takes a time"},
		{"query=" + url.QueryEscape(`!age:-1h`), "!age: cannot be negated; use + for longer ago and - for more recently"},
		{"query=" + url.QueryEscape(`!firstRelease:a`), "!firstRelease: cannot be negated"},
		{"query=" + url.QueryEscape(`!title:[a,b]`), "!title: takes one value, not a list"},
		{"query=" + url.QueryEscape(`message:[a,b]`), "message: takes one value, not a list"},
		{"query=" + url.QueryEscape(`error.type:TypeError`), `error.type: cannot be searched: Flytrap keeps an issue's title, not its events' exceptions; search the titles instead, as in title:"TypeError"`},
		{"query=" + url.QueryEscape(`error.value:x`), "error.value: cannot be searched"},
		{"query=" + url.QueryEscape(`error.handled:maybe`), `error.handled: takes true or false (1 or 0), not "maybe"`},
		{"query=" + url.QueryEscape(`bookmarks:me`), "bookmarks:me cannot be searched: Flytrap has no bookmarks or review; search assigned:me"},
		{"query=" + url.QueryEscape(`is:for_review`), "is:for_review cannot be searched: Flytrap has no bookmarks"},
		{"query=" + url.QueryEscape(`is:bookmarked`), "is:bookmarked cannot be searched"},
		{"query=" + url.QueryEscape(`assigned:bob`), `assigned: takes me, none or a user's email, as in assigned:me or assigned:[ann@example.com,none], not "bob"`},
		{"query=" + url.QueryEscape(`!assigned:[me,nobody]`), `!assigned: takes me, none or a user's email`},
		{"query=" + url.QueryEscape(`assigned:#backend`), "assigned:#backend cannot be searched: Flytrap has no teams"},
		{"query=" + url.QueryEscape(`assigned:my_teams`), "assigned:my_teams cannot be searched: Flytrap has no teams"},
		{"query=" + url.QueryEscape(`assigned:*@example.com`), "assigned: takes no * wildcard"},
		{"query=assigned:", "assigned: needs a value, as in assigned:me"},
		{"query=" + url.QueryEscape(`is:unresolved is:resolved`), "is:unresolved and is:resolved together match nothing: an issue has one status"},
		{"query=" + url.QueryEscape(`is:[resolved,ignored]`), "is: takes one value, not a list"},
		{"query=" + url.QueryEscape(`k:[`+strings.Repeat("v,", MaxTagTerms)+`v]`), "more than 20 tag terms"},
		{"query=" + url.QueryEscape(`k:[`+strings.Repeat("v*,", MaxTagTerms)+`v*]`), "more than 20 tag terms"},
		{"query=" + url.QueryEscape(`is:unres*`), `is: takes no * wildcard; write the value whole, as in is:unresolved (a literal star is \*)`},
		{"query=" + url.QueryEscape(`has:brow*`), "has: takes no * wildcard"},
		{"query=" + url.QueryEscape(`timesSeen:>1*`), "timesSeen: takes no * wildcard"},
		{"query=" + url.QueryEscape(`lastSeen:-1*`), "lastSeen: takes no * wildcard"},
		{"query=" + url.QueryEscape(`error.handled:t*`), "error.handled: takes no * wildcard"},
		{"query=" + url.QueryEscape(`level:x*`), "level:x* matches no level; levels are error, fatal, warning, info, debug"},
		{"query=" + url.QueryEscape(`level:[error,Err*]`), "level:Err* matches no level"},
		// QA: OR, AND and parentheses were read as text, which matched
		// nothing.
		{"query=" + url.QueryEscape(`user.id:user7 OR user.id:user8`), `boolean statements containing "OR" or "AND" are not supported in this search: a list matches either value of a key, as in user.id:[user7,user8]`},
		{"query=" + url.QueryEscape(`user.id:user7 AND level:error`), `boolean statements containing "OR" or "AND" are not supported in this search: every term must hold already, so leave out the AND`},
		{"query=" + url.QueryEscape(`timeout OR crash`), `"OR" or "AND" are not supported`},
		{"query=" + url.QueryEscape(`is:nonsense AND x`), `"OR" or "AND" are not supported`},
		{"query=" + url.QueryEscape(`(user.id:user7 OR user.id:user8)`), `"OR" or "AND" are not supported`},
		{"query=" + url.QueryEscape(`(user.id:user7)`), "parentheses are not supported in this search: every term must hold already, so leave them out"},
		{"query=" + url.QueryEscape(`(user.id:user7 level:error)`), "parentheses are not supported"},
		{"query=" + url.QueryEscape(`timeout (crash level:error)`), "parentheses are not supported"},
		{"query=" + url.QueryEscape(`!(level:error)`), "parentheses are not supported"},
		{"query=" + url.QueryEscape(`( !browser:Firefox )`), "parentheses are not supported"},
		{"query=" + url.QueryEscape(`((a) b:c)`), "parentheses are not supported"},
		{"query=" + url.QueryEscape(`(is:resolved`), "parentheses are not supported"},
		// The store keeps no NUL, and dropping one left %00 no filter.
		{"query=%00", "the query parameter has a NUL byte (%00), which no stored text has: remove it"},
		{"query=a%00b", "the query parameter has a NUL byte"},
		{"environment=%00", "the environment parameter has a NUL byte"},
		{"release=app%00", "the release parameter has a NUL byte"},
		{"status=all&status=%00", "the status parameter has a NUL byte"},
		{"limit=1%00", "the limit parameter has a NUL byte"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			_, err := Parse(q, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSplitTerms(t *testing.T) {
	tests := map[string][]term{
		"":                          nil,
		"  a \t b  ":                {"a", "b"},
		`browser:"Mobile Safari" x`: {`browser:"Mobile Safari"`, "x"},
		`"unterminated quote`:       {`"unterminated quote`},
		`a""b`:                      {`a""b`},
		`"" x`:                      {"x"},
		`q:"say \"hi\" now" y`:      {`q:"say \"hi\" now"`, "y"},
		`p:C:\dir\ z`:               {`p:C:\dir\`, "z"},
	}
	for in, want := range tests {
		if got := splitTerms(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitTerms(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTermRoundTrips(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"browser", "Firefox 120", true},
		{"url", "http://example.com/a:b", true},
		{"environment", "production", true},
		{"level", "error", true},
		{"a/b", "x", true},
		{"a:b", "x", true},
		{"!k", "x", true},
		{"k", `say "hi" now`, true},
		{"k", `C:\dir\`, true},
		{"k", `\"`, true},
		{"k", "[a,b]", true},
		// Stars are not wildcards.
		{"k", "a*", true},
		{"k", `C:\*`, true},
		{"k", "* b", true},
		{"browser", "*", true},
		{"k", `x,"y`, true},
		// Tags named as the search's own keys.
		{"message", "m", true},
		{"title", "t", true},
		{"handled", "no", true},
		{"env", "prod", true},
		{"is", "x", true},
		{"timesSeen", ">1", true},
		{"tags[x", "y", true},
		{"a]:b", "x", false},
		{`a"b`, "x", false},
		{"a b", "x", false},
		{"", "x", false},
		{"k", "", false},
	}
	for _, tt := range tests {
		term, ok := Term(tt.key, tt.value)
		if ok != tt.ok {
			t.Errorf("Term(%q, %q) ok = %v, want %v", tt.key, tt.value, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		f, err := Parse(url.Values{"query": {term}}, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", term, err)
		}
		var key, value string
		switch {
		case len(f.Tags) == 1:
			key, value = f.Tags[0].Key, f.Tags[0].Value
		case f.Environment != "":
			key, value = "environment", f.Environment
		case len(f.Levels) == 1 && len(f.Levels[0]) == 1:
			key, value = "level", f.Levels[0][0]
		}
		if key != tt.key || value != tt.value || f.Query != "" {
			t.Errorf("Term(%q, %q) = %q parses as %q=%q (text %q)", tt.key, tt.value, term, key, value, f.Query)
		}
	}
}

// w is s with each W the store's wildcard.
func w(s string) string { return strings.ReplaceAll(s, "W", store.Wildcard) }

func TestMatchWildcard(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"W", "", true}, {"aW", "abc", true}, {"aW", "ba", false}, {"Wc", "abc", true}, {"WbW", "abc", true},
		{"aWa", "a", false}, {"aWa", "aa", true}, {"aWbWc", "acbc", true}, {"aWbWc", "acb", false}, {"a", "a", true},
		{"a", "A", false}, {"WxW", "abc", false},
	} {
		if got := matchWildcard(w(tt.pattern), tt.s); got != tt.want {
			t.Errorf("matchWildcard(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// tags returns n distinct tags t0:v0, t1:v1...
func tags(n int) []event.Tag {
	out := make([]event.Tag, n)
	for i := range out {
		out[i] = event.Tag{Key: fmt.Sprintf("t%d", i), Value: fmt.Sprintf("v%d", i)}
	}
	return out
}

// tagTerms is tags(n) as a search.
func tagTerms(n int) string {
	var terms []string
	for _, t := range tags(n) {
		terms = append(terms, t.Key+":"+t.Value)
	}
	return strings.Join(terms, " ")
}

// TestQuoteArg: QA's `flytrap issues list customer.tier:"gold plan"` reaches
// the CLI as one argument without its quotes, which read as a tag and free
// text and matched nothing.
func TestQuoteArg(t *testing.T) {
	tests := []struct {
		arg, want string
		tag       event.Tag // the tag Parse then reads, if any
	}{
		{"customer.tier:gold plan", `customer.tier:"gold plan"`, event.Tag{Key: "customer.tier", Value: "gold plan"}},
		{"!customer.tier:gold plan", `!customer.tier:"gold plan"`, event.Tag{}},
		{"tags[level]:a b", `tags[level]:"a b"`, event.Tag{Key: "level", Value: "a b"}},
		{`path:C:\Program Files\x`, `path:"C:\\Program Files\\x"`, event.Tag{Key: "path", Value: `C:\Program Files\x`}},
		{`k:a\* b*`, `k:"a\* b*"`, event.Tag{Key: "k", Value: "a* b" + store.Wildcard}},
		{"browser:Mobile Safari", `browser:"Mobile Safari"`, event.Tag{Key: "browser", Value: "Mobile Safari"}},
		{"k:v\twith tab", "k:\"v\twith tab\"", event.Tag{Key: "k", Value: "v\twith tab"}},
		// Left as they are.
		{"customer.tier:gold", "customer.tier:gold", event.Tag{Key: "customer.tier", Value: "gold"}},
		{`title:"cart is slow"`, `title:"cart is slow"`, event.Tag{}},
		{"level:error browser:Firefox", "level:error browser:Firefox", event.Tag{}},
		{"k:a b c:d", "k:a b c:d", event.Tag{}},
		{"is:unresolved crash", "is:unresolved crash", event.Tag{}},
		{"TypeError: Cannot read x", "TypeError: Cannot read x", event.Tag{}},
		{"connection refused: x", "connection refused: x", event.Tag{}},
		{"k:[a, b]", "k:[a, b]", event.Tag{}},
		{"plain text", "plain text", event.Tag{}},
		{"k: a", "k: a", event.Tag{}},
	}
	for _, tt := range tests {
		got := QuoteArg(tt.arg)
		if got != tt.want {
			t.Errorf("QuoteArg(%q) = %q, want %q", tt.arg, got, tt.want)
		}
		if tt.tag.Key == "" {
			continue
		}
		f, err := Parse(url.Values{"query": {got}}, now)
		if err != nil || !reflect.DeepEqual(f.Tags, []event.Tag{tt.tag}) || f.Query != "" {
			t.Errorf("Parse(%q) = tags %q, text %q, %v; want %q alone", got, f.Tags, f.Query, err, tt.tag)
		}
	}
}
