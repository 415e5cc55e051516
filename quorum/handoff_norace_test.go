//go:build !race

package quorum

const handoffRace = false
