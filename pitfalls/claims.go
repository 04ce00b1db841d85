package pitfalls

import (
	"fmt"

	"github.com/muxbench/muxbench/report/claims"
)

// ClaimEvidence turns a pitfalls run into the evidence for the claims its
// pitfalls test (Result.Claim: 6, 7 and 9 of report/claims.Claims), one
// claims.Pitfall per such result, in f's order; package claims computes
// the verdicts. A pitfall answers its claim only when it reproduced or did
// not: an inconclusive or failed run leaves it unanswered (Ran false, Why
// says why, and its Figure starts with its status).
func ClaimEvidence(f *File) []claims.Pitfall {
	var out []claims.Pitfall
	for _, r := range f.Pitfalls {
		if r.Claim == 0 {
			continue
		}
		p := claims.Pitfall{Claim: r.Claim, Name: r.Name, Measured: r.Title + ": " + r.Did, Explanation: r.Explanation,
			Reproduced: r.Status == StatusReproduced,
			Ran:        r.Status == StatusReproduced || r.Status == StatusNotReproduced,
			Figure:     fmt.Sprintf("%s: %s; %s: %s", r.Wrong.Backend, outcomeLine(r.Wrong), r.Correct.Backend, outcomeLine(r.Correct))}
		if !p.Ran {
			p.Figure = r.Status + ": " + p.Figure
			p.Why = r.Status
			if r.Error != "" {
				p.Why += ": " + r.Error
			}
		}
		out = append(out, p)
	}
	return out
}
