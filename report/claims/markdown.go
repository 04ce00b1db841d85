package claims

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
)

// Markdown renders the Claims section: the table, then each claim's rule
// and, where a measurement alone cannot decide, the source that does.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("## Claims\n\n")
	b.WriteString("Each claim of the notes muxbench is built on, the figure that tests it (medians, [min–max] over repetitions) and the verdict its rule computes from this run's data.\n\n")
	b.WriteString("| # | claim | what was measured | figure | verdict |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		measured, figure := r.Measured, r.Figure
		if measured == "" {
			measured = "—"
		}
		if figure == "" {
			figure = "—"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", r.N, human.MDCell(r.Claim), human.MDCell(measured), human.MDCell(figure), human.MDCell(verdictText(r, true)))
	}
	b.WriteString("\nRules:\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%d. %s.", r.N, r.Rule)
		if r.Source != "" {
			fmt.Fprintf(&b, " Source: %s.", r.Source)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// verdictText is the verdict with its detail: "**holds only** for ...",
// or without the emphasis "holds only for ..." inside a sentence.
func verdictText(r Row, bold bool) string {
	v := string(r.Verdict)
	if bold {
		v = "**" + v + "**"
	}
	if r.Detail == "" {
		return v
	}
	sep := ": "
	if r.Verdict == HoldsOnly {
		sep = " "
	}
	return v + sep + r.Detail
}
