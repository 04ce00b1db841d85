package scenarios

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/muxbench/muxbench/results"
)

// Defaults of the optional fields (see the package documentation).
const (
	defaultRate        = 2000.0
	defaultSize        = 64
	defaultWarmup      = time.Second
	defaultDuration    = 3 * time.Second
	defaultRepetitions = 3
	defaultServerCPUs  = "0"
	defaultClientCPUs  = "1"
)

// Limits on values; each is enforced with a message that explains it. The
// load generator's own limits (sizes, rate) are imported from loadgen, not
// repeated here.
const (
	maxFDs         = 10_000_000 // far beyond any RLIMIT_NOFILE a loopback run can use
	minDuration    = 100 * time.Millisecond
	maxRepetitions = 1000
	maxNameLen     = 64
	// A sample lasts warm-up plus window, and a sweep takes
	// points x backends x repetitions samples: past these, a typo ("30m"
	// for "30s") would make a run of days.
	maxDuration       = 10 * time.Minute
	maxWarmup         = 10 * time.Minute
	maxDescriptionLen = 200 // one line of a report
	maxReportedErrors = 20
)

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Error is one problem in a scenario file. Parse returns one *Error, or
// several joined with errors.Join (one per line, in line order).
type Error struct {
	File string
	Line int // 1-based
	Msg  string
}

// Error formats e as "FILE:LINE: message".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// fields is a scenario file as the YAML decoder sees it. Each field is kept
// as a node, not a Go value, so that a wrong type gets a message in the
// file's terms and every later check can point at the line it is about.
type fields struct {
	Name        ast.Node `yaml:"name"`
	Description ast.Node `yaml:"description"`
	Backends    ast.Node `yaml:"backends"`
	FDs         ast.Node `yaml:"fds"`
	Active      ast.Node `yaml:"active"`
	Mode        ast.Node `yaml:"mode"`
	Rate        ast.Node `yaml:"rate"`
	Size        ast.Node `yaml:"size"`
	KeepAlive   ast.Node `yaml:"keepalive"`
	Warmup      ast.Node `yaml:"warmup"`
	Duration    ast.Node `yaml:"duration"`
	Repetitions ast.Node `yaml:"repetitions"`
	Proto       ast.Node `yaml:"proto"`
	Path        ast.Node `yaml:"path"`
	Line        ast.Node `yaml:"line"`
	Expect      ast.Node `yaml:"expect"`
	ServerCPUs  ast.Node `yaml:"server_cpus"`
	ClientCPUs  ast.Node `yaml:"client_cpus"`
	SendBuffer  ast.Node `yaml:"server_sndbuf"`
	Churn       ast.Node `yaml:"churn"`
	Loops       ast.Node `yaml:"loops"`
}

// fieldNames lists the YAML keys of fields, in declaration order.
var fieldNames = func() []string {
	t := reflect.TypeFor[fields]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("yaml")
	}
	return names
}()

// Parse decodes and validates the scenario in data, filling in defaults.
// filename is used in error messages and gives the default name.
func Parse(filename string, data []byte) (results.Scenario, error) {
	d := &decoder{file: filename}
	var f fields
	if !d.decode(data, &f) {
		return results.Scenario{}, d.err()
	}
	s := d.scenario(&f)
	if err := d.err(); err != nil {
		return results.Scenario{}, err
	}
	return s, nil
}

// decoder turns YAML into a results.Scenario, collecting every problem.
type decoder struct {
	file string
	errs []*Error
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: lineOf(n), Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems in line order, or nil.
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := d.errs
	if len(errs) > maxReportedErrors {
		rest := &Error{d.file, errs[maxReportedErrors].Line,
			fmt.Sprintf("and %d more problems (fix the ones above first)", len(errs)-maxReportedErrors)}
		errs = append(errs[:maxReportedErrors:maxReportedErrors], rest)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

// lineOf returns the line a node starts on; 1 when it has none (a missing
// field is reported at the top of the file).
func lineOf(n ast.Node) int {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return 1
	}
	return tokenLine(n.GetToken())
}

func tokenLine(tok *token.Token) int {
	if tok != nil && tok.Position != nil && tok.Position.Line > 0 {
		return tok.Position.Line
	}
	return 1
}

// decode parses data as one YAML document and decodes it strictly into f.
// It reports whether f may be used.
func (d *decoder) decode(data []byte, f *fields) bool {
	var file *ast.File
	err := guard(func() (err error) {
		file, err = parser.ParseBytes(data, 0)
		return err
	})
	if err != nil {
		d.yamlError(err)
		return false
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorf(doc.Body, "a second YAML document (one scenario per file: remove the '---' and what follows, or move it to its own file)")
			return false
		}
		body = doc.Body
	}
	if body == nil {
		return true // empty file: every field takes its default, and fds is reported missing
	}
	if !d.checkKeys(body) {
		return false
	}
	d.dropUnknownKeys(body)
	if err := guard(func() error { return yaml.NodeToValue(body, f, yaml.Strict()) }); err != nil {
		d.yamlError(err)
		return false
	}
	return true
}

