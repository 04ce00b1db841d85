/*
 * cserver: the reference for muxbench's poll, select, epoll-lt and
 * epoll-et backends — the same echo loop in C, single-threaded, for
 * scripts/cserver-compare.sh. A single-threaded process's fd table is its
 * own, so the kernel's fdget takes no reference on the files a wait looks
 * up: what muxbench's loop thread gets back with unshare(CLONE_FILES).
 *
 * The loop, as muxbench's (server/server_linux.go):
 *   - poll, select, epoll: level-triggered. Listener and connections are
 *     watched for input; write interest only while output is pending.
 *     Each readiness of the listener accepts until EAGAIN; each readable
 *     connection is read once (a 64 KiB buffer) and the bytes are written
 *     back; a short write keeps the rest pending, reading stops until it
 *     is flushed.
 *   - epollet: IN|OUT|RDHUP|ET registered once per connection; accepts
 *     and reads run until EAGAIN or a short read.
 * Connections get TCP_NODELAY. poll keeps one pollfd array (an fd's slot
 * is swapped with the last on close); select keeps master fd_sets copied
 * each call and scans up to the highest fd.
 *
 *   cserver poll|select|epoll|epollet PORT   (127.0.0.1:PORT; SIGTERM stops it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
#define BUFSZ (64 << 10)

enum { M_POLL, M_SELECT, M_EPOLL, M_EPOLLET };

struct conn {
	int open;
	char *out;
	size_t outlen, outoff;
};

static int mode, lfd, epfd = -1, maxfd = -1;
static struct conn conns[MAXFD];
static char rbuf[BUFSZ];
static volatile sig_atomic_t stop;
/* poll */
static struct pollfd pfds[MAXFD];
static int pidx[MAXFD], npfd;
/* select */
static fd_set rset, wset;

static void on_term(int sig) { (void)sig; stop = 1; }

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* watch sets fd's interest: input, and output when out is set. */
static void watch(int fd, int out, int add)
{
	switch (mode) {
	case M_POLL:
		if (add) {
			pidx[fd] = npfd;
			pfds[npfd].fd = fd;
			npfd++;
		}
		pfds[pidx[fd]].events = POLLIN | (out ? POLLOUT : 0);
		break;
	case M_SELECT:
		if (fd >= FD_SETSIZE) {
			fprintf(stderr, "fd %d >= FD_SETSIZE\n", fd);
			exit(1);
		}
		FD_SET(fd, &rset);
		if (out)
			FD_SET(fd, &wset);
		else
			FD_CLR(fd, &wset);
		if (fd > maxfd)
			maxfd = fd;
		break;
	case M_EPOLL: {
		struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.fd = fd};
		if (epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
			die("epoll_ctl");
		break;
	}
	case M_EPOLLET:
		if (add) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
				die("epoll_ctl");
		}
		break;
	}
}

static void unwatch(int fd)
{
	switch (mode) {
	case M_POLL: {
		int i = pidx[fd];
		pfds[i] = pfds[--npfd];
		pidx[pfds[i].fd] = i;
		break;
	}
	case M_SELECT:
		FD_CLR(fd, &rset);
		FD_CLR(fd, &wset);
		while (maxfd >= 0 && !FD_ISSET(maxfd, &rset))
			maxfd--;
		break;
	default:
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	}
}

static void drop(int fd)
{
	unwatch(fd);
	free(conns[fd].out);
	memset(&conns[fd], 0, sizeof conns[fd]);
	close(fd);
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of fds: tried again on the next readiness */
		if (fd >= MAXFD) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conns[fd].open = 1;
		watch(fd, 0, 1);
	}
}

/* flush writes pending output; it returns 0 when the connection failed. */
static int flush(int fd)
{
	struct conn *c = &conns[fd];
	while (c->outoff < c->outlen) {
		ssize_t n = write(fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0)
			return errno == EAGAIN;
		c->outoff += n;
	}
	c->outlen = c->outoff = 0;
	return 1;
}

/* send writes b back; it returns 0 when the connection failed. */
static int send_back(int fd, const char *b, size_t len)
{
	ssize_t n = write(fd, b, len);
	if (n < 0) {
		if (errno != EAGAIN)
			return 0;
		n = 0;
	}
	if ((size_t)n < len) {
		struct conn *c = &conns[fd];
		c->out = realloc(c->out, len - n);
		memcpy(c->out, b + n, len - n);
		c->outlen = len - n;
		c->outoff = 0;
		if (mode != M_EPOLLET)
			watch(fd, 1, 0);
	}
	return 1;
}

static void handle(int fd, int in, int out, int hup)
{
	struct conn *c = &conns[fd];
	if (!c->open)
		return;
	if (c->outlen > 0) {
		if (!out && !hup)
			return;
		if (!flush(fd)) {
			drop(fd);
			return;
		}
		if (c->outlen > 0)
			return;
		if (mode != M_EPOLLET)
			watch(fd, 0, 0);
	}
	if (!in && !hup)
		return;
	for (;;) {
		ssize_t n = read(fd, rbuf, BUFSZ);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			drop(fd);
			return;
		}
		if (n < 0)
			return;
		if (!send_back(fd, rbuf, n)) {
			drop(fd);
			return;
		}
		/* Level-triggered: one read per readiness. Edge-triggered: until a
		 * short read, and not while output is pending. */
		if (mode != M_EPOLLET || n < BUFSZ || c->outlen > 0)
			return;
	}
}

static void loop(void)
{
	static struct epoll_event evs[256];
	static fd_set r, w;
	while (!stop) {
		int n;
		switch (mode) {
		case M_POLL:
			n = poll(pfds, npfd, -1);
			if (n < 0)
				break;
			for (int i = 0; i < npfd && n > 0; i++) {
				struct pollfd p = pfds[i];
				if (!p.revents)
					continue;
				n--;
				if (p.fd == lfd)
					accept_all();
				else {
					handle(p.fd, p.revents & POLLIN, p.revents & POLLOUT, p.revents & (POLLHUP | POLLERR));
					if (pidx[p.fd] != i || pfds[i].fd != p.fd)
						i--; /* the slot now holds the moved last one */
				}
			}
			break;
		case M_SELECT:
			r = rset;
			w = wset;
			n = select(maxfd + 1, &r, &w, NULL, NULL);
			for (int fd = 0; fd <= maxfd && n > 0; fd++) {
				int in = FD_ISSET(fd, &r), out = FD_ISSET(fd, &w);
				if (!in && !out)
					continue;
				n -= (in != 0) + (out != 0);
				if (fd == lfd)
					accept_all();
				else
					handle(fd, in, out, 0);
			}
			break;
		default:
			n = epoll_wait(epfd, evs, 256, -1);
			for (int i = 0; i < n; i++) {
				int fd = evs[i].data.fd;
				uint32_t e = evs[i].events;
				if (fd == lfd)
					accept_all();
				else
					handle(fd, e & EPOLLIN, e & EPOLLOUT, e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP));
			}
		}
		if (n < 0 && errno != EINTR)
			die("wait");
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cserver poll|select|epoll|epollet PORT\n");
		return 2;
	}
	const char *names[] = {"poll", "select", "epoll", "epollet"};
	mode = -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(argv[1], names[i]))
			mode = i;
	if (mode < 0) {
		fprintf(stderr, "cserver: unknown multiplexer %s: want poll, select, epoll or epollet\n", argv[1]);
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(lfd, 4096) < 0)
		die("listen");
	if (mode >= M_EPOLL && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if (mode == M_EPOLLET) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
			die("epoll_ctl");
	} else
		watch(lfd, 0, 1);
	loop();
	return 0;
}
