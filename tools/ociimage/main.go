// Command ociimage builds tcpprobe's container image without a daemon: the
// static binary and its serve config in one layer on an empty base, run as
// nobody with CAP_NET_RAW as a file capability, written as an OCI archive
// (an OCI image layout in a tar: podman load, skopeo copy oci-archive:,
// ctr image import) and, with -docker, as a docker load tarball. It is a
// build tool, not part of the tcpprobe binary; deploy/Dockerfile makes the
// same image with a daemon.
//
//	CGO_ENABLED=0 go build -o tcpprobe ./cmd/tcpprobe
//	go run ./tools/ociimage -binary tcpprobe -oci tcpprobe-oci.tar
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	bin := fl.String("binary", "tcpprobe", "the static tcpprobe binary (CGO_ENABLED=0)")
	cfg := fl.String("config", "deploy/tcpprobe.yml", "serve config to put at /"+configPath)
	arch := fl.String("arch", runtime.GOARCH, "GOARCH the binary was built for")
	version := fl.String("version", "dev", "version for the image's labels")
	tag := fl.String("tag", "tcpprobe:dev", "image reference recorded in the archives")
	ociOut := fl.String("oci", "tcpprobe-oci.tar", "write an OCI archive here")
	dockerOut := fl.String("docker", "", "also write a docker load tarball here")
	if err := fl.Parse(args); err != nil {
		return err
	}
	b, err := readFile(*bin)
	if err != nil {
		return err
	}
	c, err := readFile(*cfg)
	if err != nil {
		return err
	}
	img, err := build(spec{Binary: b, Config: c, Arch: *arch, Version: *version})
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(*tag)
	if err != nil {
		return fmt.Errorf("-tag %q: %w", *tag, err)
	}
	if *ociOut != "" {
		if err := writeOCIArchive(*ociOut, ref.Name(), img); err != nil {
			return err
		}
	}
	if *dockerOut != "" {
		if err := tarball.WriteToFile(*dockerOut, ref, img); err != nil {
			return fmt.Errorf("writing %s: %w", *dockerOut, err)
		}
	}
	d, _ := img.Digest()
	fmt.Printf("%s %s\n", ref.Name(), d)
	return nil
}

// writeOCIArchive writes img as an OCI image layout, tarred into path.
func writeOCIArchive(path, ref string, img v1.Image) error {
	dir, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	return tarDir(path, dir)
}

// tarDir writes the files under dir into a tar at path, names relative
// to dir, in walk order (lexical: the same layout, the same archive).
func tarDir(path, dir string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = filepath.ToSlash(rel), epoch, 0, 0, "", ""
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
