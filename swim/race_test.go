//go:build race

package swim

// raceEnabled: the race detector slows memberlist's simulated clusters
// about tenfold, so the largest simulations skip under -race.
const raceEnabled = true
