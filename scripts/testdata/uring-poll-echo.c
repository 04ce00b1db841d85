/*
 * uring-poll-echo: the reference for muxbench's uring-poll backend — the
 * same loop in C over liburing, for scripts/uring-compare.sh.
 *
 * One thread. The listener and every connection have one multishot poll
 * (IORING_POLL_ADD_MULTI) for POLLIN|POLLRDHUP (connections also POLLOUT,
 * registered once, as muxbench's edge-triggered policy does); each loop
 * turn is one io_uring_submit_and_wait(ring, 1) — one io_uring_enter that
 * submits queued SQEs and waits for a CQE — then the CQ ring is drained.
 * Accepts run to EAGAIN; reads run until a short read or EAGAIN, each
 * answered by a write; a write that is short keeps the rest pending and
 * reading stops until it is flushed. A poll that ends (no
 * IORING_CQE_F_MORE) is re-armed. user_data is fd | generation << 32 so
 * completions of a closed connection's poll are ignored.
 * Ring flags as muxbench's: SUBMIT_ALL | COOP_TASKRUN | SINGLE_ISSUER |
 * DEFER_TASKRUN.
 *
 *   uring-poll-echo PORT      (listens on 127.0.0.1:PORT; SIGTERM stops it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
#define BUFSZ (64 << 10)

struct conn {
	uint32_t gen;
	int open;
	char *out; /* pending output */
	size_t outlen, outoff;
};

static struct conn conns[MAXFD];
static struct io_uring ring;
static char rbuf[BUFSZ];
static uint32_t gen;
static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) {
		io_uring_submit(&ring);
		s = io_uring_get_sqe(&ring);
	}
	if (!s) {
		fprintf(stderr, "SQ ring full\n");
		exit(1);
	}
	return s;
}

static void arm(int fd, unsigned mask)
{
	struct io_uring_sqe *s = sqe();
	io_uring_prep_poll_multishot(s, fd, mask);
	io_uring_sqe_set_data64(s, (uint64_t)conns[fd].gen << 32 | (uint32_t)fd);
}

static void close_conn(int fd)
{
	struct io_uring_sqe *s = sqe();
	io_uring_prep_poll_remove(s, (uint64_t)conns[fd].gen << 32 | (uint32_t)fd);
	io_uring_sqe_set_data64(s, (uint32_t)fd); /* generation 0: ignored */
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	close(fd);
	conns[fd].open = 0;
	conns[fd].outlen = conns[fd].outoff = 0;
}

/* send writes b; what the socket does not take stays pending. 0: closed. */
static int send_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			close_conn(fd);
			return 0;
		}
		if (w < 0)
			w = 0;
		b += w, n -= w;
		if (n > 0) {
			struct conn *c = &conns[fd];
			c->out = realloc(c->out, n);
			memcpy(c->out, b, n);
			c->outlen = n, c->outoff = 0;
			return 1;
		}
	}
	return 1;
}

static void on_conn(int fd, unsigned mask)
{
	struct conn *c = &conns[fd];
	if (c->outlen > 0) {
		if (!(mask & (POLLOUT | POLLERR | POLLHUP)))
			return;
		while (c->outoff < c->outlen) {
			ssize_t w = write(fd, c->out + c->outoff, c->outlen - c->outoff);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return;
			if (w < 0) {
				close_conn(fd);
				return;
			}
			c->outoff += w;
			if (c->outoff < c->outlen)
				return;
		}
		c->outlen = c->outoff = 0; /* then read what arrived meanwhile */
	} else if (!(mask & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
		return;
	}
	int until_eof = mask & (POLLRDHUP | POLLHUP | POLLERR);
	for (;;) {
		ssize_t n = read(fd, rbuf, sizeof rbuf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_conn(fd);
			return;
		}
		if (!send_all(fd, rbuf, n) || c->outlen > 0)
			return;
		if (n < (ssize_t)sizeof rbuf && !until_eof)
			return; /* short read: drained */
	}
}

static void on_listener(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds */
		}
		if (fd >= MAXFD) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (++gen == 0)
			gen = 1;
		conns[fd].gen = gen;
		conns[fd].open = 1;
		arm(fd, POLLIN | POLLRDHUP | POLLOUT);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
		perror("bind/listen");
		return 1;
	}
	struct io_uring_params p = {
		.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
		.cq_entries = 8192,
	};
	int err = io_uring_queue_init_params(1024, &ring, &p);
	if (err < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-err));
		return 1;
	}
	conns[lfd].gen = ++gen;
	conns[lfd].open = 1;
	arm(lfd, POLLIN);
	while (!stop) {
		err = io_uring_submit_and_wait(&ring, 1);
		if (err < 0 && err != -EINTR && err != -ETIME) {
			fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-err));
			return 1;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int fd = (int)(uint32_t)ud;
			uint32_t g = ud >> 32;
			if (g == 0 || fd >= MAXFD || !conns[fd].open || conns[fd].gen != g)
				continue; /* stale */
			unsigned mask = cqe->res < 0 ? POLLERR : (unsigned)cqe->res;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				arm(fd, fd == lfd ? POLLIN : POLLIN | POLLRDHUP | POLLOUT);
			if (fd == lfd)
				on_listener(lfd);
			else
				on_conn(fd, mask);
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	return 0;
}
