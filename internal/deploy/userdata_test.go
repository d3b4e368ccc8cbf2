package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

const userDataGolden = "testdata/dashboard-user-data.golden.yaml"

// cloudConfig is the part of the cloud-init schema the template uses.
type cloudConfig struct {
	Users []any `yaml:"users"`
	Files []struct {
		Path        string `yaml:"path"`
		Owner       string `yaml:"owner"`
		Permissions string `yaml:"permissions"`
		Content     string `yaml:"content"`
	} `yaml:"write_files"`
	RunCmd [][]string `yaml:"runcmd"`
}

func renderUserData(t *testing.T) (string, cloudConfig) {
	t.Helper()
	out, err := RenderDashboardUserData(DashboardUserData{Name: "flytrap-prod"})
	if err != nil {
		t.Fatalf("RenderDashboardUserData: %v", err)
	}
	var cc cloudConfig
	if err := yaml.Unmarshal([]byte(out), &cc); err != nil {
		t.Fatalf("user data is not YAML: %v", err)
	}
	return out, cc
}

func (cc cloudConfig) file(t *testing.T, path string) string {
	t.Helper()
	for _, f := range cc.Files {
		if f.Path == path {
			if f.Owner != "root:root" {
				t.Errorf("%s is owned by %q, want root:root", path, f.Owner)
			}
			return f.Content
		}
	}
	t.Fatalf("user data writes no %s", path)
	return ""
}

