package wizard

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Profile is one AWS profile found in the shared config or credentials
// file.
type Profile struct {
	Name string `json:"name"`
	// Region is the profile's region setting, "" when it has none.
	Region string `json:"region"`
}

// SharedFiles returns the paths of the shared AWS config and credentials
// files, honouring AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE like the
// SDK and the AWS CLI.
func SharedFiles(getenv func(string) string, home string) (config, credentials string) {
	config = getenv("AWS_CONFIG_FILE")
	if config == "" {
		config = filepath.Join(home, ".aws", "config")
	}
	credentials = getenv("AWS_SHARED_CREDENTIALS_FILE")
	if credentials == "" {
		credentials = filepath.Join(home, ".aws", "credentials")
	}
	return config, credentials
}

// DetectProfiles lists the profiles of the shared config and credentials
// files, sorted by name with "default" first. Missing files are not an
// error: a machine may have neither.
func DetectProfiles(getenv func(string) string, home string) ([]Profile, error) {
	configPath, credPath := SharedFiles(getenv, home)
	regions := map[string]string{}
	names := map[string]bool{}
	cfg, err := readINI(configPath)
	if err != nil {
		return nil, err
	}
	for section, kv := range cfg {
		// In the config file profiles are "[default]" and "[profile x]";
		// other sections (sso-session, services) are not profiles.
		name := ""
		switch {
		case section == "default":
			name = "default"
		case strings.HasPrefix(section, "profile "):
			name = strings.TrimSpace(strings.TrimPrefix(section, "profile "))
		default:
			continue
		}
		names[name] = true
		if r := kv["region"]; r != "" {
			regions[name] = r
		}
	}
	creds, err := readINI(credPath)
	if err != nil {
		return nil, err
	}
	for section := range creds {
		names[section] = true
	}
	out := make([]Profile, 0, len(names))
	for n := range names {
		if n != "" {
			out = append(out, Profile{Name: n, Region: regions[n]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "default") != (out[j].Name == "default") {
			return out[i].Name == "default"
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// readINI parses the subset of INI the AWS files use: [sections],
// key = value, comments starting with # or ;, and indented continuation
// lines (nested settings such as s3 =), which are skipped.
func readINI(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			continue
		}
		if section == "" || raw[0] == ' ' || raw[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[section][strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}

// FindProfile returns the named profile.
func FindProfile(profiles []Profile, name string) (Profile, bool) {
	for _, p := range profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
