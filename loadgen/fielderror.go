package loadgen

import (
	"fmt"
	"strings"
)

// FieldError is one of Config.Validate's complaints: Field is the Config
// field at fault and Default, when not "", the default its zero value
// stands for. The message names Config fields by their Go names; Message
// renders it with other names, so a command can name the flags that set
// them instead, without rewriting words in a finished sentence.
type FieldError struct {
	Field   string
	Default string
	format  string // fields as {Name}; the rest fmt verbs for args
	args    []any
}

// fieldErrorf is a FieldError for field; format names fields as {Name}.
func fieldErrorf(field, def, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Default: def, format: format, args: args}
}

// Message is the complaint with name(f) for every field f it names, and
// without the default (a command shows its defaults its own way). A nil
// name keeps the Go names.
func (e *FieldError) Message(name func(field string) string) string {
	var b strings.Builder
	rest := e.format
	for {
		i := strings.Index(rest, "{")
		j := strings.Index(rest[i+1:], "}")
		if i < 0 || j < 0 {
			b.WriteString(rest)
			break
		}
		field := rest[i+1 : i+1+j]
		if name != nil {
			field = name(field)
		}
		b.WriteString(rest[:i])
		b.WriteString(strings.ReplaceAll(field, "%", "%%"))
		rest = rest[i+1+j+1:]
	}
	return fmt.Sprintf(b.String(), e.args...)
}

// Error is the complaint in Config's terms: Go field names, and the
// default as "(0 = X)".
func (e *FieldError) Error() string {
	s := e.Message(nil)
	if e.Default != "" {
		s += " (0 = " + e.Default + ")"
	}
	return s
}
