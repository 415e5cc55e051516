// Package hlcbench compares the cost of reading github.com/gridkv/gridkv/hlc's
// Clock with time.Now, the floor any wall-clock-based version source pays, and
// with a plain mutex-guarded hybrid logical clock. It has only benchmarks:
//
//	cd benchmarks && go test -run '^$' -bench . -count 10 ./hlcbench | benchstat -col /clock -
//
// Each benchmark has sub-benchmarks clock=time.Now, clock=hlc and clock=mutex,
// serial and with b.RunParallel, so one run holds the baseline and the
// candidates under the same machine load.
package hlcbench
