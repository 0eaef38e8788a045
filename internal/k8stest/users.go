package k8stest

import (
	"fmt"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// AddServiceAccount returns a config that reaches the server as the
// ServiceAccount namespace/name is seen by the authorizer: the user
// system:serviceaccount:NAMESPACE:NAME in the groups of service accounts,
// with no other privilege, so that only RBAC bound to the ServiceAccount
// (a subject of kind ServiceAccount) lets its requests through. The
// ServiceAccount object itself need not exist.
func (s *Server) AddServiceAccount(namespace, name string) (*rest.Config, error) {
	u, err := s.env.AddUser(envtest.User{
		Name:   fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("add service account %s/%s: %w", namespace, name, err)
	}
	return u.Config(), nil
}
