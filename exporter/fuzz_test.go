package exporter

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// answer is a RoundTripper that answers every request with one body, as a
// broken or hostile server in Prometheus' place would.
type answer []byte

func (a answer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(a)),
	}, nil
}

// FuzzCollect feeds arbitrary answers to a cycle: it fails or succeeds,
// never panics, and whatever it keeps gathers without error (no duplicate
// or invalid series).
func FuzzCollect(f *testing.F) {
	for _, seed := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"istio_requests_total","destination_workload_namespace":"shop","destination_workload":"cart","route_name":"GET /cart","route_tag":"route_name","reporter":"destination"},"value":[1,"3"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"route_name":"x"},"value":[1,"NaN"]},{"metric":{"route_name":"x"},"value":[1,"1"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"destination_workload":"a"},"value":[1,"0.5"]},{"metric":{"destination_workload":"a"},"value":[1,"0.7"]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`,
		`{"status":"success","data":{"groups":[{"name":"g","rules":[{"type":"recording","name":"r","labels":{"route_tag":"t"},"health":"err","lastError":"boom"}]}],"headStats":{"numSeries":3}}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`<html>`,
	} {
		f.Add([]byte(seed))
	}
	inv := testInventory(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		client, err := api.NewClient(api.Config{Address: "http://prometheus.invalid", RoundTripper: answer(body)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(Options{Prometheus: promv1.NewAPI(client), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		e.SetInventory(inv)
		_ = e.Cycle(t.Context())
		if _, err := e.Registry().Gather(); err != nil {
			t.Fatalf("gathering after the answer %q: %v", body, err)
		}
	})
}
