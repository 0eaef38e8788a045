// Package suggest finds the known name a misspelt one was meant to be, for
// "did you mean" hints in error messages.
package suggest

import "strings"

// Closest returns the candidate within one edit of name (an insertion, a
// deletion, a substitution, or two adjacent characters swapped), compared
// without regard to case; "" when there is none or when two are equally
// close. A candidate equal to name but for case wins over any other.
func Closest(name string, candidates []string) string {
	best, ties := "", 0
	bestDist := 2
	for _, c := range candidates {
		d := Distance(strings.ToLower(name), strings.ToLower(c), 2)
		if d == 0 && c != name {
			return c
		}
		switch {
		case d < bestDist:
			best, bestDist, ties = c, d, 1
		case d == bestDist && c != best:
			ties++
		}
	}
	if ties != 1 || bestDist == 0 {
		return ""
	}
	return best
}

// Distance is the optimal string alignment distance between a and b
// (Levenshtein plus adjacent transpositions), in bytes, or limit when it is
// limit or more: callers only tell near names from far ones, so it stops
// as soon as every alignment costs at least limit.
func Distance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
