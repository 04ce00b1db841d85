package pitfalls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/human"
)

// Write writes f as pitfalls.json and report.md into dir, each atomically.
func Write(dir string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", JSONFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, JSONFile), append(b, '\n')); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := Markdown(&md, f); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ReportFile), md.Bytes())
}

// Read reads a pitfalls.json, refusing another tool's file or schema.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pitfalls results: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a pitfalls.json: %w", path, err)
	}
	if f.Tool != "muxbench" || f.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: tool %q schema %d; want muxbench schema %d (rerun muxbench pitfalls)", path, f.Tool, f.Schema, SchemaVersion)
	}
	return &f, nil
}

// Markdown writes report.md: a summary table, then per pitfall what was
// done, what each loop got, why, and the counters side by side.
func Markdown(w io.Writer, f *File) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Pitfalls\n\n")
	fmt.Fprintf(&b, "%s: each deliberately wrong loop run beside the correct one under the same clients, on loopback, in child processes.\n", tally(f.Pitfalls))
	fmt.Fprintf(&b, "Run %s, %s; kernel %s, %s, commit %s.\n\n",
		f.Started.Format("2006-01-02 15:04:05 UTC"), human.Plural(int(math.Round(f.Seconds)), "second"), orUnknown(f.Env.Kernel), orUnknown(f.Env.GoVersion), orUnknown(f.Env.ShortCommit()))
	fmt.Fprintf(&b, "| # | pitfall | claim | status | correct loop | wrong loop |\n|---|---|---|---|---|---|\n")
	for _, p := range f.Pitfalls {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", p.Number, human.MDCell(p.Title), claimCell(p.Claim), p.Status,
			human.MDCell(outcomeLine(p.Correct)), human.MDCell(outcomeLine(p.Wrong)))
	}
	for _, p := range f.Pitfalls {
		fmt.Fprintf(&b, "\n## %d. %s\n\n", p.Number, p.Title)
		fmt.Fprintf(&b, "- **Status:** %s", p.Status)
		if p.Claim != 0 {
			fmt.Fprintf(&b, " (tests claim %d)", p.Claim)
		}
		fmt.Fprintf(&b, "\n- **What was done:** %s\n", p.Did)
		fmt.Fprintf(&b, "- **Correct loop** (`%s`): %s\n", p.Correct.Backend, outcomeLine(p.Correct))
		fmt.Fprintf(&b, "- **Wrong loop** (`%s`): %s\n", p.Wrong.Backend, outcomeLine(p.Wrong))
		fmt.Fprintf(&b, "- **Why:** %s\n", p.Explanation)
		if rows := counterRows(p.Correct.Counters, p.Wrong.Counters); len(rows) > 0 {
			fmt.Fprintf(&b, "\n| counter | correct | wrong |\n|---|---:|---:|\n")
			for _, r := range rows {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// tally counts the results by status: "6 of 6 pitfalls reproduced", or
// with the others named, "1 of 3 pitfalls reproduced, 1 did not
// reproduce, 1 error".
func tally(rs []Result) string {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	s := fmt.Sprintf("%d of %d pitfalls reproduced", n[StatusReproduced], len(rs))
	for _, st := range []string{StatusNotReproduced, StatusInconclusive, StatusError} {
		if n[st] > 0 {
			s += fmt.Sprintf(", %d %s", n[st], st)
		}
	}
	return s
}

func outcomeLine(o Outcome) string {
	if o.Error != "" {
		return "error: " + human.OneLine(o.Error)
	}
	verdict := "no fault"
	if o.Fault {
		verdict = "FAULT"
	}
	return verdict + ": " + o.Figure
}

func claimCell(c int) string {
	if c == 0 {
		return "–"
	}
	return fmt.Sprint(c)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// counterRows pairs the two loops' counters by name, in the correct
// loop's order, then any the wrong one alone has.
func counterRows(correct, wrong []Counter) [][3]string {
	var names []string
	for _, cs := range [][]Counter{correct, wrong} {
		for _, c := range cs {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	find := func(cs []Counter, name string) string {
		for _, c := range cs {
			if c.Name == name {
				return formatValue(c.Value)
			}
		}
		return "–"
	}
	var rows [][3]string
	for _, n := range names {
		rows = append(rows, [3]string{n, find(correct, n), find(wrong, n)})
	}
	return rows
}

// formatValue prints a count, or any value of 100 or more, as a whole
// number with separators, and a smaller fraction with three significant
// digits.
func formatValue(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return human.Thousands(v)
	}
	return human.Sig3(v)
}
