package scenarios

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// The load's fields: the rate axis, the message size and the request of
// the http and line protocols, each checked as the load generator checks
// them.

// rate converts the rate axis: one rate, or an ascending list of them,
// each a point of its own. Closed mode paces nothing and takes none.
func (d *decoder) rate(n ast.Node, mode traffic.Mode) results.Rates {
	if mode == traffic.Closed {
		if _, list := unwrap(n).(*ast.SequenceNode); list {
			d.errorf(n, "rate: a list of rates sweeps an open loop, and mode is closed (it sends as fast as the server answers: remove rate, or set mode: open)")
		} else if n != nil {
			d.errorf(n, "rate: only open mode paces requests (remove rate, or set mode: open)")
		}
		return nil
	}
	if n == nil {
		return results.Rates{defaultRate}
	}
	nodes, ok := d.list("rate", n, true)
	if !ok {
		return nil
	}
	var rates results.Rates
	for _, e := range nodes {
		rate, ok := d.number("rate", e)
		if !ok {
			continue
		}
		switch last := len(rates) - 1; {
		case rate <= 0:
			d.errorf(e, "rate: %v req/s can't pace an open loop (set a positive rate like 2000, or use mode: closed)", rate)
		case last >= 0 && rate == rates[last]:
			d.errorf(e, "rate: %v is listed twice (list each rate once, from lowest to highest)", rate)
		case last >= 0 && rate < rates[last]:
			d.errorf(e, "rate: %v after %v is not ascending (list the rates from lowest to highest, each once)", rate, rates[last])
		default:
			if why := loadgenRejects("Rate", func(c *loadgen.Config) { c.Rate = rate }); why != "" {
				d.errorf(e, "rate: %v req/s is more than the load generator paces (%s)", rate, why)
			}
		}
		rates = append(rates, rate)
	}
	return rates
}

// rateAxisFits refuses a rate list beside a loops or churn axis: the
// report charts the rate against one line per backend, fds and active
// count, and the loops and churn against their own axes (sweep one of
// them per scenario).
func (d *decoder) rateAxisFits(f *fields, s results.Scenario) {
	if !s.Rate.Several() {
		return
	}
	if len(s.Loops) > 0 && slices.Max(s.Loops) > 1 {
		d.errorf(f.Loops, "loops: several loops beside a list of rates (the report charts one axis beside fds: sweep the rate with one loop, or the loops at one rate)")
	}
	if len(s.Churn) > 1 {
		d.errorf(f.Churn, "churn: both loads beside a list of rates (the report charts one axis beside fds: sweep the rate under one load, or both loads at one rate)")
	}
}

func (d *decoder) size(n ast.Node, proto traffic.Proto) int {
	if slices.Contains(traffic.Protos, proto) && !proto.Echoes() {
		if n != nil {
			d.errorf(n, "size: proto %s sends its own fixed request, so a size has no meaning (remove size)", proto)
		}
		return 0
	}
	if n == nil {
		return defaultSize
	}
	size, ok := d.integer("size", n)
	switch {
	case !ok:
	case size < 1 || size > loadgen.MaxSize:
		d.errorf(n, "size: %d bytes is out of range (use 1 to %d)", size, loadgen.MaxSize)
	case proto == traffic.Sockperf && size < sockperf.HeaderLen:
		d.errorf(n, "size: %d bytes can't hold sockperf's %d-byte header (use %d or more, or proto: echo)", size, sockperf.HeaderLen, sockperf.HeaderLen)
	case proto == traffic.Sockperf && size > loadgen.MaxSockperfSize:
		d.errorf(n, "size: %d bytes is more than a sockperf message holds (use at most %d with proto: sockperf, or proto: echo)", size, loadgen.MaxSockperfSize)
	}
	return size
}

// request converts path, line and expect, the request of proto http and
// proto line, checked as the load generator checks them (its Validate is
// the one source of these rules); a missing required field is reported
// at proto. An http path defaults to loadgen.DefaultPath.
func (d *decoder) request(f *fields, proto traffic.Proto) (path, line, expect string) {
	path, pathOK := d.text("path", f.Path, "")
	line, lineOK := d.text("line", f.Line, "")
	expect, expectOK := d.text("expect", f.Expect, "")
	if !slices.Contains(traffic.Protos, proto) || !pathOK || !lineOK || !expectOK {
		return path, line, expect
	}
	c := loadgen.Config{Target: "127.0.0.1:1", Conns: 1, Active: 1, Rate: 1, Duration: time.Second,
		Proto: proto, Path: path, Line: line, Expect: expect}
	if err := c.Validate(); err != nil {
		for _, msg := range strings.Split(err.Error(), "\n") {
			for _, fl := range []struct {
				key, field, value string
				n                 ast.Node
			}{{"path", "Path", path, f.Path}, {"line", "Line", line, f.Line}, {"expect", "Expect", expect, f.Expect}} {
				if !strings.HasPrefix(msg, fl.field+" ") {
					continue
				}
				node := fl.n
				if node == nil {
					node = f.Proto
				}
				// "Field "value": why", or "Field is empty: why".
				why, ok := strings.CutPrefix(msg, fl.field+" "+strconv.Quote(fl.value)+": ")
				if !ok {
					_, why, _ = strings.Cut(msg, ": ")
				}
				d.errorf(node, "%s: %s", fl.key, why)
			}
		}
	}
	if proto == traffic.HTTP && path == "" {
		path = loadgen.DefaultPath
	}
	return path, line, expect
}
