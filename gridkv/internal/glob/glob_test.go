package glob

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true}, // Redis: false (see the package doc)
		{"**", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h?llo", "heello", false},
		{"?", "", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[!e]llo", "hallo", true},
		{"h[!e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{"[^a-c]", "d", true},
		{"[^a-c]", "b", false},
		{"[]", "]", false}, // an empty set matches nothing
		{"[]a]", "a", false},
		{"[a-]", "^", true}, // ']'..'a', unclosed
		{"[abc", "c", true}, // unclosed: the set ends with the pattern
		{"[abc", "d", false},
		{"[^", "x", true},
		{"[\\]]", "]", true},
		{"[\\-]", "-", true},
		{"[a\\-z]", "b", false},
		{"[a\\", "\\", true},
		{"\\*", "*", true},
		{"\\*", "a", false},
		{"\\?", "?", true},
		{"\\[a]", "[a]", true},
		{"a\\", "a\\", true}, // a trailing backslash is itself
		{"\\\\", "\\", true},
		{"*\\*", "abc*", true},
		{"*\\*", "abc", false},
		{"user:*:name", "user:42:name", true},
		{"user:*:name", "user:42:age", false},
		{"*a*a*a*c*b", strings.Repeat("a", 100), false},
		{"*a*a*a*c*b", strings.Repeat("a", 100) + "cb", true},
		{"*?*?", "ab", true},
		{"*?*?", "a", false},
		{"\xff*", "\xff\x00", true}, // bytes, not runes
		{"?", "é", false},           // two bytes
		{"??", "é", true},
	} {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestMatchPathological: patterns that make a naive backtracking matcher
// take exponential time finish on 4 KiB inputs, and the count of steps
// is bounded by len(pattern)×len(s).
func TestMatchPathological(t *testing.T) {
	s := strings.Repeat("a", 4096)
	for _, p := range []string{"*a*a*a*c*b", "*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("*?", 50) + "b", strings.Repeat("a*", 100) + "c"} {
		if Match(p, s) {
			t.Errorf("Match(%q, 4 KiB of a) = true", p)
		}
		if _, n := match(p, s); n > (len(p)+1)*(len(s)+1) {
			t.Errorf("%q: %d steps, more than (len(p)+1)×(len(s)+1) = %d", p, n, (len(p)+1)*(len(s)+1))
		}
	}
}

// redisMatch is Redis's stringmatchlen (util.c, Redis 7), translated
// line by line, with '!' negating like '^': the reference for the fuzz
// target. It can take exponential time; use it on short inputs.
func redisMatch(pattern, s string, skipLonger *bool) bool {
	for len(pattern) > 0 && len(s) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 1 && pattern[1] == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for len(s) > 0 {
				if redisMatch(pattern[1:], s, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			pattern = pattern[1:]
			not := len(pattern) > 0 && (pattern[0] == '^' || pattern[0] == '!')
			if not {
				pattern = pattern[1:]
			}
			match := false
			for {
				if len(pattern) >= 2 && pattern[0] == '\\' {
					pattern = pattern[1:]
					if pattern[0] == s[0] {
						match = true
					}
				} else if len(pattern) > 0 && pattern[0] == ']' {
					break
				} else if len(pattern) == 0 {
					// C: pattern--; then pattern++ below: stay at the end.
					pattern = " "
					break
				} else if len(pattern) >= 3 && pattern[1] == '-' {
					lo, hi := pattern[0], pattern[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					pattern = pattern[2:]
					if s[0] >= lo && s[0] <= hi {
						match = true
					}
				} else if pattern[0] == s[0] {
					match = true
				}
				pattern = pattern[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if pattern[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		pattern = pattern[1:]
		if len(s) == 0 {
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			break
		}
	}
	return len(pattern) == 0 && len(s) == 0
}

func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", ""}, {"a*b?c", "axxbyc"}, {"[^a-c]x", "dx"}, {"[!a]", "b"}, {"[a-]", "^"},
		{"[abc", "c"}, {"\\*[\\]]", "*]"}, {"*a*a*c*b", "aaaaaaaacb"}, {"[]a]", "a"}, {"a\\", "a\\"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 24 || len(s) > 48 {
			t.Skip("the reference is exponential")
		}
		got := Match(pattern, s)
		var want bool
		if s == "" {
			want = strings.Trim(pattern, "*") == "" // Redis: pattern == ""
		} else {
			skip := false
			want = redisMatch(pattern, s, &skip)
		}
		if got != want {
			t.Fatalf("Match(%q, %q) = %v, Redis %v", pattern, s, got, want)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	s := strings.Repeat("a", 4096)
	for _, bc := range []struct{ name, pattern string }{
		{"prefix", "a*"},
		{"pathological", "*a*a*a*c*b"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Match(bc.pattern, s)
			}
		})
	}
}
