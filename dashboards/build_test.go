package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type example struct {
	name string
	inv  func() *inventory.Inventory
}

func examples() []example {
	return []example{
		{"podinfo", podinfoInventory},
		{"mixed", mixedInventory},
		{"hostile", hostileInventory},
		{"httproute", httprouteInventory},
	}
}

func build(t *testing.T, inv *inventory.Inventory) ([]Dashboard, diag.List) {
	t.Helper()
	ds, diags := Build(inv, DefaultOptions())
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", diagText(diags))
	}
	return ds, diags
}

func diagText(l diag.List) string {
	var b bytes.Buffer
	if err := l.WriteText(&b); err != nil {
		panic(err)
	}
	return b.String()
}

// TestGolden compares every dashboard and the diagnostics of each example
// with testdata/<example>/; -update rewrites them.
func TestGolden(t *testing.T) {
	for _, ex := range examples() {
		t.Run(ex.name, func(t *testing.T) {
			ds, diags := build(t, ex.inv())
			dir := filepath.Join("testdata", ex.name)
			if *update {
				// Dashboards that are no longer generated lose their files.
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			got := []string{"diagnostics.txt"}
			testutil.Golden(t, filepath.Join(dir, got[0]), diagText(diags), *update)
			for _, d := range ds {
				got = append(got, d.FileName)
				testutil.Golden(t, filepath.Join(dir, d.FileName), string(mustJSON(t, d)), *update)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !slices.Contains(got, e.Name()) {
					t.Errorf("%s is not generated any more (run go test -update)", e.Name())
				}
			}
		})
	}
}

func mustJSON(t *testing.T, d Dashboard) []byte {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeterministic(t *testing.T) {
	for _, ex := range examples() {
		a, _ := build(t, ex.inv())
		inv := ex.inv()
		slices.Reverse(inv.RouteSets)
		b, _ := build(t, inv)
		if len(a) != len(b) {
			t.Fatalf("%s: %d vs %d dashboards", ex.name, len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(mustJSON(t, a[i]), mustJSON(t, b[i])) {
				t.Errorf("%s: %s depends on the order of the route sets", ex.name, a[i].UID)
			}
		}
	}
}

// TestRoundTrip unmarshals each dashboard into the SDK types and marshals
// it again: what Grafana gets must be what the SDK can read.
func TestRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, ex := range examples() {
		ds, _ := build(t, ex.inv())
		for _, d := range ds {
			first, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if err := strictCheck(first); err != nil {
				t.Errorf("%s/%s: strict unmarshal: %v", ex.name, d.UID, err)
			}
			var back dashboard.Dashboard
			if err := json.Unmarshal(first, &back); err != nil {
				t.Errorf("%s/%s: unmarshal: %v", ex.name, d.UID, err)
				continue
			}
			second, err := Dashboard{UID: d.UID, Dashboard: back}.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("%s/%s does not round-trip:\n%s", ex.name, d.UID, firstDiff(first, second))
			}
		}
	}
}

// strictCheck reports unknown and mistyped fields. The SDK (v0.0.22)
// returns its error list even when it is empty, a nil cog.BuildErrors in a
// non-nil error, and then drops nested panels; so the strict pass only looks
// for errors and the round trip itself uses json.Unmarshal.
func strictCheck(b []byte) error {
	var d dashboard.Dashboard
	err := d.UnmarshalJSONStrict(b)
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		return nil
	}
	return err
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(la), len(lb))
}

// uidPattern is a Grafana UID that is also a Kubernetes name.
var uidPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func TestStructure(t *testing.T) {
	for _, ex := range examples() {
		ds, _ := build(t, ex.inv())
		uids, titles := map[string]bool{}, map[string]bool{}
		for _, d := range ds {
			db := d.Dashboard
			name := ex.name + "/" + d.UID
			if len(d.UID) > 40 || !uidPattern.MatchString(d.UID) || *db.Uid != d.UID || d.FileName != d.UID+".json" {
				t.Errorf("%s: bad UID or file name %q", name, d.FileName)
			}
			if uids[d.UID] || titles[*db.Title] {
				t.Errorf("%s: UID or title %q not unique", name, *db.Title)
			}
			uids[d.UID], titles[*db.Title] = true, true
			if db.Time == nil || db.Refresh == nil || len(db.Tags) == 0 {
				t.Errorf("%s: time range, refresh or tags missing", name)
			}
			if !strings.Contains(*db.Description, GeneratedMarker) {
				t.Errorf("%s: description lacks the generated marker", name)
			}
			if len(db.Links) == 0 {
				t.Errorf("%s: no links", name)
			}
			checkPanels(t, name, db)
		}
	}
}

type rect struct{ x, y, w, h uint32 }

func (a rect) overlaps(b rect) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

