package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImage builds the real static binary into an image and checks both
// archives: runs as nobody, starts `tcpprobe serve`, holds nothing but the
// binary (with CAP_NET_RAW as a file capability) and its config: no shell.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tcpprobe")
	build := exec.Command("go", "build", "-o", bin, "github.com/tcpprobe/tcpprobe/cmd/tcpprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tcpprobe: %v\n%s", err, out)
	}
	ociOut, dockerOut := filepath.Join(dir, "oci.tar"), filepath.Join(dir, "docker.tar")
	if err := run([]string{"-binary", bin, "-config", "../../deploy/tcpprobe.yml", "-oci", ociOut, "-docker", dockerOut, "-tag", "tcpprobe:test"}); err != nil {
		t.Fatal(err)
	}

	fromDocker, err := tarball.ImageFromPath(dockerOut, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromOCI := readOCIArchive(t, ociOut, filepath.Join(dir, "layout"))
	for name, img := range map[string]v1.Image{"docker archive": fromDocker, "oci archive": fromOCI} {
		t.Run(name, func(t *testing.T) {
			checkImage(t, img, bin)
		})
	}
	// docker load's format has its own manifest; the config and the layer
	// must be the same.
	d1, _ := fromDocker.ConfigName()
	d2, _ := fromOCI.ConfigName()
	if d1 != d2 {
		t.Errorf("the two archives hold different image configs: %s, %s", d1, d2)
	}
	if mt, _ := fromOCI.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
	}
}

func checkImage(t *testing.T, img v1.Image, bin string) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if u := cf.Config.User; u != "65534:65534" {
		t.Errorf("user %q, want 65534:65534 (nobody, never root)", u)
	}
	if diff := cmp.Diff([]string{"/tcpprobe", "serve"}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"--config", "/etc/tcpprobe/tcpprobe.yml", "--listen", ":9117"}, cf.Config.Cmd); diff != "" {
		t.Errorf("cmd (-want +got):\n%s", diff)
	}
	if _, ok := cf.Config.ExposedPorts["9117/tcp"]; !ok {
		t.Errorf("9117/tcp not exposed: %v", cf.Config.ExposedPorts)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1 on an empty base", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	var binary []byte
	eachEntry(t, rc, func(h *tar.Header, body io.Reader) {
		files[h.Name] = h
		if h.Name == "tcpprobe" {
			binary, _ = io.ReadAll(body)
		}
	})
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	// No shell, no libc, no package manager: exactly these.
	if diff := cmp.Diff([]string{"etc/", "etc/tcpprobe/", "etc/tcpprobe/tcpprobe.yml", "tcpprobe"}, names); diff != "" {
		t.Errorf("files in the image (-want +got):\n%s", diff)
	}
	h := files["tcpprobe"]
	if h == nil {
		t.Fatal("no /tcpprobe")
	}
	if h.Mode&0o7777 != 0o755 || h.Uid != 0 {
		t.Errorf("/tcpprobe mode %o uid %d, want 755 owned by root (not writable by the user it runs as)", h.Mode, h.Uid)
	}
	if got := h.PAXRecords["SCHILY.xattr.security.capability"]; got != capNetRaw() {
		t.Errorf("/tcpprobe file capability %x, want cap_net_raw+ep %x", got, capNetRaw())
	}
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(binary, want) {
		t.Error("/tcpprobe is not the binary given")
	}
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/tcpprobe is dynamically linked: an empty base has no loader (build with CGO_ENABLED=0)")
		}
	}
}

// readOCIArchive unpacks an OCI archive into dir and returns its one image.
func readOCIArchive(t *testing.T, path, dir string) v1.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachEntry(t, f, func(h *tar.Header, body io.Reader) {
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir) {
			t.Fatalf("archive entry %q escapes the layout", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			return
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := io.ReadAll(body)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("OCI index: %v, %d manifests, want 1", err, len(im.Manifests))
	}
	if ref := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != "index.docker.io/library/tcpprobe:test" && ref != "tcpprobe:test" {
		t.Errorf("ref.name annotation %q", ref)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestDockerfileMatches keeps deploy/Dockerfile's final stage saying what
// the image built here says.
func TestDockerfileMatches(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	last := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			last = i
		}
	}
	final := map[string]string{}
	for _, l := range lines[last:] {
		if k, v, ok := strings.Cut(l, " "); ok && !strings.HasPrefix(k, "#") {
			final[k] = v
		}
	}
	ep, _ := json.Marshal(entrypoint)
	cm, _ := json.Marshal(cmd)
	want := map[string]string{
		"FROM":       "scratch",
		"USER":       imageUser,
		"ENTRYPOINT": strings.ReplaceAll(string(ep), ",", ", "),
		"CMD":        strings.ReplaceAll(string(cm), ",", ", "),
		"EXPOSE":     strings.TrimSuffix(listenPort, "/tcp"),
	}
	for k, v := range want {
		if final[k] != v {
			t.Errorf("Dockerfile final stage %s %q, want %q (as tools/ociimage builds it)", k, final[k], v)
		}
	}
}

// eachEntry calls fn with every entry of the tar stream r and its body.
func eachEntry(t *testing.T, r io.Reader, fn func(h *tar.Header, body io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}
