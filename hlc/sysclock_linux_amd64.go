package hlc

import (
	"syscall"
	"time"
)

// systemMillis reads the system wall clock in milliseconds since the Unix
// epoch.
//
// time.Now reads two clocks, CLOCK_REALTIME and CLOCK_MONOTONIC, in two vDSO
// calls; a Clock needs only the first. On linux/amd64 syscall.Gettimeofday
// is a vDSO call for CLOCK_REALTIME alone and costs less (see BenchmarkNow
// against BenchmarkTimeNow, run together). Elsewhere it can be a
// real system call, so other platforms use time.Now.
func systemMillis() int64 {
	var tv syscall.Timeval
	if syscall.Gettimeofday(&tv) != nil {
		return time.Now().UnixMilli()
	}
	return tv.Sec*1000 + tv.Usec/1000
}
