package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

// externalRun is a synthetic run of an external server labelled label,
// its CPU shown as the process tree's, at the given cost scale.
func externalRun(label string, scale float64) *results.Run {
	r := reporttest.Run(reporttest.Options{Backends: []string{label}, FDs: []int{101, 1001, 10001}, Active: []int{1}, Reps: 3, Seed: 4, Scale: map[string]float64{label: scale}})
	r.Scenario.Name, r.Scenario.Proto, r.Scenario.Path, r.Scenario.Size = "peers", "http", "/", 0
	r.External = &results.ExternalServer{Label: label, Command: []string{"/usr/sbin/" + label, "-p", "{port}"}, CPUScope: results.CPUScopeTree}
	for i := range r.Samples {
		r.Samples[i].Server.CPUScope = results.CPUScopeTree
	}
	return r
}

// TestSideBySide: an external server's run overlaid on a run of built-in
// backends shares their charts — one fd axis, one legend, the backends'
// own styles and its own — its line labelled by its name alone, solid
// like theirs, the CPU axis saying whose CPU it shows; the report says
// what it was and compares it with epoll at the same fds.
func TestSideBySide(t *testing.T) {
	builtin := reporttest.Run(reporttest.Options{Backends: []string{"poll", "epoll-lt"}, FDs: []int{101, 1001, 10001}, Active: []int{1}, Reps: 3})
	ext := externalRun("nginx", 3)
	in := []Input{{Label: "builtin", Run: builtin}, {Label: "nginx-run", Run: ext}}
	charts, err := Charts(in...)
	if err != nil {
		t.Fatal(err)
	}
	c := chartByName(t, charts, "cpu")
	pan := c.Panels[0]
	var labels []string
	for _, s := range pan.Series {
		labels = append(labels, fmt.Sprintf("%s/run%d", s.Label, s.Run))
	}
	if got, want := strings.Join(labels, ","), "poll/run0,epoll-lt/run0,nginx/run0"; got != want {
		t.Errorf("series %s; want %s (each by its name, all solid)", got, want)
	}
	if lo, hi, _ := c.xRange(); lo != 101 || hi != 10001 {
		t.Errorf("fd axis %v–%v; want one axis 101–10,001 for all", lo, hi)
	}
	if want := "1 active connection · open loop at 10,000 req/s · 64 B echo / http GET /"; c.Subtitle != want {
		t.Errorf("subtitle %q; want %q (each run's requests)", c.Subtitle, want)
	}
	nginx, lt := seriesByLabel(t, pan, "nginx"), seriesByLabel(t, pan, "epoll-lt")
	if BackendStyle(nginx.Backend) == BackendStyle(lt.Backend) || knownStyle(BackendStyle("nginx")) {
		t.Errorf("nginx drawn as %v, like a built-in backend", BackendStyle("nginx"))
	}
	for f, p := range map[int]SeriesPoint{101: nginx.Points[0], 10001: nginx.Points[2]} {
		if p.FDs != f || p.Y <= 0 {
			t.Errorf("nginx point %+v; want fds %d with its CPU", p, f)
		}
	}
	var legend []string
	for _, e := range c.legendEntries() {
		legend = append(legend, e.text)
	}
	if got := strings.Join(legend, ","); !strings.HasPrefix(got, "poll,epoll-lt,nginx: process tree") {
		t.Errorf("legend %s; want one legend: poll, epoll-lt, and nginx saying whose CPU its line is", got)
	}
	if lat := chartByName(t, charts, "latency"); !slices.ContainsFunc(lat.legendEntries(), func(e legendEntry) bool { return e.text == "nginx" }) {
		t.Errorf("latency legend %+v; want nginx by its name alone", lat.legendEntries())
	}
	var svg bytes.Buffer
	if err := c.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">epoll-lt<", ">nginx: process tree<"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, in...); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"a backend or server in one run only, by its name, on the same axes",
		"| server | started for every sample by the run | nginx, not muxbench's: `/usr/sbin/nginx -p {port}`, started for every sample",
		"**Side by side**",
		"- At 10,001 fds with 1 active connection, nginx (its process tree) spent ",
		"of epoll-lt's loop thread), and its p50 latency was ",
		"A server muxbench did not write is read from outside",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

// TestExternalStyles: no label an external server may have is drawn like
// a backend muxbench ships.
func TestExternalStyles(t *testing.T) {
	for i := range 500 {
		name := fmt.Sprintf("server-%d", i)
		if s := BackendStyle(name); knownStyle(s) {
			t.Fatalf("%s drawn as %v, a shipped backend's style", name, s)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"redis-server", "--save", "", "sh", "-c", "sed s/x/{port}/ a >b && exec nginx -g 'daemon off;'"})
	want := `redis-server --save '' sh -c 'sed s/x/{port}/ a >b && exec nginx -g '\''daemon off;'\'''`
	if got != want {
		t.Errorf("shellJoin = %s; want %s", got, want)
	}
}
