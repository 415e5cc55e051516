// Package ring is part of GridKV (work in progress).
package ring
