// Package benchmarks holds side-by-side benchmarks of GridKV against other
// libraries and systems. It is never released.
package benchmarks
