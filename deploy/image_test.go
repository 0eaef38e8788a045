package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
)

// stage is one FROM ... AS name of the Dockerfile, its instructions in order.
type stage struct {
	from, name string
	lines      []string
}

func dockerfileStages(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(testutil.ModuleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			s := stage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

var makeBuild = regexp.MustCompile(`^RUN make build BIN=(\S+) VERSION=\$\{VERSION\}$`)

// TestDockerfileBuildsWithMakeBuild: no container engine runs here, so the
// image is checked by reading: the build stage runs `make build` (so the
// binaries get its flags, which are static, trimmed, stripped and
// versioned), and each runtime stage is scratch with its binaries, a
// non-root numeric user (the one the chart runs as) and its entrypoint.
func TestDockerfileBuildsWithMakeBuild(t *testing.T) {
	stages := dockerfileStages(t)
	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	build, ok := byName["build"]
	if !ok {
		t.Fatal("no build stage")
	}
	var out string
	for _, l := range build.lines {
		if m := makeBuild.FindStringSubmatch(l); m != nil {
			out = m[1]
		}
	}
	if out == "" || !contains(build.lines, "ARG VERSION=devel") {
		t.Fatalf("the build stage does not run make build with the VERSION argument:\n%s", strings.Join(build.lines, "\n"))
	}
	checkMakeBuild(t, out)

	if last := stages[len(stages)-1]; last.name != "routebundle" {
		t.Errorf("the default (last) target is %s, want routebundle", last.name)
	}
	uid := chartUser(t)
	for name, bins := range map[string][]string{"routebundle": {"routebundle", "bundlegen"}, "bundlegen": {"bundlegen"}} {
		s, ok := byName[name]
		if !ok {
			t.Errorf("no %s stage", name)
			continue
		}
		if s.from != "scratch" {
			t.Errorf("%s: FROM %s, want scratch", name, s.from)
		}
		for _, b := range bins {
			if !contains(s.lines, "COPY --from=build "+out+"/"+b+" /usr/local/bin/"+b) {
				t.Errorf("%s: does not copy %s from the build stage", name, b)
			}
		}
		if !contains(s.lines, "USER "+uid+":"+uid) {
			t.Errorf("%s: no USER %s:%s (the chart's runAsUser)", name, uid, uid)
		}
		if !contains(s.lines, `ENTRYPOINT ["/usr/local/bin/`+name+`"]`) {
			t.Errorf("%s: entrypoint is not /usr/local/bin/%s", name, name)
		}
	}
}

// checkMakeBuild reads what `make build BIN=out` runs: both binaries, with
// cgo off and the flags the Dockerfile relies on.
func checkMakeBuild(t *testing.T, out string) {
	cmd := exec.Command("make", "-s", "-n", "build", "BIN="+out, "VERSION=v0.0.0-test")
	cmd.Dir = testutil.ModuleRoot(t)
	text, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	for _, name := range []string{"bundlegen", "routebundle"} {
		var line string
		for _, l := range strings.Split(string(text), "\n") {
			if strings.HasSuffix(l, "-o "+out+"/"+name+" ./cmd/"+name) {
				line = l
			}
		}
		if line == "" {
			t.Errorf("make build does not build %s into %s:\n%s", name, out, text)
			continue
		}
		for _, want := range []string{"CGO_ENABLED=0 ", " build ", " -trimpath ", `-ldflags "-s -w -X main.version=v0.0.0-test"`} {
			if !strings.Contains(line, want) {
				t.Errorf("make build builds %s without %q: %s", name, want, line)
			}
		}
	}
}

// TestBinariesBuildWithoutCgo: with cgo off every package both binaries
// import still builds (none needs C), so the image's binaries are static.
func TestBinariesBuildWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{with .Error}}{{.}}{{end}}", "./cmd/bundlegen", "./cmd/routebundle")
	cmd.Dir = testutil.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("go list with CGO_ENABLED=0: %v\n%s", err, out)
	}
}

// chartUser is the chart's runAsUser.
func chartUser(t *testing.T) string {
	dep := find(t, mustRender(t, "").objects, "Deployment", "")
	uid := nested[float64](t, dep.Object, "spec", "template", "spec", "securityContext", "runAsUser")
	if uid == 0 {
		t.Fatal("the chart runs as root")
	}
	return strconv.FormatFloat(uid, 'f', -1, 64)
}

func contains(lines []string, line string) bool {
	for _, l := range lines {
		if l == line {
			return true
		}
	}
	return false
}
