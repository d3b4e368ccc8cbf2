package deploytest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// AccountFake answers the calls of init's account checks over HTTP, in the
// protocols AWS speaks: STS GetCallerIdentity and RDS
// DescribeOrderableDBInstanceOptions in the Query protocol, EC2
// DescribeRegions, DescribeAvailabilityZones and
// DescribeInstanceTypeOfferings in EC2's Query dialect (form in, XML out),
// and Lambda GetAccountSettings in REST-JSON. One URL serves all of them,
// as AWS_ENDPOINT_URL points every client at one endpoint: the Action (or
// Lambda's path) tells them apart. Each request's signing region
// (from its Authorization header) chooses the region's zones.
type AccountFake struct {
	URL     string
	Account string
	// Regions maps each region to its opt-in status.
	Regions map[string]string
	// Zones are each region's usable availability zones.
	Zones map[string][]string
	// Offered maps an instance type to the zones offering it.
	Offered map[string][]string
	// Orderable are the RDS for PostgreSQL options: class and version.
	Orderable []DBOption
	// PrefixLists maps each region to its managed prefix lists, name to ID.
	PrefixLists map[string]map[string]string
	// LambdaConcurrency and LambdaUnreserved are the AccountLimit
	// GetAccountSettings reports (1000 and 1000, AWS's default quota
	// with nothing reserved).
	LambdaConcurrency, LambdaUnreserved int32
	// Denied actions answer AccessDenied (RDS), UnauthorizedOperation
	// (EC2) or AccessDeniedException (Lambda), as for credentials without
	// the permission.
	Denied map[string]bool
	// STSError, when set, is the error code STS answers with (HTTP 403),
	// e.g. InvalidClientTokenId for rejected keys, ExpiredToken.
	STSError string
	// PageSize, when set, splits paginated answers (NextToken, Marker).
	PageSize int

	mu    sync.Mutex
	calls []string
}

// DBOption is one orderable option of DescribeOrderableDBInstanceOptions.
type DBOption struct{ Class, Version string }

