//go:build unix && !linux

package main

import (
	"context"
	"errors"
)

// Network namespaces exist on Linux only: elsewhere the partition and
// loss scenarios are skipped.
type netLab struct{}

func netnsSupport() (bool, string) { return false, "network namespaces need Linux" }

func newNetLab(context.Context, int) (*netLab, error) {
	return nil, errors.New("no network namespaces")
}
func removeLeftovers(context.Context) []string { return nil }
func destroyLabs()                             {}

func (l *netLab) addr(int) string                       { return "" }
func (l *netLab) clientAddr() string                    { return "" }
func (l *netLab) command(_ int, args []string) []string { return args }
func (l *netLab) partition(context.Context, int) error  { return errors.ErrUnsupported }
func (l *netLab) loss(context.Context, int) error       { return errors.ErrUnsupported }
func (l *netLab) heal(context.Context) error            { return errors.ErrUnsupported }
func (l *netLab) destroy()                              {}
func (l *netLab) mine() []string                        { return nil }