// guard runs a call into the YAML library. A scenario file is user input:
// should the library ever panic on one, that is reported as a bad file
// instead of crashing the caller. Only library calls are guarded, so the
// fuzz test still catches panics in this package.
func guard(call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML library failed on this file (%v); simplify the YAML", r)
		}
	}()
	return call()
}

// checkKeys reports top-level keys that are not plain field names. The
// decoder would skip them silently.
func (d *decoder) checkKeys(body ast.Node) bool {
	m, ok := unwrap(body).(*ast.MappingNode)
	if !ok {
		return true // the decoder explains what a scenario must be
	}
	good := true
	for _, mv := range m.Values {
		if mv.Key == nil || mv.Key.IsMergeKey() {
			continue
		}
		if _, ok := unwrap(mv.Key).(*ast.StringNode); !ok {
			d.errorf(mv.Key, "%s is not a field name (fields are %s)", describe(mv.Key), strings.Join(fieldNames, ", "))
			good = false
		}
	}
	return good
}

// dropUnknownKeys reports every top-level key that is not a field and
// removes it, so that decoding goes on and the file's other problems are
// listed too. (Keys brought in by a merge key are left to the strict
// decoder.)
func (d *decoder) dropUnknownKeys(body ast.Node) {
	m, ok := unwrap(body).(*ast.MappingNode)
	if !ok {
		return
	}
	kept := m.Values[:0:0]
	for _, mv := range m.Values {
		if key, ok := unwrap(mv.Key).(*ast.StringNode); ok && !slices.Contains(fieldNames, key.Value) {
			d.unknownField(key.Value, tokenLine(key.GetToken()))
			continue
		}
		kept = append(kept, mv)
	}
	m.Values = kept
}

// unknownField records a key that is not a field, with the nearest field name.
func (d *decoder) unknownField(key string, line int) {
	hint := "fields are " + strings.Join(fieldNames, ", ")
	if near := closest(key, fieldNames); near != "" {
		hint = fmt.Sprintf("did you mean %q? %s", near, hint)
	}
	d.errs = append(d.errs, &Error{d.file, line, fmt.Sprintf("unknown field %q (%s)", key, hint)})
}

// yamlError records an error from the YAML library, rephrased where the
// library's wording is about Go rather than the file.
func (d *decoder) yamlError(err error) {
	var unknown *yaml.UnknownFieldError
	var nodeType *yaml.UnexpectedNodeTypeError
	var yerr yaml.Error
	switch {
	case errors.As(err, &unknown):
		key := strings.TrimSuffix(strings.TrimPrefix(unknown.Message, `unknown field "`), `"`)
		if unknown.Token != nil {
			key = unknown.Token.Value
		}
		d.unknownField(key, tokenLine(unknown.Token))
	case errors.As(err, &nodeType):
		d.errs = append(d.errs, &Error{d.file, tokenLine(nodeType.Token),
			fmt.Sprintf("a scenario is a mapping of fields, got a %s (write fields like \"fds: [10, 100]\", one per line)", nodeType.Actual.YAMLName())})
	case errors.As(err, &yerr):
		d.errs = append(d.errs, &Error{d.file, tokenLine(yerr.GetToken()),
			fmt.Sprintf("%s (check the YAML syntax: indentation, quoting, brackets)", yerr.GetMessage())})
	default:
		d.errs = append(d.errs, &Error{d.file, 1, fmt.Sprintf("decode YAML: %v", err)})
	}
}

// closest returns the candidate within edit distance 2 of s, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if dist := editDistance(strings.ToLower(s), c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // not a typo of a field name; don't spend time on it
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
