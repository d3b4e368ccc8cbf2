package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/getflytrap/flytrap/templates"
)

// dashboardUserDataTemplate is the cloud-init template's path in
// templates.FS.
const dashboardUserDataTemplate = "cloudinit/dashboard.yaml.tmpl"

// MaxUserDataBytes is EC2's limit on user data (before base64).
const MaxUserDataBytes = 16 << 10

// DashboardUserData parameterizes the dashboard instance's cloud-init
// document. It is deliberately small: everything that changes between
// deploys (bucket, binary, config) is read from instance tags and S3 at
// service start, because changing user data replaces the instance.
type DashboardUserData struct {
	// Name is the deployment's resource prefix, e.g. "flytrap-prod"; it
	// only labels the unit and the comments.
	Name string
}

var userDataName = regexp.MustCompile(`^[a-z][a-z0-9-]{2,40}$`)

// RenderDashboardUserData renders templates/cloudinit/dashboard.yaml.tmpl:
// a #cloud-config document that creates the flytrap system user, installs
// a root-owned fetch script and the hardened flytrap-dashboard.service
// unit, and starts it. The unit's ExecStartPre fetches the binary from S3
// by the instance tags and checks it against config.json's SHA-256.
func RenderDashboardUserData(p DashboardUserData) (string, error) {
	if !userDataName.MatchString(p.Name) {
		return "", fmt.Errorf("dashboard user data: name %q must be 3-41 lowercase letters, digits and hyphens, starting with a letter", p.Name)
	}
	tmpl, err := template.New("dashboard.yaml.tmpl").Option("missingkey=error").ParseFS(templates.FS, dashboardUserDataTemplate)
	if err != nil {
		return "", fmt.Errorf("dashboard user data: %w", err)
	}
	var sb strings.Builder
	if err := tmpl.Execute(&sb, p); err != nil {
		return "", fmt.Errorf("dashboard user data: %w", err)
	}
	out := sb.String()
	if len(out) > MaxUserDataBytes {
		return "", fmt.Errorf("dashboard user data is %d bytes; EC2 allows %d", len(out), MaxUserDataBytes)
	}
	return out, nil
}
