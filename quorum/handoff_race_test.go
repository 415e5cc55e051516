//go:build race

package quorum

// handoffRace: the race detector slows the handoff scale tests about
// tenfold, so they use fewer keys.
const handoffRace = true