func checkPanels(t *testing.T, name string, db dashboard.Dashboard) {
	t.Helper()
	ids := map[uint32]bool{}
	var placed []rect
	for _, pr := range db.Panels {
		var (
			id  uint32
			pos *dashboard.GridPos
		)
		if pr.RowPanel != nil {
			id, pos = pr.RowPanel.Id, pr.RowPanel.GridPos
		} else {
			p := pr.Panel
			// A text panel (the route names' legend) has no query.
			query := p.Type == "text" || len(p.Targets) > 0
			if p.Id == nil || p.Title == nil || p.Description == nil || *p.Description == "" || !query {
				t.Errorf("%s: panel without id, title, description or query: %+v", name, p.Title)
				continue
			}
			if p.Type != "text" && (p.FieldConfig == nil || p.FieldConfig.Defaults.Unit == nil || *p.FieldConfig.Defaults.Unit == "") {
				t.Errorf("%s: panel %q has no unit", name, *p.Title)
			}
			id, pos = *p.Id, p.GridPos
		}
		if ids[id] {
			t.Errorf("%s: panel id %d used twice", name, id)
		}
		ids[id] = true
		if pos == nil || pos.W == 0 || pos.H == 0 || pos.X+pos.W > 24 {
			t.Errorf("%s: panel %d: bad grid position %+v", name, id, pos)
			continue
		}
		r := rect{pos.X, pos.Y, pos.W, pos.H}
		for _, o := range placed {
			if r.overlaps(o) {
				t.Errorf("%s: panel %d at %+v overlaps %+v", name, id, r, o)
			}
		}
		placed = append(placed, r)
	}
}

