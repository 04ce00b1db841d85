package main

import (
	"net"

	"github.com/muxbench/muxbench/internal/wire"
)

// connect opens -control, if given, and reads the server's hello before
// any connection is made: a wrong token or address fails here, and a
// hello whose port differs from -target's names the mix-up.
func (o *loadOut) connect(target string) error {
	if o.control == "" {
		return nil
	}
	c, err := wire.Dial(o.control, o.token)
	if err != nil {
		return usageErrorf("-control %s: %v", o.control, err)
	}
	h, err := c.Hello()
	if err != nil {
		c.Close()
		return usageErrorf("-control %s: %v", o.control, err)
	}
	_, helloPort, _ := net.SplitHostPort(h.Addr)
	_, targetPort, _ := net.SplitHostPort(target)
	if helloPort != targetPort {
		c.Close()
		return usageErrorf("-control %s belongs to a server listening on %s, not on -target %s's port", o.control, h.Addr, target)
	}
	o.remote, o.edges.Hello = c, h
	return nil
}

func (o *loadOut) close() {
	if o.remote != nil {
		o.remote.Close()
	}
}
