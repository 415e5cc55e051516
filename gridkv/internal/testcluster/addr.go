package testcluster

import "net"

// LocalIPv4 returns a non-loopback, non-link-local IPv4 address of this
// machine, or "" if it has none: tests of what a remote client sees
// connect through it.
func LocalIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}
