// Package swim is part of GridKV (work in progress).
package swim
