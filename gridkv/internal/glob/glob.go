// Package glob matches strings against Redis-style glob patterns, as
// KEYS, SCAN MATCH and PSUBSCRIBE use them, in time linear in the
// product of the lengths: no pattern can make it backtrack
// exponentially.
//
// Syntax, byte by byte (not rune by rune, as Redis):
//
//	"*"       any sequence of bytes, empty included
//	"?"       any one byte
//	"[abc]"   one byte of the set; "[a-z]" a range (ends in either order)
//	"[^abc]"  one byte not in the set; "[!abc]" too; a backslash escapes inside
//	"\x"      the byte x itself
//	"x"       any other byte: itself
//
// As in Redis, an unclosed "[" ends its set at the end of the pattern, a
// trailing "\" matches a backslash, "[]" matches nothing, and "]" right
// after "-" is a range end ("[a-]" is the range ']'..'a').
//
// Differences from Redis's stringmatchlen: "!" negates a set like "^";
// a pattern of stars matches the empty string (Redis answers false when
// the string is empty, whatever the pattern); and there is no limit on
// the number of stars (Redis gives up beyond 1000 nested stars).
//
// Usage:
//
//  1. ok := glob.Match("user:*:name", key)
package glob

// Match reports whether s matches pattern. It runs in
// O(len(pattern)×len(s)) time and allocates nothing.
func Match(pattern, s string) bool {
	ok, _ := match(pattern, s)
	return ok
}

// match is Match; it also returns the iterations of its main loop, which
// a test bounds by (len(pattern)+1)×(len(s)+1).
func match(pattern, s string) (ok bool, steps int) {
	p, i := 0, 0
	// After a '*', the pattern position after it and the position in s
	// it was last tried from: on a mismatch, the star takes one more
	// byte. Only the last star needs remembering, since every other
	// token matches exactly one byte.
	starP, starI := -1, 0
	for i < len(s) {
		steps++
		if p < len(pattern) {
			if pattern[p] == '*' {
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true, steps
				}
				starP, starI = p, i
				continue
			}
			if next, ok := matchByte(pattern, p, s[i]); ok {
				p = next
				i++
				continue
			}
		}
		if starP < 0 {
			return false, steps
		}
		starI++
		p, i = starP, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern), steps
}

// matchByte matches the token at pattern[p] (not '*') against c and
// returns the position after the token; the position does not depend
// on c.
func matchByte(pattern string, p int, c byte) (int, bool) {
	switch pattern[p] {
	case '?':
		return p + 1, true
	case '[':
		return matchSet(pattern, p+1, c)
	case '\\':
		if p+1 < len(pattern) {
			p++
		}
	}
	return p + 1, pattern[p] == c
}

// matchSet matches c against the set starting at pattern[p], after its
// '[', following Redis's loop.
func matchSet(pattern string, p int, c byte) (int, bool) {
	not := p < len(pattern) && (pattern[p] == '^' || pattern[p] == '!')
	if not {
		p++
	}
	match := false
	for {
		if p >= len(pattern) {
			break // unclosed: the set ends with the pattern
		}
		switch {
		case pattern[p] == '\\' && p+1 < len(pattern):
			p++
			if pattern[p] == c {
				match = true
			}
		case pattern[p] == ']':
			return p + 1, match != not
		case p+2 < len(pattern) && pattern[p+1] == '-':
			lo, hi := pattern[p], pattern[p+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			p += 2
		default:
			if pattern[p] == c {
				match = true
			}
		}
		p++
	}
	return p, match != not
}
