package loadgen

import (
	"fmt"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Share returns share i of n of c, whose Conns, Active and Rate are one
// point's totals: the first Conns%n (and Active%n) shares take one more
// connection (active connection) than the rest; the rate is split evenly.
// Generators on n hosts running shares 0..n-1 together produce the point.
// It fails when a share would have no connection, or no active one for
// its part of an open-loop rate.
func (c Config) Share(n, i int) (Config, error) {
	if n <= 1 {
		return c, nil
	}
	part := func(total int) int {
		k := total / n
		if i < total%n {
			k++
		}
		return k
	}
	s := c
	s.Conns, s.Active, s.Rate = part(c.Conns), part(c.Active), c.Rate/float64(n)
	switch {
	case s.Conns == 0:
		return c, fmt.Errorf("%d connections over %d generators leave generator %d none", c.Conns, n, i)
	case s.Active == 0 && c.Active > 0 && c.Mode != traffic.Closed:
		return c, fmt.Errorf("%d active connections over %d generators leave generator %d none for its share of the rate", c.Active, n, i)
	}
	return s, nil
}
