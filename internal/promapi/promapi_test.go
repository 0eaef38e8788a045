package promapi

import (
	"encoding/pem"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{URL: "http://prom:9090"}, "http://prom:9090"},
		{Options{URL: "http://prom:9090/"}, "http://prom:9090"},
		{Options{URL: "https://thanos/query/"}, "https://thanos/query"},
		{Options{URL: "http://mimir", PathPrefix: "prometheus"}, "http://mimir/prometheus"},
		{Options{URL: "http://mimir/api/", PathPrefix: "/prometheus/"}, "http://mimir/api/prometheus"},
	} {
		got, err := tc.o.Address()
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.o, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "prom:9090", "ftp://x", "http://", "http://x/?a=b"} {
		if _, err := (Options{URL: bad}).Address(); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

func TestValidateRejectsConflictingAuth(t *testing.T) {
	for name, o := range map[string]Options{
		"token and basic auth": {URL: "http://x", BearerTokenFile: "t", BasicAuthUsername: "u"},
		"password alone":       {URL: "http://x", BasicAuthPasswordFile: "p"},
		"cert without key":     {URL: "http://x", CertFile: "c"},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFlags(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	o.AddFlags(fs, "prometheus")
	err := fs.Parse([]string{"--prometheus", "http://p", "--prometheus-header", "X-Scope-OrgID=team-a",
		"--prometheus-header", "X-A=b=c", "--prometheus-bearer-token-file", "/t"})
	if err != nil {
		t.Fatal(err)
	}
	if o.URL != "http://p" || o.BearerTokenFile != "/t" || o.Headers["X-Scope-OrgID"] != "team-a" || o.Headers["X-A"] != "b=c" {
		t.Errorf("%+v", o)
	}
	if err := fs.Parse([]string{"--prometheus-header", "novalue"}); err == nil {
		t.Error("a header without = was accepted")
	}
}

// recorder answers every API call with an empty vector and keeps the last request.
func recorder(last **http.Request) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*last = r
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRequestsCarryAuthHeadersAndPrefix(t *testing.T) {
	var last *http.Request
	srv := httptest.NewServer(recorder(&last))
	defer srv.Close()
	token := writeFile(t, "token", "s3cr3t\n")
	api, err := New(Options{URL: srv.URL, PathPrefix: "/prometheus", BearerTokenFile: token,
		Headers: map[string]string{"X-Scope-OrgID": "team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.Query(t.Context(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if last.URL.Path != "/prometheus/api/v1/query" {
		t.Errorf("path %q", last.URL.Path)
	}
	if got := last.Header.Get("Authorization"); got != "Bearer s3cr3t" {
		t.Errorf("Authorization %q", got)
	}
	if last.Header.Get("X-Scope-OrgID") != "team-a" || !strings.HasPrefix(last.UserAgent(), "routebundle") {
		t.Errorf("headers %v", last.Header)
	}

	// A rotated token is read again.
	if err := os.WriteFile(token, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.Query(t.Context(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := last.Header.Get("Authorization"); got != "Bearer rotated" {
		t.Errorf("after rotation: Authorization %q", got)
	}
}

func TestBasicAuthOverTLSWithCA(t *testing.T) {
	var last *http.Request
	srv := httptest.NewTLSServer(recorder(&last))
	defer srv.Close()
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	password := writeFile(t, "password", "pw")

	api, err := New(Options{URL: srv.URL, BasicAuthUsername: "u", BasicAuthPasswordFile: password, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.Query(t.Context(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if u, p, ok := last.BasicAuth(); !ok || u != "u" || p != "pw" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}

	untrusted, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := untrusted.Query(t.Context(), "up", time.Now()); err == nil {
		t.Error("a server with an unknown CA was trusted")
	}
}
