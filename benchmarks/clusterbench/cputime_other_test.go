//go:build !unix

package clusterbench

import "time"

// cpuTime is unavailable here: the cpu-ns/op metric is left out.
func cpuTime() (time.Duration, bool) { return 0, false }
