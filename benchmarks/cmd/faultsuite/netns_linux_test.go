//go:build linux

package main

import "testing"

func TestLeftoverNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ns, ln bool
	}{
		{"gkfs-1234-0", true, false},
		{"gkfs-1234-12", true, false},
		{"gkfs1234b", false, true},
		{"gkfs1234h0", false, true},
		{"gkfs1234n3", false, true},
		{"gkfs-x-0", false, false},
		{"gkfsbr0", false, false},
		{"eth0", false, false},
		{"gkfs1234", false, false},
	} {
		if got := nsRe.MatchString(tc.name); got != tc.ns {
			t.Errorf("namespace %q: %v, want %v", tc.name, got, tc.ns)
		}
		if got := linkRe.MatchString(tc.name); got != tc.ln {
			t.Errorf("link %q: %v, want %v", tc.name, got, tc.ln)
		}
	}
	l := &netLab{subnet: 77, ns: []string{"a", "b", "c"}}
	if got := l.others(1, all(3)); got != "{ 10.213.77.10, 10.213.77.12 }" {
		t.Fatalf("others = %q", got)
	}
	if got := l.command(2, []string{"bin", "serve"}); len(got) != 6 || got[3] != "c" || got[4] != "bin" {
		t.Fatalf("command = %q", got)
	}
}
