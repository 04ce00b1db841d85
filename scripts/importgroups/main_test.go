package main

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const module = "example.com/m"
	for _, tc := range []struct {
		name, imports, want string // want: "" or a substring of the problem
	}{
		{"three groups", `"fmt"

"golang.org/x/sys/unix"

"example.com/m/lib"`, ""},
		{"stdlib and local", `"fmt"
"os"

"example.com/m/lib"`, ""},
		{"named and blank imports", `"fmt"

_ "example.com/m/lib"
x "example.com/m/x"`, ""},
		{"local in the stdlib group", `"example.com/m/lib"
"fmt"`, `one group mixes this module ("example.com/m/lib") and standard library ("fmt")`},
		{"stdlib after local", `"example.com/m/lib"

"fmt"`, `"fmt" (standard library) starts a group after the this module group`},
		{"two stdlib groups", `"fmt"

"os"`, "starts a group after"},
		{"other module in the local group", `"fmt"

"example.com/m/lib"
"golang.org/x/sys/unix"`, `mixes this module ("example.com/m/lib") and other modules`},
	} {
		src := "package p\n\nimport (\n" + tc.imports + "\n)\n"
		got, err := check("x.go", []byte(src), module)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: check = %q; want %q", tc.name, got, tc.want)
		}
	}
	if got, err := check("x.go", []byte("package p\n\nimport \"fmt\"\n"), module); err != nil || got != "" {
		t.Errorf("single import: %q, %v; want no problem", got, err)
	}
}

func TestModulePath(t *testing.T) {
	if got := modulePath([]byte("// x\nmodule github.com/muxbench/muxbench\n\ngo 1.26.0\n")); got != "github.com/muxbench/muxbench" {
		t.Errorf("modulePath = %q", got)
	}
}
