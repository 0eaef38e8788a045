// Package promapi builds the Prometheus HTTP API client that the exporter and
// `bundlegen routes` share, from one set of options: the server's URL with an
// optional path prefix (Thanos Query, Mimir and Cortex serve the API below
// one, e.g. /prometheus), bearer token file, basic auth, TLS and extra
// headers such as Mimir's X-Scope-OrgID.
//
// Transport, authentication and TLS come from prometheus/common/config, the
// code Prometheus uses for its own scrapes: token, password and CA files are
// re-read when they change, so rotated Kubernetes secrets need no restart.
package promapi

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
)

// Options say how to reach the Prometheus HTTP API.
type Options struct {
	// URL of the server, e.g. http://prometheus-operated.monitoring:9090.
	// A path in it is kept: the API is at URL/api/v1/...
	URL string
	// PathPrefix is appended to URL's path: "/prometheus" for Mimir.
	PathPrefix string
	// BearerTokenFile is sent as "Authorization: Bearer <contents>"
	// (a service account token, for example).
	BearerTokenFile string
	// BasicAuthUsername and BasicAuthPasswordFile set basic auth.
	BasicAuthUsername     string
	BasicAuthPasswordFile string
	// CAFile verifies the server's certificate; CertFile and KeyFile are a
	// client certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
	// ServerName overrides the name the server's certificate must carry.
	ServerName string
	// InsecureSkipVerify disables certificate verification.
	InsecureSkipVerify bool
	// Headers are sent with every request ("X-Scope-OrgID" for a Mimir tenant).
	Headers map[string]string
}

// userAgent names routebundle in the server's logs.
const userAgent = "routebundle"

// Address is the base URL the API paths are joined to.
func (o Options) Address() (string, error) {
	if o.URL == "" {
		return "", errors.New("no Prometheus URL given")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return "", fmt.Errorf("prometheus URL %q: %w", o.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("prometheus URL %q: want http(s)://host[:port][/path]", o.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("prometheus URL %q: a query or fragment is not allowed", o.URL)
	}
	if o.PathPrefix != "" {
		u.Path = path.Join("/", u.Path, o.PathPrefix)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

// httpConfig is the options in prometheus/common's form.
func (o Options) httpConfig() (config.HTTPClientConfig, error) {
	c := config.DefaultHTTPClientConfig
	if o.BearerTokenFile != "" {
		c.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: o.BearerTokenFile}
	}
	if o.BasicAuthUsername != "" || o.BasicAuthPasswordFile != "" {
		if o.BasicAuthUsername == "" {
			return c, errors.New("a basic-auth password file needs a basic-auth username")
		}
		c.BasicAuth = &config.BasicAuth{Username: o.BasicAuthUsername, PasswordFile: o.BasicAuthPasswordFile}
	}
	if c.Authorization != nil && c.BasicAuth != nil {
		return c, errors.New("a bearer token file and basic auth cannot both be set")
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return c, errors.New("a client certificate needs both the cert file and the key file")
	}
	c.TLSConfig = config.TLSConfig{
		CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile,
		ServerName: o.ServerName, InsecureSkipVerify: o.InsecureSkipVerify,
	}
	if len(o.Headers) > 0 {
		h := make(map[string]config.Header, len(o.Headers))
		for k, v := range o.Headers {
			h[k] = config.Header{Values: []string{v}}
		}
		c.HTTPHeaders = &config.Headers{Headers: h}
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports the first problem of the options without touching any file.
func (o Options) Validate() error {
	if _, err := o.Address(); err != nil {
		return err
	}
	_, err := o.httpConfig()
	return err
}

// New returns an API client. Files named by the options are read when a
// request is made, not here: a missing token file is an error of every
// query until it appears.
func New(o Options) (promv1.API, error) {
	addr, err := o.Address()
	if err != nil {
		return nil, err
	}
	hc, err := o.httpConfig()
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	rt, err := config.NewRoundTripperFromConfig(hc, userAgent, config.WithUserAgent(userAgent))
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	c, err := api.NewClient(api.Config{Address: addr, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return promv1.NewAPI(c), nil
}

// AddFlags registers the options on fs: the URL under urlFlag ("prometheus"
// for bundlegen, "prometheus-url" for routebundle) and the rest under
// prometheus-* names that both programs share.
func (o *Options) AddFlags(fs *flag.FlagSet, urlFlag string) {
	fs.StringVar(&o.URL, urlFlag, o.URL, "Prometheus (or Thanos Query, Mimir) URL; a path in it is kept")
	fs.StringVar(&o.PathPrefix, "prometheus-path-prefix", o.PathPrefix, "path prefix of the Prometheus API (/prometheus for Mimir)")
	fs.StringVar(&o.BearerTokenFile, "prometheus-bearer-token-file", o.BearerTokenFile, "file holding a bearer token for Prometheus")
	fs.StringVar(&o.BasicAuthUsername, "prometheus-basic-auth-username", o.BasicAuthUsername, "basic-auth username for Prometheus")
	fs.StringVar(&o.BasicAuthPasswordFile, "prometheus-basic-auth-password-file", o.BasicAuthPasswordFile, "file holding the basic-auth password")
	fs.StringVar(&o.CAFile, "prometheus-ca-file", o.CAFile, "CA certificate file to verify Prometheus' TLS certificate")
	fs.StringVar(&o.CertFile, "prometheus-cert-file", o.CertFile, "client certificate file (mutual TLS)")
	fs.StringVar(&o.KeyFile, "prometheus-key-file", o.KeyFile, "client key file (mutual TLS)")
	fs.StringVar(&o.ServerName, "prometheus-server-name", o.ServerName, "server name to verify Prometheus' certificate against")
	fs.BoolVar(&o.InsecureSkipVerify, "prometheus-insecure-skip-verify", o.InsecureSkipVerify, "do not verify Prometheus' TLS certificate")
	fs.Var((*headerFlag)(&o.Headers), "prometheus-header", "NAME=VALUE header sent to Prometheus, repeatable (X-Scope-OrgID=tenant for Mimir)")
}

// headerFlag collects repeated NAME=VALUE flags into a map.
type headerFlag map[string]string

func (h *headerFlag) String() string {
	if h == nil || len(*h) == 0 {
		return ""
	}
	keys := make([]string, 0, len(*h))
	for k := range *h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + (*h)[k]
	}
	return strings.Join(parts, ",")
}

func (h *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	if *h == nil {
		*h = map[string]string{}
	}
	(*h)[name] = value
	return nil
}
