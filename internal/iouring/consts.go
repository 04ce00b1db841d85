package iouring

// Values from <linux/io_uring.h> that this package and its users need
// (golang.org/x/sys/unix has only the system call numbers).
const (
	// Setup flags.
	SetupCQSize      = 1 << 3
	SetupSubmitAll   = 1 << 7  // 5.18: one bad SQE does not stop the batch
	SetupCoopTaskrun = 1 << 8  // 5.19: no IPI to run completion work; it runs on the next enter
	SetupRDisabled   = 1 << 6  // 5.10: start disabled; the enabling thread becomes the single issuer
	SetupSingleIss   = 1 << 12 // 6.0: one thread submits
	SetupDeferTask   = 1 << 13 // 6.1: completion work runs only when that thread waits

	// Features reported by io_uring_setup.
	FeatSingleMMap = 1 << 0  // 5.4: SQ and CQ rings in one mapping
	FeatNoDrop     = 1 << 1  // 5.5: CQEs are never dropped on overflow
	FeatExtArg     = 1 << 8  // 5.11: io_uring_enter takes a timeout
	FeatCQESkip    = 1 << 11 // 5.17: IOSQE_CQE_SKIP_SUCCESS

	// Enter flags.
	EnterGetEvents = 1 << 0
	EnterExtArg    = 1 << 3

	// Opcodes.
	OpNop         = 0
	OpPollAdd     = 6
	OpPollRemove  = 7
	OpAccept      = 13
	OpAsyncCancel = 14
	OpSend        = 26
	OpRecv        = 27

	// SQE flags.
	SQEBufferSelect   = 1 << 5
	SQECQESkipSuccess = 1 << 6

	// Per-op flags.
	PollAddMulti     = 1 << 0 // in sqe.len: multishot poll (5.13)
	PollUpdateEvents = 1 << 1
	AcceptMultishot  = 1 << 0 // in sqe.ioprio (5.19)
	RecvMultishot    = 1 << 1 // in sqe.ioprio (6.0)

	// CQE flags.
	CQEFBuffer = 1 << 0
	CQEFMore   = 1 << 1
	// CQEBufferShift: a CQE with CQEFBuffer names its buffer id in the
	// upper 16 bits of Flags.
	CQEBufferShift = 16

	// Register opcodes.
	registerProbe      = 8
	registerEnable     = 12
	registerPbufRing   = 22
	registerUnPbufRing = 23
)
