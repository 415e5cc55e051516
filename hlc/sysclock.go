//go:build !(linux && amd64)

package hlc

import "time"

// systemMillis reads the system wall clock in milliseconds since the Unix
// epoch.
func systemMillis() int64 { return time.Now().UnixMilli() }
