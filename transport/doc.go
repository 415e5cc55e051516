// Package transport is part of GridKV (work in progress).
package transport
