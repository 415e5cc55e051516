// Package store is part of GridKV (work in progress).
package store
