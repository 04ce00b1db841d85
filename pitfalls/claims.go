package pitfalls

import "fmt"

// Verdicts of a claim row.
const (
	ClaimHolds       = "holds"         // the mistake did what the notes say
	ClaimDoesNotHold = "does not hold" // it did no harm here
	ClaimNotMeasured = "not measured"  // not run, failed, or inconclusive (Measured says which)
)

// ClaimRow is one row of the claims table filled from a pitfalls run.
type ClaimRow struct {
	Claim    int    `json:"claim"`    // issue 11's numbering
	Pitfall  string `json:"pitfall"`  // the pitfall's name
	Measured string `json:"measured"` // what was measured, one line
	Figure   string `json:"figure"`   // the wrong loop's figure against the correct loop's
	Verdict  string `json:"verdict"`  // one of the Claim constants
}

// ClaimRows loads a pitfalls.json and returns the rows for the claims the
// pitfalls test (6, 7, 9), in claim order.
func ClaimRows(path string) ([]ClaimRow, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return ClaimRowsOf(f), nil
}

// ClaimRowsOf is ClaimRows over a File already read: one row per claim a
// pitfall of the table tests, "not measured" when f lacks that pitfall.
func ClaimRowsOf(f *File) []ClaimRow {
	var rows []ClaimRow
	for _, claim := range []int{6, 7, 9} {
		var p *pitfall
		for i := range table {
			if table[i].Claim == claim {
				p = &table[i]
			}
		}
		if p == nil {
			continue
		}
		row := ClaimRow{Claim: claim, Pitfall: p.Name, Measured: p.Title + ": " + p.Did, Verdict: ClaimNotMeasured, Figure: "not run"}
		for _, r := range f.Pitfalls {
			if r.Name != p.Name {
				continue
			}
			row.Measured = r.Title + ": " + r.Did
			row.Figure = fmt.Sprintf("%s: %s; %s: %s", r.Wrong.Backend, outcomeLine(r.Wrong), r.Correct.Backend, outcomeLine(r.Correct))
			switch r.Status {
			case StatusReproduced:
				row.Verdict = ClaimHolds
			case StatusNotReproduced:
				row.Verdict = ClaimDoesNotHold
			default:
				row.Figure = r.Status + ": " + row.Figure
			}
		}
		rows = append(rows, row)
	}
	return rows
}
