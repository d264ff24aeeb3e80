package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things live in the image; deploy/Dockerfile puts them in the same
// places.
const (
	binPath    = "tcpprobe"
	configDir  = "etc/tcpprobe"
	configPath = "etc/tcpprobe/tcpprobe.yml"
	// imageUser is nobody: the image never runs as root. The binary holds
	// CAP_NET_RAW as a file capability instead (see capNetRaw).
	imageUser  = "65534:65534"
	listenPort = "9117/tcp"
)

// entrypoint and cmd start the exporter with the image's config.
var (
	entrypoint = []string{"/tcpprobe", "serve"}
	cmd        = []string{"--config", "/" + configPath, "--listen", ":9117"}
)

// spec is what goes into the image.
type spec struct {
	Binary  []byte // the static tcpprobe binary
	Config  []byte // its serve config
	Arch    string // GOARCH of the binary
	Version string // for the labels
}

// capNetRaw is the security.capability extended attribute that
// `setcap cap_net_raw+ep` writes: struct vfs_cap_data, revision 2, with
// the effective flag and CAP_NET_RAW (13) permitted. A non-root process
// executing the file gains CAP_NET_RAW if the container's bounding set
// holds it (capabilities: add: [NET_RAW]) and no_new_privs is off.
func capNetRaw() string {
	const (
		vfsCapRevision2 = 0x02000000
		vfsCapEffective = 0x000001
		capNetRawBit    = 13
	)
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], vfsCapRevision2|vfsCapEffective)
	binary.LittleEndian.PutUint32(b[4:], 1<<capNetRawBit) // permitted, low word
	return string(b)                                      // inheritable and high words stay 0
}

// epoch is every file's and the image's time: the same inputs make the
// same image, byte for byte.
var epoch = time.Unix(0, 0).UTC()

// layerTar is the image's only layer: the binary, its config and the
// directory holding it; no shell, no libc, nothing else.
func layerTar(s spec) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}, nil},
		{tar.Header{Typeflag: tar.TypeDir, Name: configDir + "/", Mode: 0o755}, nil},
		{tar.Header{Typeflag: tar.TypeReg, Name: configPath, Mode: 0o644}, s.Config},
		{tar.Header{Typeflag: tar.TypeReg, Name: binPath, Mode: 0o755,
			PAXRecords: map[string]string{"SCHILY.xattr.security.capability": capNetRaw()}}, s.Binary},
	}
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		h.ModTime, h.Uid, h.Gid, h.Format = epoch, 0, 0, tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// build makes the image on an empty base, with OCI media types.
func build(s spec) (v1.Image, error) {
	lt, err := layerTar(s)
	if err != nil {
		return nil, fmt.Errorf("building the layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(lt)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch}, CreatedBy: "tools/ociimage: /tcpprobe (cap_net_raw+ep), /" + configPath,
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		User:         imageUser,
		Entrypoint:   entrypoint,
		Cmd:          cmd,
		ExposedPorts: map[string]struct{}{listenPort: {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "tcpprobe",
			"org.opencontainers.image.description": "tcpprobe serve: a Prometheus multi-target TCP probe that says why a port cannot be reached",
			"org.opencontainers.image.version":     s.Version,
			"org.opencontainers.image.source":      "https://github.com/tcpprobe/tcpprobe",
		},
	}
	return mutate.ConfigFile(img, cf)
}

func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}
