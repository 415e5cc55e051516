// Package quorum is the GridKV replication engine (work in progress).
package quorum
