package loadfile

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/muxbench/muxbench/loadgen"
)

// histHeader is the size of the V2 encoding's two headers: cookie and
// compressed length (8 bytes), then, compressed, cookie, payload length,
// normalizing offset, digits, lowest, highest and conversion ratio (40).
const (
	outerHeader = 8
	innerHeader = 40
)

// checkGeometry reads only the header of an encoded histogram and refuses
// any geometry but loadgen's (1 ns to 100 s, 3 digits). Two reasons: a
// merge with another geometry would not be lossless, and decoding a header
// that claims a wide range allocates its whole counts array first — a few
// edited bytes in a file could ask for gigabytes.
func checkGeometry(field, s string) error {
	if s == "" {
		return nil // an empty histogram (no requests)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%s: not base64: %w", field, err)
	}
	if len(raw) < outerHeader {
		return fmt.Errorf("%s: %d bytes, too short for a histogram", field, len(raw))
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[outerHeader:]))
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	defer z.Close()
	var h [innerHeader]byte
	if _, err := io.ReadFull(z, h[:]); err != nil {
		return fmt.Errorf("%s: header: %w", field, err)
	}
	digits := int32(binary.BigEndian.Uint32(h[12:16]))
	lowest := int64(binary.BigEndian.Uint64(h[16:24]))
	highest := int64(binary.BigEndian.Uint64(h[24:32]))
	if lowest != loadgen.HistLowest || highest != loadgen.HistHighest || digits != loadgen.HistDigits {
		return fmt.Errorf("%s: histogram of %d..%d at %d digits; muxbench writes %d..%d at %d digits (not from muxbench load, or edited)",
			field, lowest, highest, digits, int64(loadgen.HistLowest), int64(loadgen.HistHighest), loadgen.HistDigits)
	}
	return nil
}