// TestPanelsFollowTheInventory checks which panels exist: latency only
// where the tag is on REQUEST_DURATION, SLO panels only with objectives.
func TestPanelsFollowTheInventory(t *testing.T) {
	ds, _ := build(t, mixedInventory())
	want := map[string]struct{ latency, slo bool }{
		"Routes / shop / workload app=cart,tier=api":    {false, true},
		"Routes / shop / service checkout (route_name)": {true, false},
		"Routes / shop / service checkout (operation)":  {false, false},
		"Routes / mesh-wide":                            {true, false},
		"Routes / web":                                  {true, false},
	}
	seen := 0
	for _, d := range ds {
		w, ok := want[*d.Dashboard.Title]
		if !ok {
			continue
		}
		seen++
		titles := panelTitles(d.Dashboard)
		if got := slices.Contains(titles, "p99 latency by route"); got != w.latency {
			t.Errorf("%s: latency panels = %v, want %v", *d.Dashboard.Title, got, w.latency)
		}
		if got := slices.Contains(titles, "Error budget left"); got != w.slo {
			t.Errorf("%s: SLO panels = %v, want %v", *d.Dashboard.Title, got, w.slo)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d expected dashboards", seen, len(want))
	}
}

func panelTitles(db dashboard.Dashboard) []string {
	var out []string
	for _, pr := range db.Panels {
		if pr.Panel != nil {
			out = append(out, *pr.Panel.Title)
		}
	}
	return out
}

func TestUIDMatchesBuild(t *testing.T) {
	inv := mixedInventory()
	ds, _ := build(t, inv)
	for i := range inv.RouteSets {
		uid := UID(&inv.RouteSets[i])
		if !slices.ContainsFunc(ds, func(d Dashboard) bool { return d.UID == uid }) {
			t.Errorf("UID(%s) = %s names no dashboard", inv.RouteSets[i].ID, uid)
		}
	}
	// Route values never change the UID; scope and tag do.
	rs := podinfoInventory().RouteSets[0]
	before := UID(&rs)
	rs.Routes = routes("GET /other")
	if UID(&rs) != before {
		t.Error("UID changed with the route values")
	}
	rs.Tag = "other_tag"
	if UID(&rs) == before {
		t.Error("UID did not change with the tag")
	}
}

func TestUIDOfHostileScopes(t *testing.T) {
	for _, s := range []inventory.Scope{
		{Kind: inventory.ScopeWorkload, Namespace: "a", Selector: map[string]string{"app": strings.Repeat("x", 300)}},
		{Kind: inventory.ScopeWaypoint, Namespace: "a", TargetRefs: gatewayRef(`"}{\` + "\n")},
		{Kind: inventory.ScopeWaypoint, Namespace: "a", TargetRefs: gatewayRef("---")},
		{Kind: inventory.ScopeWorkload, Namespace: "", Selector: map[string]string{"ü": "✓"}},
	} {
		rs := inventory.RouteSet{Scope: s, Tag: "route_name"}
		uid := UID(&rs)
		if len(uid) > 40 || !uidPattern.MatchString(uid) {
			t.Errorf("UID for %+v = %q: not a valid UID", s, uid)
		}
	}
}

// TestTitlesStayUnique: selectors that render alike still get distinct titles.
func TestTitlesStayUnique(t *testing.T) {
	a := celSet(inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "ns", Selector: map[string]string{"a": "b,c=d"}}, "one", "route_name", "x")
	b := celSet(inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "ns", Selector: map[string]string{"a": "b", "c": "d"}}, "two", "route_name", "y")
	ds, _ := build(t, &inventory.Inventory{RouteSets: []inventory.RouteSet{a, b}})
	titles := map[string]bool{}
	for _, d := range ds {
		if titles[*d.Dashboard.Title] {
			t.Errorf("title %q twice", *d.Dashboard.Title)
		}
		titles[*d.Dashboard.Title] = true
	}
	if len(titles) != 3 {
		t.Errorf("got titles %v", titles)
	}
}

func TestURLPath(t *testing.T) {
	for _, tc := range []struct {
		uid  string
		vars map[string]string
		want string
	}{
		{"abc", nil, "/d/abc"},
		{"abc", map[string]string{VarRoute: "GET /a b", VarWorkload: "w"}, "/d/abc?var-route=GET+%2Fa+b&var-workload=w"},
		{"abc", map[string]string{VarRoute: `"}&x=1`}, "/d/abc?var-route=%22%7D%26x%3D1"},
	} {
		if got := URLPath(tc.uid, tc.vars); got != tc.want {
			t.Errorf("URLPath(%q, %v) = %q, want %q", tc.uid, tc.vars, got, tc.want)
		}
	}
}

func TestBadRouteSetsAreReportedAndSkipped(t *testing.T) {
	inv := podinfoInventory()
	good := inv.RouteSets[0]
	badTag, reserved, badNS := good, good, good
	badTag.ID, badTag.Tag = "podinfo/bad-tag", "route-name"
	reserved.ID, reserved.Tag = "podinfo/reserved", "response_code"
	badNS.ID, badNS.Namespace, badNS.Scope.Namespace = "bad/ns", "Bad_NS", "Bad_NS"
	inv.RouteSets = append(inv.RouteSets, badTag, reserved, badNS)
	ds, diags := Build(inv, DefaultOptions())
	var codes []string
	for _, d := range diags {
		codes = append(codes, d.Code)
		if d.Object.Name == "" || d.Field == "" || d.Source.File == "" {
			t.Errorf("diagnostic without object, field or source: %v", d)
		}
	}
	slices.Sort(codes)
	if want := []string{CodeTagName, CodeTagReserved, CodeNamespace}; !slices.Equal(codes, sortedCopy(want)) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	if len(ds) != 2 {
		t.Errorf("got %d dashboards, want the good set's and the overview", len(ds))
	}
}

// TestNoRequestCountNoDashboard: without the tag on REQUEST_COUNT there are
// no recorded series to show (the rules report it).
func TestNoRequestCountNoDashboard(t *testing.T) {
	inv := podinfoInventory()
	inv.RouteSets[0].Metrics = []inventory.Metric{inventory.RequestDuration}
	ds, diags := Build(inv, DefaultOptions())
	if len(ds) != 0 || len(diags) != 0 {
		t.Errorf("got %d dashboards, %d diagnostics", len(ds), len(diags))
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestEmptyInventory(t *testing.T) {
	for _, inv := range []*inventory.Inventory{nil, {}} {
		ds, diags := Build(inv, DefaultOptions())
		if len(ds) != 0 || len(diags) != 0 {
			t.Errorf("empty inventory gave %d dashboards, %d diagnostics", len(ds), len(diags))
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	opts := DefaultOptions()
	opts.Refresh = "soon"
	ds, diags := Build(podinfoInventory(), opts)
	if len(ds) != 0 || len(diags) != 1 || diags[0].Code != CodeOptions || !strings.Contains(diags[0].Message, "refresh") {
		t.Errorf("got %d dashboards, diagnostics %v", len(ds), diags)
	}
}

// TestHostileRouteVariableWarning: the backtick set cannot use a raw
// string; its values with a quote or newline are reported one by one.
func TestHostileRouteVariableWarning(t *testing.T) {
	_, diags := build(t, hostileInventory())
	var values []string
	for _, d := range diags {
		if d.Code != CodeRouteVariable || d.Object.Name != "tick" || d.Severity != diag.Warning || d.Field == "" {
			t.Errorf("unexpected diagnostic %v", d)
		}
		values = append(values, d.Message)
	}
	if len(values) != 2 || !strings.Contains(values[0]+values[1], `\"hi\"`) || !strings.Contains(values[0]+values[1], `\n`) {
		t.Errorf("want the quote and newline routes of the tick set, got:\n%s", diagText(diags))
	}
}

func TestJSONIsValidAndKeepsValues(t *testing.T) {
	ds, _ := build(t, hostileInventory())
	for _, d := range ds {
		b, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: invalid JSON: %v", d.UID, err)
		}
	}
}
