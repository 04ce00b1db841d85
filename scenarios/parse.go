package scenarios

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Defaults of the optional fields (see the package documentation).
const (
	defaultMode        = "open"
	defaultRate        = 2000.0
	defaultSize        = 64
	defaultWarmup      = time.Second
	defaultDuration    = 3 * time.Second
	defaultRepetitions = 3
	defaultProto       = "echo"
	defaultServerCPUs  = "0"
	defaultClientCPUs  = "1"
)

// Limits on values; each is enforced with a message that explains it. The
// load generator's own limits (sizes, rate) are imported from loadgen, not
// repeated here.
const (
	maxFDs         = 10_000_000 // far beyond any RLIMIT_NOFILE a loopback run can use
	minKeepAlive   = 100 * time.Millisecond
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
	ServerCPUs  ast.Node `yaml:"server_cpus"`
	ClientCPUs  ast.Node `yaml:"client_cpus"`
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

// scenario converts and validates every field, filling in defaults.
func (d *decoder) scenario(f *fields) results.Scenario {
	description, ok := d.text("description", f.Description, "")
	switch {
	case !ok:
	case strings.ContainsAny(description, "\r\n"):
		d.errorf(f.Description, "description: more than one line (say what the scenario is for in one line of at most %d characters)", maxDescriptionLen)
	case utf8.RuneCountInString(description) > maxDescriptionLen:
		d.errorf(f.Description, "description: %d characters is too long for the one line reports show (use at most %d)", utf8.RuneCountInString(description), maxDescriptionLen)
	}
	s := results.Scenario{
		Name:        d.name(f.Name),
		Description: description,
		Backends:    d.backends(f.Backends),
		Mode:        d.oneOf("mode", f.Mode, defaultMode, "open", "closed"),
		Proto:       d.oneOf("proto", f.Proto, defaultProto, "echo", "sockperf"),
		Repetitions: d.repetitions(f.Repetitions),
	}
	s.FDs, s.Active = d.sweep(f.FDs, f.Active)
	s.Rate = d.rate(f.Rate, s.Mode)
	s.Size = d.size(f.Size, s.Proto)

	keepAlive, ok := d.duration("keepalive", f.KeepAlive, 0)
	if ok && (keepAlive < 0 || (keepAlive > 0 && keepAlive < minKeepAlive)) {
		d.errorf(f.KeepAlive, "keepalive: %v is not a trickle (use 0 for silent idle connections, or %v or more)", keepAlive, minKeepAlive)
	}
	warmup, ok := d.duration("warmup", f.Warmup, defaultWarmup)
	switch {
	case !ok:
	case warmup < 0:
		d.errorf(f.Warmup, "warmup: %v is negative (use 0 for no warm-up, or a duration like 1s)", warmup)
	case warmup > maxWarmup:
		d.errorf(f.Warmup, "warmup: %v before every sample is too long (use at most %v; a few seconds warms the caches)", warmup, maxWarmup)
	}
	window, ok := d.duration("duration", f.Duration, defaultDuration)
	switch {
	case !ok:
	case window < minDuration:
		d.errorf(f.Duration, "duration: %v is too short to measure (use %v or more, e.g. 3s)", window, minDuration)
	case window > maxDuration:
		d.errorf(f.Duration, "duration: %v per sample is too long (use at most %v, and more repetitions for more data)", window, maxDuration)
	}
	s.KeepAlive, s.Warmup, s.Duration = keepAlive.String(), warmup.String(), window.String()

	s.ServerCPUs, s.ClientCPUs = d.cpus(f.ServerCPUs, f.ClientCPUs)
	return s
}

func (d *decoder) name(n ast.Node) string {
	if n == nil {
		base := filepath.Base(d.file)
		name := strings.TrimSuffix(base, filepath.Ext(base))
		if !validName.MatchString(name) || len(name) > maxNameLen {
			d.errorf(nil, "the file name %q does not make a valid scenario name (add a name field: letters, digits, '.', '_' and '-')", base)
		}
		return name
	}
	name, ok := d.text("name", n, "")
	if ok && (!validName.MatchString(name) || len(name) > maxNameLen) {
		d.errorf(n, "name: %q is not a valid name (use up to %d letters, digits, '.', '_' and '-', starting with a letter or digit)", name, maxNameLen)
	}
	return name
}

func (d *decoder) backends(n ast.Node) []string {
	if n == nil {
		return KnownBackends()
	}
	names, nodes := d.textList("backends", n)
	seen := map[string]bool{}
	for i, name := range names {
		switch {
		case !slices.Contains(knownBackends, name):
			hint := "choose from " + strings.Join(knownBackends, ", ")
			if near := closest(name, knownBackends); near != "" {
				hint = fmt.Sprintf("did you mean %q? %s", near, hint)
			}
			d.errorf(nodes[i], "backends: unknown backend %q (%s)", name, hint)
		case seen[name]:
			d.errorf(nodes[i], "backends: %q is listed twice (list each backend once)", name)
		}
		seen[name] = true
	}
	return names
}

// sweep converts fds and active and checks that they fit together.
func (d *decoder) sweep(fdsNode, activeNode ast.Node) (fds, active []int) {
	if fdsNode == nil {
		d.errorf(nil, "fds: missing (add the fd counts to sweep, e.g. fds: [10, 100, 1000])")
		return nil, nil
	}
	fds, fdNodes := d.intList("fds", fdsNode, false)
	for i, n := range fds {
		switch {
		case n < results.ServerOwnFDs+1 || n > maxFDs:
			d.errorf(fdNodes[i], "fds: %d is out of range (each count includes the server's own %d fds, listener and wake-up eventfd, and at least one active connection: use %d to %d)", n, results.ServerOwnFDs, results.ServerOwnFDs+1, maxFDs)
		case i > 0 && n == fds[i-1]:
			d.errorf(fdNodes[i], "fds: %d is listed twice (list each fd count once, from smallest to largest)", n)
		case i > 0 && n < fds[i-1]:
			d.errorf(fdNodes[i], "fds: %d after %d is not ascending (list the fd counts from smallest to largest, each once)", n, fds[i-1])
		}
	}

	active, activeNodes := []int{1}, []ast.Node{nil}
	if activeNode != nil {
		active, activeNodes = d.intList("active", activeNode, true)
	}
	for i, n := range active {
		switch {
		case n < 1:
			d.errorf(activeNodes[i], "active: %d is not a connection count (use 1 or more)", n)
		case i > 0 && n == active[i-1]:
			d.errorf(activeNodes[i], "active: %d is listed twice (list each active count once, from smallest to largest)", n)
		case i > 0 && n < active[i-1]:
			d.errorf(activeNodes[i], "active: %d after %d is not ascending (list the active counts from smallest to largest, each once)", n, active[i-1])
		}
	}

	if len(fds) == 0 || len(active) == 0 {
		return fds, active
	}
	// Every fd count must hold the smallest active count, and every active
	// count must fit the largest fd count; combinations in between that do
	// not fit are the run's to record as unsupported.
	least, most := slices.Min(active), slices.Max(fds)
	for i, n := range fds {
		if n > results.ServerOwnFDs && n < least+results.ServerOwnFDs {
			d.errorf(fdNodes[i], "fds: %d is too small for %d active connection(s) (each fd count includes the active connections and the server's own %d fds, listener and wake-up eventfd: use at least %d)", n, least, results.ServerOwnFDs, least+results.ServerOwnFDs)
		}
	}
	for i, n := range active {
		if n >= 1 && n+1 > most {
			node := activeNodes[i]
			if node == nil {
				node = fdsNode
			}
			d.errorf(node, "active: %d connections do not fit the largest fd count %d (raise fds to at least %d, or lower active)", n, most, n+1)
		}
	}
	return fds, active
}

func (d *decoder) rate(n ast.Node, mode string) float64 {
	if mode == "closed" {
		if n != nil {
			d.errorf(n, "rate: only open mode paces requests (remove rate, or set mode: open)")
		}
		return 0
	}
	if n == nil {
		return defaultRate
	}
	rate, ok := d.number("rate", n)
	switch {
	case !ok:
	case rate <= 0:
		d.errorf(n, "rate: %v req/s can't pace an open loop (set a positive rate like 2000, or use mode: closed)", rate)
	default:
		if why := loadgenRejects("Rate", func(c *loadgen.Config) { c.Rate = rate }); why != "" {
			d.errorf(n, "rate: %v req/s is more than the load generator paces (%s)", rate, why)
		}
	}
	return rate
}

func (d *decoder) size(n ast.Node, proto string) int {
	if n == nil {
		return defaultSize
	}
	size, ok := d.integer("size", n)
	switch {
	case !ok:
	case size < 1 || size > loadgen.MaxSize:
		d.errorf(n, "size: %d bytes is out of range (use 1 to %d)", size, loadgen.MaxSize)
	case proto == loadgen.ProtoSockperf && size < sockperf.HeaderLen:
		d.errorf(n, "size: %d bytes can't hold sockperf's %d-byte header (use %d or more, or proto: echo)", size, sockperf.HeaderLen, sockperf.HeaderLen)
	case proto == loadgen.ProtoSockperf && size > loadgen.MaxSockperfSize:
		d.errorf(n, "size: %d bytes is more than a sockperf message holds (use at most %d with proto: sockperf, or proto: echo)", size, loadgen.MaxSockperfSize)
	}
	return size
}

func (d *decoder) repetitions(n ast.Node) int {
	if n == nil {
		return defaultRepetitions
	}
	reps, ok := d.integer("repetitions", n)
	if ok && (reps < 1 || reps > maxRepetitions) {
		d.errorf(n, "repetitions: %d is out of range (use 1 to %d; 3 or more gives a median with spread)", reps, maxRepetitions)
	}
	return reps
}

func (d *decoder) cpus(serverNode, clientNode ast.Node) (server, client string) {
	server, serverOK := d.text("server_cpus", serverNode, defaultServerCPUs)
	client, clientOK := d.text("client_cpus", clientNode, defaultClientCPUs)
	server, client = strings.TrimSpace(server), strings.TrimSpace(client)
	serverSet, err := cpuset.Parse(server)
	if serverOK && err != nil {
		d.errorf(serverNode, "server_cpus: %v", err)
		serverOK = false
	}
	clientSet, err := cpuset.Parse(client)
	if clientOK && err != nil {
		d.errorf(clientNode, "client_cpus: %v", err)
		clientOK = false
	}
	if serverOK && clientOK {
		clientCPUs := clientSet.CPUs()
		for _, c := range serverSet.CPUs() {
			if slices.Contains(clientCPUs, c) {
				node := clientNode
				if node == nil {
					node = serverNode
				}
				d.errorf(node, "client_cpus: CPU %d is also in server_cpus (the load generator would steal the server's CPU: use disjoint sets, like server_cpus: \"0\" and client_cpus: \"1\")", c)
				break
			}
		}
	}
	return server, client
}

// loadgenRejects returns why the load generator's own validation refuses a
// value, or "" if it accepts it. The value is set by set on a Config that
// is otherwise valid, so any complaint is about it, and the scenario is held
// to exactly the limits the run would hit (loadgen.Config.Validate is their
// one source). field is the Config field set, whose name Validate's message
// starts with; the rest of the message is returned.
func loadgenRejects(field string, set func(*loadgen.Config)) string {
	c := loadgen.Config{Target: "127.0.0.1:1", Conns: 1, Active: 1, Rate: 1, Duration: time.Second}
	set(&c)
	err := c.Validate()
	if err == nil {
		return ""
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = strings.TrimPrefix(msg, field+" ")
	if _, why, ok := strings.Cut(msg, ": "); ok {
		return why
	}
	return msg
}

// oneOf converts a text field that must be one of choices.
func (d *decoder) oneOf(key string, n ast.Node, def string, choices ...string) string {
	v, ok := d.text(key, n, def)
	if ok && !slices.Contains(choices, v) {
		d.errorf(n, "%s: %q is not valid (use %s; the default is %s)", key, v, strings.Join(choices, " or "), def)
	}
	return v
}
