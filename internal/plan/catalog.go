package plan

import (
	"fmt"
	"slices"
	"strings"
)

// The catalog: what exists in AWS, embedded so `flytrap init` can refuse a
// typo offline (init also asks AWS when credentials are there). It is a
// snapshot; a region, family or class newer than this flytrap is refused
// with a hint to upgrade.
var (
	// KnownRegions are the AWS regions (commercial, GovCloud, China) a
	// deployment may use.
	KnownRegions = []string{
		"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
		"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1",
		"cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
		"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
		"mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1",
		"us-west-1", "us-west-2",
	}
	// gravitonFamilies are the arm64 EC2 families and the sizes each has.
	gravitonFamilies = map[string][]string{
		"t4g": {"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"},
	}
	// dbClasses are the RDS for PostgreSQL 17 instance families and their
	// sizes.
	dbClasses = map[string][]string{
		"db.t3":  {"micro", "small", "medium", "large", "xlarge", "2xlarge"},
		"db.t4g": {"micro", "small", "medium", "large", "xlarge", "2xlarge"},
	}
)

func init() {
	big := []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"}
	for _, f := range []string{"m6g", "m6gd", "m7g", "m7gd", "m8g", "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "r6g", "r6gd", "r7g", "r7gd", "r8g"} {
		gravitonFamilies[f] = append(slices.Clone(big), "metal")
	}
	rds := []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"}
	for _, f := range []string{"db.m5", "db.m6g", "db.m6gd", "db.m6i", "db.m7g", "db.m7i", "db.m8g", "db.r5", "db.r6g", "db.r6gd", "db.r6i", "db.r7g", "db.r7i", "db.r8g"} {
		dbClasses[f] = rds
	}
}

// CheckCatalog checks the plan's region, dashboard instance type and
// database class against the embedded catalog. Validate checks their
// shape; this checks that they exist, so a typo (eu-wets-1, t4g.smal,
// db.t4g.mirco) is refused by init rather than by AWS halfway through an
// apply. Deploy does not run it: a plan file edited for a newer region
// must stay deployable.
func CheckCatalog(p Plan) error {
	var errs []string
	if !slices.Contains(KnownRegions, p.AWS.Region) {
		errs = append(errs, fmt.Sprintf("aws.region: %q is not an AWS region%s", p.AWS.Region, suggest(p.AWS.Region, KnownRegions)))
	}
	if family, size, ok := strings.Cut(p.Sizes.DashboardInstanceType, "."); ok {
		if sizes, known := gravitonFamilies[family]; !known {
			errs = append(errs, fmt.Sprintf("sizes.dashboard_instance_type: %q is not a Graviton EC2 family%s", family, suggest(family, keys(gravitonFamilies))))
		} else if !slices.Contains(sizes, size) {
			errs = append(errs, fmt.Sprintf("sizes.dashboard_instance_type: %s has no size %q (%s)", family, size, strings.Join(sizes, ", ")))
		}
	}
	cls := p.Sizes.DBInstanceClass
	if i := strings.LastIndexByte(cls, '.'); i > 0 {
		family, size := cls[:i], cls[i+1:]
		if sizes, known := dbClasses[family]; !known {
			errs = append(errs, fmt.Sprintf("sizes.db_instance_class: %q is not an RDS for PostgreSQL family%s", family, suggest(family, keys(dbClasses))))
		} else if !slices.Contains(sizes, size) {
			errs = append(errs, fmt.Sprintf("sizes.db_instance_class: %s has no size %q (%s)", family, size, strings.Join(sizes, ", ")))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &CatalogError{Problems: errs}
}

// CatalogError lists the values the catalog does not know.
type CatalogError struct{ Problems []string }

// Error joins the problems, one a line.
func (e *CatalogError) Error() string { return strings.Join(e.Problems, "\n") }

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// suggest returns " (did you mean X?)" for the known value closest to s,
// when it is close (an edit distance of at most 2).
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
