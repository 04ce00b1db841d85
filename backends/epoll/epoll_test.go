package epoll

import (
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

func TestPollerLevel(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(LevelTriggered) }, false)
}

func TestPollerEdge(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(EdgeTriggered) }, true)
}
