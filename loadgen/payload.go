package loadgen

import "encoding/binary"

// sockperf's TCP framing, as its ping-pong client and server speak it (and
// as verified against sockperf 3.7 on the wire): every message starts with
// a 14-byte header — big-endian u64 sequence number, u16 flags, u32 total
// length including the header. The server answers only messages with
// PONG_REQUEST set and WARMUP clear, echoing the whole message with CLIENT
// cleared.
const (
	sockperfHeaderLen       = 14
	sockperfFlagClient      = 0x1
	sockperfFlagPongRequest = 0x2
	sockperfFlagWarmup      = 0x4
)

// codec builds requests and the echoes expected for them. Content is a
// function of (connection id, sequence number), so a byte that was
// corrupted, dropped, duplicated or delivered to the wrong connection shows
// up as a mismatch, and nothing sent needs to be kept for verification.
type codec struct {
	sockperf bool
	size     int
}

// request writes request seq of connection conn into dst[:c.size].
func (c codec) request(dst []byte, conn uint32, seq uint64) {
	dst = dst[:c.size]
	body := dst
	if c.sockperf {
		c.header(dst, seq, sockperfFlagClient|sockperfFlagPongRequest)
		body = dst[sockperfHeaderLen:]
	}
	fillPattern(body, conn, seq)
}

// response writes the echo expected for request seq of conn into
// dst[:c.size].
func (c codec) response(dst []byte, conn uint32, seq uint64) {
	dst = dst[:c.size]
	body := dst
	if c.sockperf {
		c.header(dst, seq, sockperfFlagPongRequest)
		body = dst[sockperfHeaderLen:]
	}
	fillPattern(body, conn, seq)
}

func (c codec) header(dst []byte, seq uint64, flags uint16) {
	binary.BigEndian.PutUint64(dst[0:8], seq+1) // sockperf counts from 1
	binary.BigEndian.PutUint16(dst[8:10], flags)
	binary.BigEndian.PutUint32(dst[10:14], uint32(c.size))
}

// fillPattern fills dst with a pseudo-random stream seeded by (conn, seq):
// splitmix64 for the seed, then 8 bytes per step of a 64-bit LCG, which is
// cheap enough to regenerate for every echo.
func fillPattern(dst []byte, conn uint32, seq uint64) {
	x := uint64(conn)<<40 ^ seq ^ 0x6d75786265656e63 // "muxbeenc"
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], x)
		x = x*6364136223846793005 + 1442695040888963407
	}
	for j := 0; i < len(dst); i, j = i+1, j+1 {
		dst[i] = byte(x >> (8 * j))
	}
}
