//go:build !unix

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "faultsuite: needs a Unix system (kill -9, SIGSTOP, process groups)")
	os.Exit(2)
}
