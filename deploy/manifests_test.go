// Package deploy_test checks the Kubernetes manifests in deploy/kubernetes:
// every tcpprobe container runs as nobody with a read-only root and
// NET_RAW as its only capability, and the config it mounts loads.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcpprobe/tcpprobe/internal/serve"
	"go.yaml.in/yaml/v3"
)

type container struct {
	Name            string
	Image           string
	Args            []string
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		Privileged               bool
		Capabilities             struct{ Add, Drop []string }
	} `yaml:"securityContext"`
}

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct{ Name string }
	Data       map[string]string
	Spec       struct {
		Template struct {
			Spec struct {
				HostNetwork     bool `yaml:"hostNetwork"`
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []container
			}
		}
		Prober  struct{ URL string }
		Module  string
		Targets struct {
			StaticConfig struct{ Static []string } `yaml:"staticConfig"`
		}
	}
}

func load(t *testing.T) []object {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	var objs []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func TestManifests(t *testing.T) {
	objs := load(t)
	kinds := map[string]int{}
	modules := map[string]bool{}
	for _, o := range objs {
		kinds[o.Kind]++
		switch o.Kind {
		case "Deployment", "DaemonSet":
			ps := o.Spec.Template.Spec
			if !ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == 0 || ps.HostNetwork {
				t.Errorf("%s %s: runAsNonRoot %v runAsUser %d hostNetwork %v; want non-root in the pod's network", o.Kind, o.Metadata.Name,
					ps.SecurityContext.RunAsNonRoot, ps.SecurityContext.RunAsUser, ps.HostNetwork)
			}
			for _, c := range ps.Containers {
				sc := c.SecurityContext
				if !slices.Equal(sc.Capabilities.Add, []string{"NET_RAW"}) || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
					t.Errorf("%s/%s: capabilities add %v drop %v; want add [NET_RAW] drop [ALL]", o.Metadata.Name, c.Name, sc.Capabilities.Add, sc.Capabilities.Drop)
				}
				if !sc.ReadOnlyRootFilesystem || sc.Privileged {
					t.Errorf("%s/%s: readOnlyRootFilesystem %v privileged %v", o.Metadata.Name, c.Name, sc.ReadOnlyRootFilesystem, sc.Privileged)
				}
				if !slices.Contains(c.Args, "--config") {
					t.Errorf("%s/%s: args %v without --config", o.Metadata.Name, c.Name, c.Args)
				}
			}
		case "ConfigMap":
			cfg, err := serve.Parse([]byte(o.Data["tcpprobe.yml"]), func() (int, int, error) { return 6, 4, nil })
			if err != nil {
				t.Errorf("ConfigMap %s: %v", o.Metadata.Name, err)
				continue
			}
			for _, m := range cfg.ModuleNames() {
				modules[m] = true
			}
		}
	}
	for _, o := range objs {
		if o.Kind == "Probe" && !modules[o.Spec.Module] {
			t.Errorf("Probe %s uses module %q, which the ConfigMap does not define", o.Metadata.Name, o.Spec.Module)
		}
	}
	for _, k := range []string{"Deployment", "DaemonSet", "Service", "ConfigMap", "Probe"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in deploy/kubernetes", k)
		}
	}
	// The image's own config loads too.
	if _, err := serve.LoadFile("tcpprobe.yml", func() (int, int, error) { return 6, 4, nil }); err != nil {
		t.Error(err)
	}
}