func TestDashboardUserDataGolden(t *testing.T) {
	out, _ := renderUserData(t)
	if golden.Update() {
		if err := os.WriteFile(userDataGolden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(userDataGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out != string(want) {
		t.Errorf("user data differs from %s (run go test -run TestDashboardUserDataGolden -update after checking the change)", userDataGolden)
	}
}

func TestDashboardUserDataShape(t *testing.T) {
	out, cc := renderUserData(t)
	if !strings.HasPrefix(out, "#cloud-config\n") {
		t.Errorf("user data starts with %q, want #cloud-config", out[:min(len(out), 20)])
	}
	if len(out) > MaxUserDataBytes {
		t.Errorf("user data is %d bytes, EC2 allows %d", len(out), MaxUserDataBytes)
	}
	if !strings.Contains(out, "flytrap-prod") {
		t.Error("the deployment name is not in the user data")
	}
	foundUser := false
	for _, u := range cc.Users {
		if m, ok := u.(map[string]any); ok && m["name"] == "flytrap" && m["system"] == true {
			foundUser = true
		}
	}
	if !foundUser {
		t.Errorf("users = %v, want a system user flytrap", cc.Users)
	}
	if len(cc.RunCmd) == 0 || !strings.Contains(strings.Join(cc.RunCmd[len(cc.RunCmd)-1], " "), "enable --now --no-block flytrap-dashboard.service") {
		t.Errorf("runcmd = %v, want it to enable and start the service", cc.RunCmd)
	}

	// The log file reaches the log group Terraform creates
	// (terraform/observability.tf).
	if agent := cc.file(t, "/opt/aws/amazon-cloudwatch-agent/etc/flytrap.json"); !strings.Contains(agent, `"log_group_name": "/ec2/flytrap-prod-dashboard"`) || !strings.Contains(agent, `"file_path": "/var/log/flytrap/dashboard.log"`) || !json.Valid([]byte(agent)) {
		t.Errorf("CloudWatch agent config:\n%s", agent)
	}

	unit := cc.file(t, "/etc/systemd/system/flytrap-dashboard.service")
	directives := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			directives[k] = append(directives[k], v)
		}
	}
	for _, want := range []struct{ key, value string }{
		{"User", "flytrap"},
		{"ExecStartPre", "+/usr/local/libexec/flytrap/fetch-dashboard"},
		{"ExecStart", "/opt/flytrap/flytrap-dashboard"},
		{"Restart", "always"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"StateDirectory", "flytrap"},
		{"AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
		{"StartLimitIntervalSec", "0"},
		{"WantedBy", "multi-user.target"},
		{"StandardOutput", "append:/var/log/flytrap/dashboard.log"},
	} {
		if got := directives[want.key]; len(got) != 1 || got[0] != want.value {
			t.Errorf("%s = %v, want %q", want.key, got, want.value)
		}
	}
}

func TestDashboardUserDataRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "ab", "Flytrap", "flytrap prod", "flytrap\nruncmd: [x]", "1flytrap", strings.Repeat("a", 42)} {
		if _, err := RenderDashboardUserData(DashboardUserData{Name: name}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// TestFetchScript runs the fetch script from the user data with real
// curl against the IMDS fake and an `aws` stub that copies from a local
// directory laid out as bucket/key.
func TestFetchScript(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	_, cc := renderUserData(t)
	script := filepath.Join(t.TempDir(), "fetch-dashboard")
	if err := os.WriteFile(script, []byte(cc.file(t, "/usr/local/libexec/flytrap/fetch-dashboard")), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}

	const bucket, binKey, cfgKey = "flytrap-prod-bucket", "deploy/dashboard/flytrap-dashboard", "deploy/dashboard/config.json"
	md := awsxtest.NewIMDS(t, map[string]string{
		"placement/region":               "eu-west-1",
		"tags/instance/FlytrapBucket":    bucket,
		"tags/instance/FlytrapBinaryKey": binKey,
		"tags/instance/FlytrapConfigKey": cfgKey,
	})
	stubs := t.TempDir()
	stub := `#!/bin/bash
# aws s3 cp --quiet --region REGION s3://BUCKET/KEY DEST
set -eu
[[ "$1 $2 $3 $4 $5" == "s3 cp --quiet --region eu-west-1" ]] || { echo "unexpected aws call: $*" >&2; exit 2; }
echo "$6" >> "$FAKE_S3_LOG"
cp "$FAKE_S3/${6#s3://}" "$7"
`
	if err := os.WriteFile(filepath.Join(stubs, "aws"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}

	binary := []byte("#!/bin/true\nflytrap dashboard build 1\n")
	sum := sha256.Sum256(binary)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name          string
		config        string // config.json content
		installed     []byte // binary present before the run
		wantErr       string
		wantDownloads int // binary downloads
		wantInstalled bool
	}{
		{name: "fresh install", config: `{"dashboard_binary_sha256":"` + good + `","region":"eu-west-1"}`, wantDownloads: 1, wantInstalled: true},
		{name: "current binary is kept", config: `{"dashboard_binary_sha256":"` + good + `"}`, installed: binary, wantDownloads: 0, wantInstalled: true},
		{name: "old binary is replaced", config: `{"dashboard_binary_sha256":"` + good + `"}`, installed: []byte("old"), wantDownloads: 1, wantInstalled: true},
		{name: "mismatch is refused", config: `{"dashboard_binary_sha256":"` + strings.Repeat("0", 64) + `"}`, wantErr: "not installing it", wantDownloads: 1},
		{name: "no checksum", config: `{"name":"flytrap-prod"}`, wantErr: "no valid dashboard_binary_sha256", wantDownloads: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s3dir, install := t.TempDir(), t.TempDir()
			log := filepath.Join(t.TempDir(), "s3.log")
			for key, content := range map[string][]byte{binKey: binary, cfgKey: []byte(tt.config)} {
				p := filepath.Join(s3dir, bucket, key)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			target := filepath.Join(install, "flytrap-dashboard")
			if tt.installed != nil {
				os.WriteFile(target, tt.installed, 0o755)
			}
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(),
				"PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"),
				"FLYTRAP_INSTALL_DIR="+install, "FLYTRAP_IMDS_ENDPOINT="+md.URL(),
				"FAKE_S3="+s3dir, "FAKE_S3_LOG="+log)
			out, err := cmd.CombinedOutput()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tt.wantErr) {
					t.Fatalf("err = %v, output:\n%s\nwant failure saying %q", err, out, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("fetch failed: %v\n%s", err, out)
			}
			calls, _ := os.ReadFile(log)
			if n := strings.Count(string(calls), binKey); n != tt.wantDownloads {
				t.Errorf("%d binary downloads, want %d (calls: %s)", n, tt.wantDownloads, calls)
			}
			got, rerr := os.ReadFile(target)
			if tt.wantInstalled {
				if rerr != nil || string(got) != string(binary) {
					t.Errorf("installed binary = %q, %v; want the new build", got, rerr)
				}
				if fi, err := os.Stat(target); err == nil && fi.Mode().Perm() != 0o755 {
					t.Errorf("binary mode %v, want 0755", fi.Mode().Perm())
				}
			} else if rerr == nil {
				t.Errorf("a binary was installed: %q", got)
			}
			leftovers, _ := filepath.Glob(filepath.Join(install, ".fetch.*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// TestDashboardUnitVerifies runs systemd-analyze verify on the unit, with
// its two executables pointed at a stub (verify insists they exist). Any
// output is a finding: unknown directives are only warnings.
func TestDashboardUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	_, cc := renderUserData(t)
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	if err := os.WriteFile(stub, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := strings.NewReplacer(
		"/usr/local/libexec/flytrap/fetch-dashboard", stub,
		"/opt/flytrap/flytrap-dashboard", stub,
	).Replace(cc.file(t, "/etc/systemd/system/flytrap-dashboard.service"))
	path := filepath.Join(dir, "flytrap-dashboard.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDashboardUnitOutputDirectoryExists guards against systemd issue
// #27591: systemd opens StandardOutput=/StandardError= files (append:,
// file:, truncate:) before it creates LogsDirectory= and the other
// exec directories, and it does not create their parent directory, so a
// log file whose directory nothing else creates fails every start with
// 209/STDOUT. Every such file's directory must come from a tmpfiles.d
// entry the user data writes, applied by runcmd before the unit is
// enabled (later boots: systemd-tmpfiles-setup.service, which runs
// before multi-user.target). The entry is applied by the real
// systemd-tmpfiles under a scratch root when it is installed.
func TestDashboardUnitOutputDirectoryExists(t *testing.T) {
	_, cc := renderUserData(t)
	unit := cc.file(t, "/etc/systemd/system/flytrap-dashboard.service")

	var logDirs []string
	for _, line := range strings.Split(unit, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || (k != "StandardOutput" && k != "StandardError") {
			continue
		}
		for _, prefix := range []string{"append:", "file:", "truncate:"} {
			if p, ok := strings.CutPrefix(v, prefix); ok {
				logDirs = append(logDirs, filepath.Dir(p))
			}
		}
	}
	if len(logDirs) == 0 {
		t.Fatal("the unit writes no log file; update this test if it now logs elsewhere (the CloudWatch agent config must follow)")
	}

	// tmpfiles.d entries written by the user data, by directory.
	tmpfiles := map[string]string{} // directory -> config file
	for _, f := range cc.Files {
		if !strings.HasPrefix(f.Path, "/etc/tmpfiles.d/") {
			continue
		}
		for _, line := range strings.Split(f.Content, "\n") {
			if fields := strings.Fields(line); len(fields) >= 2 && (fields[0] == "d" || fields[0] == "D") {
				tmpfiles[fields[1]] = f.Path
			}
		}
	}
	step := func(prefix string) int {
		for i, c := range cc.RunCmd {
			if strings.HasPrefix(strings.Join(c, " "), prefix) {
				return i
			}
		}
		return -1
	}
	enable := step("systemctl enable")
	if enable < 0 {
		t.Fatalf("runcmd = %v never enables the unit", cc.RunCmd)
	}
	for _, dir := range logDirs {
		conf, ok := tmpfiles[dir]
		if !ok {
			t.Errorf("the unit logs to a file in %s, but no tmpfiles.d entry creates it: systemd opens the file before LogsDirectory= exists, so every start fails with 209/STDOUT", dir)
			continue
		}
		if at := step("systemd-tmpfiles --create " + conf); at < 0 || at > enable {
			t.Errorf("runcmd = %v: want systemd-tmpfiles --create %s before systemctl enable, so %s exists on first boot", cc.RunCmd, conf, dir)
		}
		if _, err := exec.LookPath("systemd-tmpfiles"); err != nil {
			continue
		}
		root := t.TempDir()
		confPath := filepath.Join(root, conf)
		os.MkdirAll(filepath.Dir(confPath), 0o755)
		if err := os.WriteFile(confPath, []byte(cc.file(t, conf)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("systemd-tmpfiles", "--root="+root, "--create", confPath).CombinedOutput(); err != nil {
			t.Errorf("systemd-tmpfiles --create %s: %v\n%s", conf, err, out)
		}
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("systemd-tmpfiles did not create %s: %v", dir, err)
		}
	}
}

// TestMigrateCommandInstallsNothing runs MigrateCommand with bash against
// the user data's real fetch script (paths pointed at temporary folders,
// runuser dropped), with config.json still naming the old binary as during
// the upgrade: the new binary is checked against the SHA-256 in the
// command and migrates from a temporary copy, and whether the migration
// succeeds or fails, the installed binary stays the old one, so a restart
// after a failed migration does not start the new binary.
func TestMigrateCommandInstallsNothing(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	_, cc := renderUserData(t)
	tools := t.TempDir()
	script := filepath.Join(tools, "fetch-dashboard")
	if err := os.WriteFile(script, []byte(cc.file(t, "/usr/local/libexec/flytrap/fetch-dashboard")), 0o755); err != nil {
		t.Fatal(err)
	}
	stub := "#!/bin/bash\nset -eu\ncp \"$FAKE_S3/${6#s3://}\" \"$7\"\n"
	if err := os.WriteFile(filepath.Join(tools, "aws"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	const bucket, binKey, cfgKey = "flytrap-prod-bucket", DashboardBinaryKey, DashboardConfigKey
	md := awsxtest.NewIMDS(t, map[string]string{
		"placement/region":               "eu-west-1",
		"tags/instance/FlytrapBucket":    bucket,
		"tags/instance/FlytrapBinaryKey": binKey,
		"tags/instance/FlytrapConfigKey": cfgKey,
	})
	newBinary := []byte("#!/bin/bash\necho \"$0 $*\" >> \"$MIGRATE_LOG\"\nexit \"$MIGRATE_EXIT\"\n")
	sum := sha256.Sum256(newBinary)
	for _, exit := range []string{"0", "1"} {
		t.Run("migration exits "+exit, func(t *testing.T) {
			s3dir, install := t.TempDir(), t.TempDir()
			// config.json still names the running binary: the full apply
			// uploads the new one after the migration.
			oldSum := sha256.Sum256([]byte("old binary"))
			for key, content := range map[string][]byte{binKey: newBinary, cfgKey: []byte(`{"dashboard_binary_sha256":"` + hex.EncodeToString(oldSum[:]) + `"}`)} {
				p := filepath.Join(s3dir, bucket, key)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			installed := filepath.Join(install, "flytrap-dashboard")
			if err := os.WriteFile(installed, []byte("old binary"), 0o755); err != nil {
				t.Fatal(err)
			}
			log := filepath.Join(t.TempDir(), "migrate.log")
			command := strings.NewReplacer(
				"/usr/local/libexec/flytrap/fetch-dashboard", script,
				"/opt/flytrap", install,
				"runuser -u flytrap -- ", "",
			).Replace(MigrateCommand(hex.EncodeToString(sum[:])))
			cmd := exec.Command("bash", "-c", command)
			cmd.Env = append(os.Environ(),
				"PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"),
				"FLYTRAP_IMDS_ENDPOINT="+md.URL(), "FAKE_S3="+s3dir,
				"MIGRATE_LOG="+log, "MIGRATE_EXIT="+exit)
			out, err := cmd.CombinedOutput()
			if (err == nil) != (exit == "0") {
				t.Fatalf("command: %v\n%s", err, out)
			}
			ran, _ := os.ReadFile(log)
			if !strings.HasPrefix(string(ran), filepath.Join(install, ".migrate.")) || !strings.HasSuffix(string(ran), "/flytrap-dashboard migrate\n") {
				t.Errorf("migrate ran as %q, want the new binary from a temporary copy under %s", ran, install)
			}
			if got, _ := os.ReadFile(installed); string(got) != "old binary" {
				t.Errorf("installed binary = %q after the migration command; want the old one untouched", got)
			}
			if left, _ := filepath.Glob(filepath.Join(install, ".migrate.*")); len(left) > 0 {
				t.Errorf("temporary copies left: %v", left)
			}
		})
	}
}
