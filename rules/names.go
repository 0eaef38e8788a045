package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxNameLen is the length limit of a DNS-1123 label.
const maxNameLen = 63

// hashLen is the number of hex digits of the suffix that keeps shortened or
// colliding names apart.
const hashLen = 8

// k8sName joins parts with '-' into a DNS-1123 label: lower-case letters,
// digits and '-', starting and ending with an alphanumeric, at most 63
// characters. A name that had to be shortened ends in a hash of the raw parts.
func k8sName(parts ...string) string {
	name := sanitize(strings.Join(parts, "-"))
	if name == "" {
		name = "x"
	}
	if len(name) <= maxNameLen {
		return name
	}
	return withHash(name, parts...)
}

// withHash shortens name so that "-<hash of parts>" fits and appends it.
func withHash(name string, parts ...string) string {
	keep := maxNameLen - hashLen - 1
	if len(name) > keep {
		name = strings.TrimRight(name[:keep], "-")
	}
	return name + "-" + shortHash(parts...)
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0}) // separator: ("a","bc") and ("ab","c") differ
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLen]
}

// sanitize lower-cases s, turns every other character into '-', collapses
// runs of '-' and trims them from both ends.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
