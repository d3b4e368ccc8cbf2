package deploy

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/getflytrap/flytrap/internal/plan"
)

// Report is the outcome of a deploy or destroy, printed as JSON with
// --json and as text otherwise.
type Report struct {
	Operation string       `json:"operation"`
	Name      string       `json:"name"`
	Region    string       `json:"region"`
	AccountID string       `json:"account_id"`
	DryRun    bool         `json:"dry_run"`
	Workspace string       `json:"workspace"`
	Steps     []StepResult `json:"steps"`
	// Completed is true when every step ran (a dry run: up to its stop).
	Completed bool           `json:"completed"`
	Declined  bool           `json:"declined,omitempty"`
	Resolved  *Resolved      `json:"resolved,omitempty"`
	Plan      *PlanReport    `json:"plan,omitempty"`
	Applied   *AppliedReport `json:"applied,omitempty"`
	Outputs   *Outputs       `json:"outputs,omitempty"`
	DSN       string         `json:"dsn,omitempty"`
	Admin     *AdminReport   `json:"admin,omitempty"`
	Smoke     *SmokeResult   `json:"smoke,omitempty"`
	Estimate  *plan.Estimate `json:"estimate,omitempty"`
	Warnings  []string       `json:"warnings,omitempty"`
	Error     string         `json:"error,omitempty"`
	// planFlag is " --plan <path>" when the plan is not flytrap.yaml of
	// the current directory, for the commands the summary suggests.
	planFlag string
}

// PlanReport summarizes the plan.
type PlanReport struct {
	Add     int           `json:"add"`
	Change  int           `json:"change"`
	Destroy int           `json:"destroy"`
	Changes []ChangeGroup `json:"changes,omitempty"`
	// Database lists the database settings the plan changes and when RDS
	// applies each.
	Database []DatabaseChange `json:"database,omitempty"`
	// Skipped says why there is no plan (dry run without Terraform or
	// provider).
	Skipped string `json:"skipped,omitempty"`
}

// AppliedReport summarizes an apply or destroy.
type AppliedReport struct {
	Done       int `json:"done"`
	Failed     int `json:"failed"`
	Total      int `json:"total"`
	ElapsedSec int `json:"elapsed_seconds"`
}

// AdminReport is the first administrator's login.
type AdminReport struct {
	Email string `json:"email"`
	// Password is shown once: the object it came from is deleted.
	Password string `json:"password,omitempty"`
	// ShownBefore is true when an earlier deploy took the password.
	ShownBefore bool `json:"shown_before,omitempty"`
}

// Report builds the report of a run that produced results and err.
func (s *State) Report(results []StepResult, err error) Report {
	r := Report{
		Operation: s.operation(),
		Name:      s.Plan.Name,
		Region:    s.Plan.AWS.Region,
		AccountID: s.Identity.Account,
		DryRun:    s.Options.DryRun,
		Workspace: s.Options.Workspace,
		Steps:     results,
		Completed: err == nil && !s.Declined,
		Declined:  s.Declined,
		Outputs:   s.Outputs,
		Smoke:     s.Smoke,
		Warnings:  s.Warnings,
	}
	if r.Steps == nil {
		r.Steps = []StepResult{}
	}
	if p := s.Options.PlanPath; p != "" {
		if here, err := filepath.Abs(plan.DefaultFile); err != nil || here != p {
			r.planFlag = " --plan " + shellWord(p)
		}
	}
	if err != nil {
		r.Error = err.Error()
	}
	if s.Resolved.AccountID != "" {
		res := s.Resolved
		r.Resolved = &res
	}
	if s.PlanProgress != nil && s.PlanProgress.Summary != nil {
		sum := s.PlanProgress.Summary
		r.Plan = &PlanReport{Add: sum.Add, Change: sum.Change, Destroy: sum.Remove, Changes: GroupChanges(s.PlanProgress.Planned), Database: s.DatabaseChanges}
	} else if s.PlanSkipped != "" {
		r.Plan = &PlanReport{Skipped: s.PlanSkipped}
	}
	if p := s.Applied; p != nil {
		r.Applied = &AppliedReport{Done: p.Done, Failed: p.Failed, Total: p.Total, ElapsedSec: int(p.Elapsed().Seconds())}
	}
	if s.Outputs != nil {
		r.DSN = s.Outputs.DSN()
	}
	switch {
	case s.Admin != nil:
		r.Admin = &AdminReport{Email: s.Admin.Email, Password: s.Admin.Password}
	case s.AdminShownBefore:
		r.Admin = &AdminReport{Email: s.Plan.AdminEmail, ShownBefore: true}
	}
	return r
}

