//go:build race

package quorum_test

// raceEnabled: the race detector slows the simulations about tenfold, so
// the multi-seed tests run fewer seeds.
const raceEnabled = true
