package terraform

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/plan/plantest"
)

// TestTagValidation plans the root module's tags variable alone (its
// block copied out of variables.tf, no provider needed) with each of
// plantest.TagCases, the table internal/plan's ValidateTags is tested
// with: both must accept what IAM's Tag API and the instance metadata
// accept and refuse the rest (a comma in a key, "&" or "#" in a value),
// so a bad --tag fails in init, not halfway through the first apply.
func TestTagValidation(t *testing.T) {
	tf := needTerraform(t)
	t.Parallel()
	src, err := Modules.ReadFile("variables.tf")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?ms)^variable "tags" \{.*?^\}`).Find(src)
	if block == nil {
		t.Fatal(`variables.tf has no variable "tags"`)
	}
	for i, tc := range plantest.TagCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			writeFile(t, filepath.Join(work, "variables.tf"), string(block))
			vars, _ := json.Marshal(map[string]any{"tags": map[string]string{tc.Key: tc.Value}})
			writeFile(t, filepath.Join(work, "terraform.tfvars.json"), string(vars))
			out, err := tf.run(t, work, "plan", "-input=false", "-no-color")
			if tfOK := err == nil; tfOK != tc.OK {
				t.Errorf("tag %q=%q: terraform accepts it %v, want %v\n%s", tc.Key, tc.Value, tfOK, tc.OK, tail(out, 20))
			} else if err != nil && !strings.Contains(out, "Invalid value for variable") {
				t.Errorf("tag %q=%q: plan failed for another reason:\n%s", tc.Key, tc.Value, tail(out, 20))
			}
			if goOK := plan.ValidateTags(map[string]string{tc.Key: tc.Value}) == nil; goOK != tc.OK {
				t.Errorf("tag %q=%q: plan.ValidateTags accepts it %v, want %v", tc.Key, tc.Value, goOK, tc.OK)
			}
		})
	}
	// Keys are case-insensitive to AWS: Team and team are refused.
	t.Run("case", func(t *testing.T) {
		t.Parallel()
		work := t.TempDir()
		writeFile(t, filepath.Join(work, "variables.tf"), string(block))
		writeFile(t, filepath.Join(work, "terraform.tfvars.json"), `{"tags": {"Team": "a", "team": "b"}}`)
		out, err := tf.run(t, work, "plan", "-input=false", "-no-color")
		if err == nil || !strings.Contains(out, "differ in more than case") {
			t.Errorf("Team and team: terraform plan %v\n%s", err, tail(out, 20))
		}
	})
}

// TestS3ObjectTagLimit plans the root module with the most --tags allowed:
// S3 objects take at most 10 tags, so the dashboard's binary and runtime
// config must not get the user's tags (the first apply would fail), while
// the other resources keep them.
func TestS3ObjectTagLimit(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	tags := map[string]string{}
	for i := range 40 {
		tags[fmt.Sprintf("Tag%02d", i)] = "x"
	}
	if err := plan.ValidateTags(tags); err != nil {
		t.Fatalf("40 tags: %v", err)
	}
	work := planWorkspace(t, tf, map[string]any{"tags": tags})
	tf.mustRun(t, work, "plan", "-input=false", "-no-color", "-out=flytrap.tfplan")
	var p planJSON
	if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", "flytrap.tfplan")), &p); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	objects := p.all("aws_s3_object")
	if len(objects) == 0 {
		t.Fatal("the plan has no aws_s3_object")
	}
	for _, rc := range objects {
		all, _ := rc.after("tags_all").(map[string]any)
		if len(all) > 10 {
			t.Errorf("%s gets %d tags; S3 objects take at most 10", rc.Address, len(all))
		}
		expect(t, rc, "tags_all.FlytrapDeployment", "test")
	}
	expect(t, p.one(t, "module.database.aws_db_instance.this"), "tags_all.Tag39", "x")
}
