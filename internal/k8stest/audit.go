package k8stest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// auditPolicy logs writes, once each, when the response is complete.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// configureAudit points the API server at an audit policy and log in a
// temporary directory and returns the log's path.
func configureAudit(t testing.TB, api *envtest.APIServer) string {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "audit.log")
	api.Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", log).
		// Write each event as it happens, so that a count right after a
		// request includes it.
		Set("audit-log-mode", "blocking").
		Set("audit-log-maxsize", "0")
	return log
}

// Write is one write request as the API server audited it.
type Write struct {
	Verb      string
	User      string
	Resource  string // plural, with the group: prometheusrules.monitoring.coreos.com
	Namespace string
	Name      string
	Code      int
	At        time.Time
}

func (w Write) String() string {
	return fmt.Sprintf("%s %s %s/%s by %s (%d)", w.Verb, w.Resource, w.Namespace, w.Name, w.User, w.Code)
}

// auditEvent is the part of an audit.k8s.io/v1 Event that Writes reads.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		APIGroup  string `json:"apiGroup"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	StageTimestamp time.Time `json:"stageTimestamp"`
}

// Writes returns the write requests the server completed since since, in
// the order it logged them. The server must have been started with
// Options.AuditLog.
func (s *Server) Writes(since time.Time) ([]Write, error) {
	if s.auditLog == "" {
		return nil, errors.New("the API server was started without an audit log")
	}
	data, err := os.ReadFile(s.auditLog)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Write
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if e.ObjectRef == nil || e.StageTimestamp.Before(since) {
			continue
		}
		w := Write{Verb: e.Verb, User: e.User.Username, Resource: e.ObjectRef.Resource,
			Namespace: e.ObjectRef.Namespace, Name: e.ObjectRef.Name, At: e.StageTimestamp}
		if e.ObjectRef.APIGroup != "" {
			w.Resource += "." + e.ObjectRef.APIGroup
		}
		if e.ResponseStatus != nil {
			w.Code = e.ResponseStatus.Code
		}
		out = append(out, w)
	}
	return out, sc.Err()
}

// WriteKubeconfig writes a kubeconfig file for cfg (certificate or token
// authentication, as envtest hands out) into t's temporary directory.
func WriteKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}
