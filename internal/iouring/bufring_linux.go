package iouring

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a ring of provided buffers (IORING_REGISTER_PBUF_RING, 5.19):
// the kernel picks a buffer for each completion of a request with
// IOSQE_BUFFER_SELECT from group Group, and the CQE names it; the
// application gives it back with Return. Buffers and ring entries live in
// anonymous mappings, outside the Go heap.
type BufRing struct {
	r       *Ring
	Group   uint16
	size    int
	mem     []byte // the buffers, count × size
	entries []byte // count × 16-byte struct io_uring_buf
	mask    uint16
	tail    uint16
}

// bufEntry is struct io_uring_buf. The ring's tail overlays the resv field
// of entry 0.
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	pad         uint16
	resv        [3]uint64
}

// NewBufRing registers count buffers (a power of two) of size bytes each
// as group bgid, all given to the kernel.
func (r *Ring) NewBufRing(bgid uint16, count, size int) (*BufRing, error) {
	entries, err := unix.Mmap(-1, 0, count*int(unsafe.Sizeof(bufEntry{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("mmap buffer ring: %w", err)
	}
	mem, err := unix.Mmap(-1, 0, count*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Munmap(entries)
		return nil, fmt.Errorf("mmap %d provided buffers: %w", count, err)
	}
	b := &BufRing{r: r, Group: bgid, size: size, mem: mem, entries: entries, mask: uint16(count - 1)}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&entries[0]))), ringEntries: uint32(count), bgid: bgid}
	if err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.unmap()
		if err == unix.EINVAL {
			return nil, unsupported("io_uring has no provided buffer rings (IORING_REGISTER_PBUF_RING): it needs Linux 6.0 or later")
		}
		return nil, fmt.Errorf("io_uring_register pbuf ring: %w", err)
	}
	for i := 0; i < count; i++ {
		b.put(uint16(i))
	}
	b.Publish()
	return b, nil
}

// Buf is the i-th buffer's first n bytes.
func (b *BufRing) Buf(bid uint16, n int) []byte {
	off := int(bid) * b.size
	return b.mem[off : off+n : off+b.size]
}

// Size is each buffer's size.
func (b *BufRing) Size() int { return b.size }

func (b *BufRing) put(bid uint16) {
	e := (*bufEntry)(unsafe.Pointer(&b.entries[int(b.tail&b.mask)*int(unsafe.Sizeof(bufEntry{}))]))
	e.addr = uint64(uintptr(unsafe.Pointer(&b.mem[int(bid)*b.size])))
	e.len = uint32(b.size)
	e.bid = bid
	b.tail++
}

// Return gives buffer bid back; the kernel sees it after Publish.
func (b *BufRing) Return(bid uint16) { b.put(bid) }

// Publish makes returned buffers visible to the kernel. The 16-bit tail
// shares a 32-bit word with entry 0's buffer id, which only this side
// writes; sync/atomic has no 16-bit store, so the word is stored whole.
func (b *BufRing) Publish() {
	word := (*uint32)(unsafe.Pointer(&b.entries[12]))
	bid0 := (*bufEntry)(unsafe.Pointer(&b.entries[0])).bid
	atomic.StoreUint32(word, uint32(b.tail)<<16|uint32(bid0))
}

// Close unregisters the group and unmaps its memory.
func (b *BufRing) Close() error {
	reg := bufReg{bgid: b.Group}
	err := b.r.register(registerUnPbufRing, unsafe.Pointer(&reg), 1)
	b.unmap()
	if err != nil {
		return fmt.Errorf("io_uring_register unregister pbuf ring: %w", err)
	}
	return nil
}

func (b *BufRing) unmap() {
	unix.Munmap(b.mem)
	unix.Munmap(b.entries)
}
