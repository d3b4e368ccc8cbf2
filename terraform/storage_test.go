package terraform

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
)

// TestDatabaseStorageHeadroom plans the database of every storage size
// init offers (each preset, and the edges of the custom range the wizard
// and plan.Validate accept), and checks what RDS
// demands of storage autoscaling and the plan cannot show: the maximum is
// either 0 (off) or at least 10 % above the allocated storage. RDS answers
// "must be increased by at least 10 percent" otherwise, which an offline
// plan accepts.
func TestDatabaseStorageHeadroom(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	var sizes []int
	for _, s := range plan.Presets {
		sizes = append(sizes, s.DBAllocatedStorageGB)
	}
	// The custom range is 20-1000 GiB (plan.Validate, variables.tf); 91
	// is the first size the old fixed maximum of 100 left too little room.
	sizes = append(sizes, 20, 91, 1000)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)

	// The database module alone (the root passes db_allocated_storage
	// and no maximum, TestPlan checks the 20 GiB default through it),
	// initialized once and planned per size in parallel.
	work := t.TempDir()
	copyEmbedded(t, "modules/database", work)
	writeFile(t, filepath.Join(work, "test_providers.tf"), moduleProvider)
	vars, _ := json.Marshal(map[string]any{
		"name":                      "flytrap-test",
		"vpc_id":                    "vpc-0123456789abcdef0",
		"subnet_ids":                []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		"client_security_group_ids": map[string]string{"dashboard": "sg-0123456789abcdef0"},
	})
	writeFile(t, filepath.Join(work, "terraform.tfvars.json"), string(vars))
	tf.mustRun(t, work, "init", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
	for _, gb := range sizes {
		t.Run(strconv.Itoa(gb), func(t *testing.T) {
			t.Parallel()
			out := fmt.Sprintf("db-%d.tfplan", gb)
			tf.mustRun(t, work, "plan", "-input=false", "-no-color", "-lock=false",
				"-var", fmt.Sprintf("allocated_storage=%d", gb), "-out="+out)
			var p planJSON
			if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", filepath.Join(work, out))), &p); err != nil {
				t.Fatal(err)
			}
			db := p.one(t, "aws_db_instance.this")
			alloc, _ := db.after("allocated_storage").(float64)
			maxAlloc, _ := db.after("max_allocated_storage").(float64)
			if alloc != float64(gb) {
				t.Fatalf("allocated_storage = %v, want %d", alloc, gb)
			}
			if maxAlloc != 0 && maxAlloc < math.Ceil(alloc*1.1) {
				t.Errorf("allocated_storage %v with max_allocated_storage %v: RDS wants the maximum at least 10 %% above (%v) or 0", alloc, maxAlloc, math.Ceil(alloc*1.1))
			}
			if maxAlloc < 100 {
				t.Errorf("max_allocated_storage = %v, want autoscaling to at least 100 GiB as documented", maxAlloc)
			}
		})
	}
}

// TestProcessorBatchBound: the processor's timeout in main.tf and the
// batch size variables.tf accepts are plan's, whose Validate refuses a
// batch that outlasts the timeout before Terraform sees it; the
// processor module, used alone, bounds the batch by its own timeout at
// plan's time an event.
func TestProcessorBatchBound(t *testing.T) {
	millisPerEvent := plan.ProcessorTimeoutSeconds * 1000 / plan.MaxProcessorBatchSize
	for _, c := range []struct {
		file string
		re   string
		want int
	}{
		{"main.tf", `(?m)^\s*processor_timeout_seconds\s*=\s*(\d+)\s*$`, plan.ProcessorTimeoutSeconds},
		{"variables.tf", `var\.processor_batch_size <= (\d+)`, plan.MaxProcessorBatchSize},
		{"modules/processor/main.tf", `var\.batch_size \* (\d+) <= var\.timeout_seconds \* 1000`, millisPerEvent},
		{"modules/processor/variables.tf", `(?s)variable "timeout_seconds" \{.*?default\s*=\s*(\d+)`, plan.ProcessorTimeoutSeconds},
	} {
		src, err := fs.ReadFile(Modules, c.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(c.re).FindSubmatch(src)
		if m == nil {
			t.Errorf("%s: no match for %s", c.file, c.re)
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != c.want {
			t.Errorf("%s: %s is %d, want %d", c.file, c.re, got, c.want)
		}
	}
}

// TestProcessorModuleBatch plans the processor module alone, as someone
// using it without the root would: a batch past the timeout is refused,
// the timeout it is given included, and so is a timeout the queue's
// visibility timeout does not cover 6 times; the defaults and matching
// values are planned.
func TestProcessorModuleBatch(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := t.TempDir()
	copyEmbedded(t, "modules/processor", work)
	writeFile(t, filepath.Join(work, "test_providers.tf"), moduleProvider)
	vars, err := json.Marshal(processorVars(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "terraform.tfvars.json"), string(vars))
	tf.mustRun(t, work, "init", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
	for _, c := range []struct {
		name string
		vars []string
		// want is "" for a plan that succeeds, else a part of its error.
		want string
	}{
		{"defaults", nil, ""},
		{"largest batch", []string{fmt.Sprintf("batch_size=%d", plan.MaxProcessorBatchSize)}, ""},
		{"batch past the timeout", []string{fmt.Sprintf("batch_size=%d", plan.MaxProcessorBatchSize+1)},
			"outlasts the processor's 60 s timeout"},
		// The timeout changed apart from the batch: 1200 events need 60 s.
		{"timeout lowered under the batch", []string{"batch_size=1200", "timeout_seconds=30", "queue_visibility_timeout_seconds=395"},
			"Lower batch_size to at most 600, or raise timeout_seconds to at least 60."},
		{"timeout lowered with the batch", []string{"batch_size=600", "timeout_seconds=30"}, ""},
		// A longer timeout fits a larger batch, with the queue's
		// visibility timeout raised to match (6 x 120 s + 5 s).
		{"timeout raised with the batch", []string{"batch_size=2400", "timeout_seconds=120", "queue_visibility_timeout_seconds=725"}, ""},
		{"timeout raised past the visibility timeout", []string{"timeout_seconds=120"},
			"The queue's visibility timeout of 395 s is under 6x the processor's 120 s timeout plus its 5 s batching window (725 s"},
		{"batch past SQS's most", []string{"batch_size=10001", "timeout_seconds=900", "queue_visibility_timeout_seconds=5405"},
			"from 1 to 10000"},
	} {
		args := []string{"plan", "-input=false", "-no-color", "-lock=false"}
		for _, v := range c.vars {
			args = append(args, "-var", v)
		}
		out, err := tf.run(t, work, args...)
		// Terraform wraps a message, each line behind a "│ ".
		flat := strings.Join(strings.Fields(strings.ReplaceAll(out, "│", "")), " ")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: plan %v: %v\n%s", c.name, c.vars, err, tail(out, 30))
		case c.want != "" && (err == nil || !strings.Contains(flat, c.want)):
			t.Errorf("%s: plan %v: err %v, want %q\n%s", c.name, c.vars, err, c.want, tail(out, 30))
		}
	}
}
