package control

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	long := strings.Repeat("y", maxControlLine+1)
	rd := bufio.NewReaderSize(strings.NewReader("stats\r\n"+long+"\nquit\n"+strings.Repeat("z", maxControlLine)+"\nlast"), 16)
	for i, want := range []struct {
		line string
		err  error
	}{{"stats", nil}, {"", errLineTooLong}, {"quit", nil}, {strings.Repeat("z", maxControlLine), nil}, {"last", nil}, {"", io.EOF}} {
		line, err := readLine(rd, maxControlLine)
		if line != want.line || !errors.Is(err, want.err) {
			t.Errorf("line %d: %.20q, %v; want %.20q, %v", i, line, err, want.line, want.err)
		}
	}
}
