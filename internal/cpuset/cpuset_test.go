package cpuset

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{"0", "0", false},
		{"1-3", "1,2,3", false},
		{"0,2-3", "0,2,3", false},
		{" 1 , 1 ", "1", false},
		{"3-1", "", true},
		{"x", "", true},
		{"-1", "", true},
		{"1-", "", true},
		{"5000", "", true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) err = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("Parse(%q) = %q; want %q", tt.in, got.String(), tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1-3", "0,2-3", "", "a-b", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		// What String prints must parse back to the same set.
		again, err := Parse(set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("round trip of %q: %q -> %q, %v", s, set.String(), again.String(), err)
		}
	})
}
