package sockdiag

import "strconv"

// ParseSocketLink returns the inode of a socket from the target of a
// /proc/PID/fd link ("socket:[12345]"); ok is false for any other file.
func ParseSocketLink(link string) (inode uint64, ok bool) {
	const prefix, suffix = "socket:[", "]"
	if len(link) <= len(prefix)+len(suffix) || link[:len(prefix)] != prefix || link[len(link)-1:] != suffix {
		return 0, false
	}
	n, err := strconv.ParseUint(link[len(prefix):len(link)-1], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