// WriteSummary prints the end of a deploy for people.
func (r Report) WriteSummary(w io.Writer) {
	if r.Operation == "destroy" {
		if r.Declined {
			fmt.Fprintf(w, "\nNothing was destroyed.\n")
		}
		if r.Completed {
			fmt.Fprintf(w, "\nDeployment %q is destroyed (account %s, %s).\n", r.Name, r.AccountID, r.Region)
		}
		writeWarnings(w, r.Warnings)
		return
	}
	if r.DryRun && r.Error != "" {
		// No "Next: flytrap deploy": the same failure would stop it.
		fmt.Fprintf(w, "\nDry run of %q (%s) failed; nothing was created.\n", r.Name, r.Region)
		fmt.Fprintf(w, "  Fix:        the error below, then run flytrap deploy%s --dry-run again\n", r.planFlag)
		writeWarnings(w, r.Warnings)
		return
	}
	if r.DryRun {
		// A skipped plan still exits 0 (docs/deploy.md: offline, a dry
		// run renders the workspace only), so the summary must not read
		// as if the modules had been planned.
		if r.Plan != nil && r.Plan.Skipped != "" {
			fmt.Fprintf(w, "\nDry run of %q (%s): nothing was created, and no Terraform plan was made: the workspace is written, but not checked against AWS's provider.\n", r.Name, r.Region)
		} else {
			fmt.Fprintf(w, "\nDry run of %q (%s): nothing was created.\n", r.Name, r.Region)
		}
		fmt.Fprintf(w, "  Workspace:  %s (modules, %s, %s/)\n", r.Workspace, VarsFileName, ArtifactsDir)
		if r.Plan != nil && r.Plan.Skipped == "" {
			fmt.Fprintf(w, "  Plan:       %d to add, %d to change, %d to destroy (placeholder account, AMI and zones)\n", r.Plan.Add, r.Plan.Change, r.Plan.Destroy)
		} else if r.Plan != nil {
			fmt.Fprintf(w, "  Plan:       none: %s\n", r.Plan.Skipped)
		}
		if r.Estimate != nil {
			fmt.Fprintf(w, "  Cost:       %s (docs/deploy.md)\n", r.Estimate.Headline())
		}
		fmt.Fprintf(w, "  Next:       flytrap deploy%s (needs AWS credentials)\n", r.planFlag)
		writeWarnings(w, r.Warnings)
		return
	}
	if r.Declined {
		fmt.Fprintf(w, "\nNothing was applied to %q.\n", r.Name)
		return
	}
	if r.Outputs == nil {
		writeWarnings(w, r.Warnings)
		return
	}
	if r.Completed {
		fmt.Fprintf(w, "\nFlytrap %q is deployed (account %s, %s).\n", r.Name, r.AccountID, r.Region)
	} else {
		fmt.Fprintf(w, "\nFlytrap %q is applied, but not everything checked out (see above).\n", r.Name)
	}
	fmt.Fprintf(w, "  Dashboard:  %s\n", r.Outputs.DashboardURL)
	fmt.Fprintf(w, "  Ingest:     %s\n", r.Outputs.IngestURL)
	fmt.Fprintf(w, "  DSN:        %s  (each project's key and ID are in the dashboard)\n", r.DSN)
	switch {
	case r.Admin != nil && r.Admin.Password != "":
		fmt.Fprintf(w, "  Login:      %s / %s\n", r.Admin.Email, r.Admin.Password)
		fmt.Fprintf(w, "              (shown once and deleted from S3: store it or change it now)\n")
	case r.Admin != nil && r.Admin.ShownBefore:
		fmt.Fprintf(w, "  Login:      %s (the password was shown by the first deploy)\n", r.Admin.Email)
	}
	if r.Estimate != nil {
		fmt.Fprintf(w, "  Cost:       %s (docs/deploy.md)\n", r.Estimate.Headline())
	}
	fmt.Fprintf(w, "  Status:     flytrap status%s\n", r.planFlag)
	writeWarnings(w, r.Warnings)
}

func writeWarnings(w io.Writer, warnings []string) {
	if len(warnings) == 0 {
		return
	}
	fmt.Fprintln(w, "Warnings:")
	for _, m := range warnings {
		fmt.Fprintf(w, "  - %s\n", m)
	}
}
