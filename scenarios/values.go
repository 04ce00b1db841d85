package scenarios

import (
	"math"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/muxbench/muxbench/backends/epoll"
)

// The converters below turn one YAML node into a Go value. A nil node is a
// field that is absent or empty and yields the default. On a wrong type they
// record an error naming the key and return ok == false, so that callers
// skip checks that would only repeat the problem.

// examples shows a valid value of each key, for the "how to fix" part of
// a type error.
var examples = map[string]string{
	"name":          "name: my-sweep",
	"description":   "description: \"what this scenario is for\"",
	"backends":      "backends: [" + epoll.NameLT + ", " + epoll.NameET + "]",
	"fds":           "fds: [10, 100, 1000]",
	"active":        "active: 4 or active: [1, 32]",
	"mode":          "mode: open",
	"rate":          "rate: 2000 or rate: [200, 2000, 20000]",
	"size":          "size: 64",
	"keepalive":     "keepalive: 1s",
	"warmup":        "warmup: 500ms",
	"duration":      "duration: 3s",
	"repetitions":   "repetitions: 3",
	"proto":         "proto: echo",
	"path":          "path: /index.html",
	"line":          "line: version",
	"expect":        "expect: \"VERSION \"",
	"server_cpus":   "server_cpus: \"0\"",
	"client_cpus":   "client_cpus: \"1-3\"",
	"server_sndbuf": "server_sndbuf: 4096",
	"churn":         "churn: true or churn: [false, true]",
	"loops":         "loops: 4 or loops: [2, 4, 8]",
}

// unwrap looks through tags ("!!str 0") and anchors ("&x 0") to the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// describe names what a node holds, for "got ..." in messages.
func describe(n ast.Node) string {
	switch v := unwrap(n).(type) {
	case nil:
		return "nothing"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value
	case *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value
	case *ast.NullNode:
		return "nothing"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.AliasNode:
		return "an alias (write the value out instead)"
	default:
		return "a " + v.Type().YAMLName()
	}
}

// text converts a scalar to its text. Numbers and booleans are accepted as
// written, so `server_cpus: 0` means "0".
func (d *decoder) text(key string, n ast.Node, def string) (string, bool) {
	if n == nil {
		return def, true
	}
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	d.errorf(n, "%s: want text, got %s (write e.g. %s)", key, describe(n), examples[key])
	return def, false
}

// integer converts a whole number that fits an int.
func (d *decoder) integer(key string, n ast.Node) (int, bool) {
	if v, ok := unwrap(n).(*ast.IntegerNode); ok {
		switch i := v.Value.(type) {
		case int64:
			if i >= math.MinInt && i <= math.MaxInt {
				return int(i), true
			}
		case uint64:
			if i <= math.MaxInt {
				return int(i), true
			}
		}
		d.errorf(n, "%s: %s is too large (write e.g. %s)", key, describe(n), examples[key])
		return 0, false
	}
	d.errorf(n, "%s: want a whole number, got %s (write e.g. %s)", key, describe(n), examples[key])
	return 0, false
}

// boolean converts true or false; a missing field is false.
func (d *decoder) boolean(key string, n ast.Node) bool {
	if n == nil {
		return false
	}
	if v, ok := unwrap(n).(*ast.BoolNode); ok {
		return v.Value
	}
	d.errorf(n, "%s: want true or false, got %s (write e.g. %s)", key, describe(n), examples[key])
	return false
}

// number converts a finite number, whole or not.
func (d *decoder) number(key string, n ast.Node) (float64, bool) {
	switch v := unwrap(n).(type) {
	case *ast.IntegerNode:
		switch i := v.Value.(type) {
		case int64:
			return float64(i), true
		case uint64:
			return float64(i), true
		}
	case *ast.FloatNode:
		return v.Value, true
	}
	d.errorf(n, "%s: want a number, got %s (write e.g. %s)", key, describe(n), examples[key])
	return 0, false
}

// duration converts a Go duration string ("500ms"); a bare 0 is accepted.
func (d *decoder) duration(key string, n ast.Node, def time.Duration) (time.Duration, bool) {
	if n == nil {
		return def, true
	}
	s, ok := d.text(key, n, "")
	if !ok {
		return def, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, "%s: %q is not a duration (write a Go duration with a unit, like 500ms, 2s or 1m30s)", key, s)
		return def, false
	}
	return v, true
}

// list returns the elements of a sequence node. A scalar is a one-element
// list when scalarOK is set. The returned nodes locate each element.
func (d *decoder) list(key string, n ast.Node, scalarOK bool) ([]ast.Node, bool) {
	switch v := unwrap(n).(type) {
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			d.errorf(n, "%s: empty list (give at least one value, e.g. %s, or remove the field for the default)", key, examples[key])
			return nil, false
		}
		return v.Values, true
	case *ast.MappingNode, *ast.MappingValueNode, *ast.LiteralNode, *ast.AliasNode:
	default:
		if scalarOK {
			return []ast.Node{n}, true
		}
	}
	d.errorf(n, "%s: want a list, got %s (write e.g. %s)", key, describe(n), examples[key])
	return nil, false
}

// textList converts a list of text values.
func (d *decoder) textList(key string, n ast.Node) ([]string, []ast.Node) {
	nodes, ok := d.list(key, n, false)
	if !ok {
		return nil, nil
	}
	out := make([]string, 0, len(nodes))
	kept := make([]ast.Node, 0, len(nodes))
	for _, e := range nodes {
		if s, ok := d.text(key, e, ""); ok {
			out = append(out, s)
			kept = append(kept, e)
		}
	}
	return out, kept
}

// intList converts a list of whole numbers, or one number when scalarOK.
func (d *decoder) intList(key string, n ast.Node, scalarOK bool) ([]int, []ast.Node) {
	nodes, ok := d.list(key, n, scalarOK)
	if !ok {
		return nil, nil
	}
	out := make([]int, 0, len(nodes))
	kept := make([]ast.Node, 0, len(nodes))
	for _, e := range nodes {
		if v, ok := d.integer(key, e); ok {
			out = append(out, v)
			kept = append(kept, e)
		}
	}
	return out, kept
}
