package diag

import "testing"

func TestMergeSortsAndDropsRepeats(t *testing.T) {
	a := Diagnostic{Severity: Error, Code: "RB002", Source: Source{File: "b.yaml", Line: 3}}
	b := Diagnostic{Severity: Warning, Code: "RB005", Source: Source{File: "a.yaml", Line: 9}}
	got := Merge(List{a, b}, nil, List{a})
	if len(got) != 2 || got[0] != b || got[1] != a {
		t.Errorf("Merge = %v, want [%v %v]", got, b, a)
	}
}
