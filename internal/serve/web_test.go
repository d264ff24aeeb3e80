package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// certPair is a certificate and key, and the files they are written to.
type certPair struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certFile string
	keyFile  string
}

// issue makes a certificate signed by ca (self-signed when ca is nil).
func issue(t *testing.T, dir, name string, ca *certPair, tmpl *x509.Certificate) *certPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	p := &certPair{cert: cert, key: key, certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(p.certFile, "CERTIFICATE", der)
	write(p.keyFile, "EC PRIVATE KEY", kb)
	return p
}

// startWeb runs the server with a web config on a free loopback port and
// returns its address.
func startWeb(t *testing.T, s *Server, webConfig string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.ListenAndServe(ctx, []string{"127.0.0.1:0"}, webConfig, func(a []net.Addr) { addrc <- a[0].String() })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return a
	case err := <-errc:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start in 10s")
	}
	return ""
}

func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	ca := issue(t, dir, "ca", nil, &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	srvCert := issue(t, dir, "server", ca, &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	client := issue(t, dir, "client", ca, &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	clientCert := tls.Certificate{Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key}

	tests := []struct {
		name       string
		clientAuth string // client_auth_type
		withCert   bool
		user, pass string
		want       int // status; 0: the TLS handshake must fail
	}{
		{"no credentials", "", false, "", "", http.StatusUnauthorized},
		{"wrong password", "", false, "alice", "wrong", http.StatusUnauthorized},
		{"unknown user", "", false, "mallory", "s3cret", http.StatusUnauthorized},
		{"right password", "", false, "alice", "s3cret", http.StatusOK},
		{"client cert required, none given", "RequireAndVerifyClientCert", false, "alice", "s3cret", 0},
		{"client cert required and given", "RequireAndVerifyClientCert", true, "alice", "s3cret", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsCfg := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", filepath.Base(srvCert.certFile), filepath.Base(srvCert.keyFile))
			if tc.clientAuth != "" {
				tlsCfg += fmt.Sprintf("  client_auth_type: %s\n  client_ca_file: %s\n", tc.clientAuth, filepath.Base(ca.certFile))
			}
			web := filepath.Join(dir, "web-"+strings.ReplaceAll(tc.name, " ", "-")+".yml")
			body := tlsCfg + fmt.Sprintf("basic_auth_users:\n  alice: %s\n", hash)
			if err := os.WriteFile(web, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{ConfigPath: writeConfig(t, t.TempDir(), ""), Raw: &fakeRunner{}, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			addr := startWeb(t, s, web)
			tc2 := &tls.Config{RootCAs: pool}
			if tc.withCert {
				tc2.Certificates = []tls.Certificate{clientCert}
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc2}, Timeout: 10 * time.Second}
			req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/probe?target=127.0.0.1:80", nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := c.Do(req)
			if tc.want == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d, want the TLS handshake to fail without a client certificate", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			// Plain HTTP to the TLS port is not served.
			if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Error("plain HTTP answered 200 on the TLS listener")
				}
			}
		})
	}
}

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "modules:\n  one: {timeout: 1s}\n")
	s, err := New(Options{ConfigPath: path, Raw: &fakeRunner{}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	addr := startWeb(t, s, "")
	base := "http://" + addr
	c := &http.Client{Timeout: 10 * time.Second}
	post := func() int {
		t.Helper()
		resp, err := c.Post(base+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := func(module string) int {
		t.Helper()
		code, _ := get(t, c, base+"/probe?target=127.0.0.1:80&module="+module, nil)
		return code
	}
	reloadOK := func() float64 {
		t.Helper()
		_, body := get(t, c, base+"/metrics", nil)
		v, _ := value(parseMetrics(t, body), "tcpprobe_exporter_config_last_reload_successful")
		return v
	}
	for _, broken := range []string{
		"modules:\n  one: {timeout: 1s\n",          // not YAML
		"modules:\n  one: {profile: nope}\n",       // unknown profile
		"targets: {allow: [198.18.0.0/33]}\n",      // bad CIDR
		"limits: {concurency: 3}\n",                // a typo is an error, not a default
		"modules:\n  one: {schedule: '1s,0/2s'}\n", // bad schedule
	} {
		writeConfig(t, dir, broken)
		if code := post(); code != http.StatusInternalServerError {
			t.Errorf("reload of %q: status %d, want 500", broken, code)
		}
		if code := status("one"); code != http.StatusOK {
			t.Errorf("after the failed reload of %q, module one answers %d, want the old config's 200", broken, code)
		}
		if v := reloadOK(); v != 0 {
			t.Errorf("tcpprobe_exporter_config_last_reload_successful %v after a failed reload, want 0", v)
		}
	}
	resp, err := c.Get(base + "/-/reload")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", resp.StatusCode)
	}

	// A good file by POST, then another by SIGHUP.
	writeConfig(t, dir, "modules:\n  two: {timeout: 1s}\n")
	if code := post(); code != http.StatusOK {
		t.Fatalf("reload of a good file: status %d", code)
	}
	if status("two") != http.StatusOK || status("one") != http.StatusBadRequest {
		t.Errorf("after reload: module two %d (want 200), one %d (want 400)", status("two"), status("one"))
	}
	writeConfig(t, dir, "modules:\n  three: {timeout: 1s}\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for status("three") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the config within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := reloadOK(); v != 1 {
		t.Errorf("tcpprobe_exporter_config_last_reload_successful %v after a good reload, want 1", v)
	}
}
