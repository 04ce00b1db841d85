package loadgen

import "testing"

func TestFaults(t *testing.T) {
	for _, tt := range []struct {
		r    Result
		want string
	}{
		{Result{Requests: 10}, ""},
		{Result{Unanswered: 50}, "unanswered=50"},
		{Result{Errors: map[string]int64{ErrKindReset: 1, ErrKindTimeout: 0}, Unanswered: 3, Lost: 4}, "reset=1 unanswered=3 lost=4"},
	} {
		if got := tt.r.Faults(); got != tt.want {
			t.Errorf("Faults of %+v = %q; want %q", tt.r, got, tt.want)
		}
	}
}