// NewAccount starts the fake with an account whose eu-west-1 has three
// zones offering t4g.small, whose ap-east-1 is not enabled, and whose RDS
// orders db.t4g.micro to db.t4g.medium and db.m7g.large for PostgreSQL 16
// and 17.
func NewAccount(t testing.TB) *AccountFake {
	t.Helper()
	f := &AccountFake{
		Account: Account,
		Regions: map[string]string{"us-east-1": "opt-in-not-required", "eu-west-1": "opt-in-not-required", "ap-east-1": "not-opted-in"},
		Zones:   map[string][]string{"eu-west-1": {"eu-west-1a", "eu-west-1b", "eu-west-1c"}, "us-east-1": {"us-east-1a", "us-east-1b"}},
		Offered: map[string][]string{"t4g.small": {"eu-west-1a", "eu-west-1b", "eu-west-1c", "us-east-1a", "us-east-1b"}},
		Denied:  map[string]bool{},

		LambdaConcurrency: 1000, LambdaUnreserved: 1000,
		PrefixLists: map[string]map[string]string{
			"eu-west-1": {"com.amazonaws.global.cloudfront.origin-facing": "pl-4fa04526", "com.amazonaws.eu-west-1.s3": "pl-6da54004"},
			"us-east-1": {"com.amazonaws.global.cloudfront.origin-facing": "pl-3b927c52"},
		},
	}
	for _, v := range []string{"16.8", "17.4", "17.6"} {
		for _, c := range []string{"db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.m7g.large"} {
			f.Orderable = append(f.Orderable, DBOption{c, v})
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Calls lists the requests served as "Action@signing-region", in order.
func (f *AccountFake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// lambdaSettingsPath is GetAccountSettings' path; the SDK sends it
// without the documented trailing slash.
const lambdaSettingsPath = "/2016-08-19/account-settings"

func (f *AccountFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == lambdaSettingsPath {
		f.accountSettings(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	action := r.Form.Get("Action")
	scope := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
	region := ""
	if scope != nil {
		region = scope[1]
	}
	f.mu.Lock()
	f.calls = append(f.calls, action+"@"+region)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	ec2 := action == "DescribeRegions" || action == "DescribeAvailabilityZones" || action == "DescribeInstanceTypeOfferings" || action == "DescribeManagedPrefixLists"
	switch {
	case scope == nil:
		queryError(w, ec2, http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	case f.STSError != "" && action == "GetCallerIdentity":
		queryError(w, false, http.StatusForbidden, f.STSError, "fake STS error "+f.STSError)
	case f.Denied[action] && ec2:
		queryError(w, true, http.StatusForbidden, "UnauthorizedOperation", "You are not authorized to perform this operation.")
	case f.Denied[action]:
		queryError(w, false, http.StatusForbidden, "AccessDenied", "User is not authorized to perform: rds:"+action)
	case action == "GetCallerIdentity":
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/deployer</Arn><UserId>AIDAFAKEUSERID</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, f.Account, f.Account)
	case action == "DescribeRegions":
		f.describeRegions(w, r)
	case action == "DescribeAvailabilityZones":
		f.describeZones(w, region)
	case action == "DescribeInstanceTypeOfferings":
		f.describeOfferings(w, r, region)
	case action == "DescribeOrderableDBInstanceOptions":
		f.describeOrderable(w, r)
	case action == "DescribeManagedPrefixLists":
		f.describePrefixLists(w, r, region)
	default:
		queryError(w, ec2, http.StatusBadRequest, "InvalidAction", "the fake does not implement "+action)
	}
}

// accountSettings answers Lambda's GetAccountSettings as Lambda does: JSON
// numbers, an error's code in X-Amzn-ErrorType.
func (f *AccountFake) accountSettings(w http.ResponseWriter, r *http.Request) {
	scope := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
	region := ""
	if scope != nil {
		region = scope[1]
	}
	f.mu.Lock()
	f.calls = append(f.calls, "GetAccountSettings@"+region)
	denied := f.Denied["GetAccountSettings"]
	limit, unreserved := f.LambdaConcurrency, f.LambdaUnreserved
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if scope == nil || denied {
		code, msg := "AccessDeniedException", "User: arn:aws:iam::"+f.Account+":user/deployer is not authorized to perform: lambda:GetAccountSettings"
		if scope == nil {
			code, msg = "MissingAuthenticationTokenException", "Missing Authentication Token"
		}
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"Type":"User","Message":%q}`, msg)
		return
	}
	fmt.Fprintf(w, `{"AccountLimit":{"TotalCodeSize":80530636800,"CodeSizeUnzipped":262144000,"CodeSizeZipped":52428800,"ConcurrentExecutions":%d,"UnreservedConcurrentExecutions":%d},"AccountUsage":{"TotalCodeSize":0,"FunctionCount":0}}`, limit, unreserved)
}

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

func (f *AccountFake) describeRegions(w http.ResponseWriter, r *http.Request) {
	all := r.Form.Get("AllRegions") == "true"
	var names []string
	for n, status := range f.Regions {
		// Without AllRegions, EC2 lists only the enabled regions.
		if all || status != "not-opted-in" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(w, `<DescribeRegionsResponse xmlns="%s"><requestId>req-1</requestId><regionInfo>`, ec2NS)
	for _, n := range names {
		fmt.Fprintf(w, `<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint><optInStatus>%s</optInStatus></item>`, n, n, f.Regions[n])
	}
	fmt.Fprint(w, `</regionInfo></DescribeRegionsResponse>`)
}

func (f *AccountFake) describeZones(w http.ResponseWriter, region string) {
	fmt.Fprintf(w, `<DescribeAvailabilityZonesResponse xmlns="%s"><requestId>req-1</requestId><availabilityZoneInfo>`, ec2NS)
	for _, z := range f.Zones[region] {
		fmt.Fprintf(w, `<item><zoneName>%s</zoneName><zoneState>available</zoneState><regionName>%s</regionName><zoneType>availability-zone</zoneType><optInStatus>opt-in-not-required</optInStatus></item>`, z, region)
	}
	fmt.Fprint(w, `</availabilityZoneInfo></DescribeAvailabilityZonesResponse>`)
}

// ec2Filter returns the values of the request's filter called name.
func ec2Filter(r *http.Request, name string) []string {
	for i := 1; ; i++ {
		n := r.Form.Get(fmt.Sprintf("Filter.%d.Name", i))
		if n == "" {
			return nil
		}
		if n != name {
			continue
		}
		var vals []string
		for j := 1; r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)) != ""; j++ {
			vals = append(vals, r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
		}
		return vals
	}
}

func (f *AccountFake) describeOfferings(w http.ResponseWriter, r *http.Request, region string) {
	if lt := r.Form.Get("LocationType"); lt != "availability-zone" {
		queryError(w, true, http.StatusBadRequest, "InvalidParameterValue", "the fake answers LocationType availability-zone only, not "+lt)
		return
	}
	types := ec2Filter(r, "instance-type")
	type offering struct{ typ, zone string }
	var items []offering
	for _, typ := range types {
		for _, z := range f.Offered[typ] {
			if slices.Contains(f.Zones[region], z) {
				items = append(items, offering{typ, z})
			}
		}
	}
	page, next := f.page(len(items), r.Form.Get("NextToken"))
	fmt.Fprintf(w, `<DescribeInstanceTypeOfferingsResponse xmlns="%s"><requestId>req-1</requestId><instanceTypeOfferingSet>`, ec2NS)
	for _, o := range items[page[0]:page[1]] {
		fmt.Fprintf(w, `<item><instanceType>%s</instanceType><locationType>availability-zone</locationType><location>%s</location></item>`, o.typ, o.zone)
	}
	fmt.Fprint(w, `</instanceTypeOfferingSet>`)
	if next != "" {
		fmt.Fprintf(w, `<nextToken>%s</nextToken>`, next)
	}
	fmt.Fprint(w, `</DescribeInstanceTypeOfferingsResponse>`)
}

func (f *AccountFake) describePrefixLists(w http.ResponseWriter, r *http.Request, region string) {
	names := ec2Filter(r, "prefix-list-name")
	fmt.Fprintf(w, `<DescribeManagedPrefixListsResponse xmlns="%s"><requestId>req-1</requestId><prefixListSet>`, ec2NS)
	for name, id := range f.PrefixLists[region] {
		if names == nil || slices.Contains(names, name) {
			fmt.Fprintf(w, `<item><prefixListId>%s</prefixListId><prefixListName>%s</prefixListName><state>create-complete</state><addressFamily>IPv4</addressFamily><ownerId>AWS</ownerId></item>`, id, name)
		}
	}
	fmt.Fprint(w, `</prefixListSet></DescribeManagedPrefixListsResponse>`)
}

func (f *AccountFake) describeOrderable(w http.ResponseWriter, r *http.Request) {
	if e := r.Form.Get("Engine"); e != "postgres" {
		queryError(w, false, http.StatusBadRequest, "InvalidParameterValue", "the fake knows engine postgres only, not "+e)
		return
	}
	class, version := r.Form.Get("DBInstanceClass"), r.Form.Get("EngineVersion")
	var items []DBOption
	for _, o := range f.Orderable {
		// A major version matches its minor versions, as on RDS (an
		// assumption only a real account can confirm; the checks do not
		// rely on it for their verdict).
		if (class == "" || o.Class == class) && (version == "" || o.Version == version || strings.HasPrefix(o.Version, version+".")) {
			items = append(items, o)
		}
	}
	page, next := f.page(len(items), r.Form.Get("Marker"))
	fmt.Fprint(w, `<DescribeOrderableDBInstanceOptionsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeOrderableDBInstanceOptionsResult><OrderableDBInstanceOptions>`)
	for _, o := range items[page[0]:page[1]] {
		fmt.Fprintf(w, `<OrderableDBInstanceOption><Engine>postgres</Engine><EngineVersion>%s</EngineVersion><DBInstanceClass>%s</DBInstanceClass><StorageType>gp3</StorageType><MultiAZCapable>true</MultiAZCapable></OrderableDBInstanceOption>`, o.Version, o.Class)
	}
	fmt.Fprint(w, `</OrderableDBInstanceOptions>`)
	if next != "" {
		fmt.Fprintf(w, `<Marker>%s</Marker>`, next)
	}
	fmt.Fprint(w, `</DescribeOrderableDBInstanceOptionsResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeOrderableDBInstanceOptionsResponse>`)
}

// page returns the [start, end) of the page token asks for among n items,
// and the next page's token ("" for the last).
func (f *AccountFake) page(n int, token string) ([2]int, string) {
	start, _ := strconv.Atoi(strings.TrimPrefix(token, "page-"))
	start = min(start, n)
	end := n
	if f.PageSize > 0 {
		end = min(start+f.PageSize, n)
	}
	if end < n {
		return [2]int{start, end}, fmt.Sprintf("page-%d", end)
	}
	return [2]int{start, end}, ""
}

// queryError writes an error in EC2's format (ec2) or the Query
// protocol's (STS, RDS).
func queryError(w http.ResponseWriter, ec2 bool, status int, code, msg string) {
	w.WriteHeader(status)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	if ec2 {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>req-1</RequestID></Response>`, code, b.String())
		return
	}
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, code, b.String())
}
