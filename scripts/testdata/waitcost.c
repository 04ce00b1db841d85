/*
 * waitcost.c: the independent check of `muxbench waitcost`. A minimal C
 * loop making the same calls over the same fd layout: N watched fds that
 * are AF_UNIX stream socket pairs with both ends watched for
 * POLLIN|POLLRDHUP (EPOLLIN|EPOLLRDHUP), k of them made readable by one
 * byte written into their peer, at the lowest or highest positions; then
 * back-to-back poll(fds, N, 0) / epoll_wait(epfd, evs, k, 0) /
 * select(maxfd+1, ...) calls, each followed by the scan a minimal event
 * loop makes to find its ready fds (poll and select stop at the last
 * ready one, as muxbench's pollers do). Timed with the same budget rule:
 * a sample ends once it has min_calls calls and min_ms, or at max_ms,
 * whichever first; the clock is read between batches of calls that
 * double while a batch takes under a sixteenth of min_ms.
 *
 *   cc -O2 -pthread -o waitcost-c waitcost.c
 *   waitcost-c -b poll,epoll,select -n 10,1000 -k 1 -p low -cpu 0 \
 *              -min-calls 1000 -min-ms 50 -max-ms 250 [-idle-threads 1]
 *
 * Prints one line per backend and N: "backend N k position ns_per_call
 * calls", or "backend N k position unsupported reason".
 *
 * -idle-threads T starts T threads that only sleep. A process with more
 * than one thread shares its fd table, and the kernel then takes a
 * reference on every file it looks up (fdget: an atomic increment and
 * decrement per fd per poll or select call) where a single-threaded one
 * skips it; a Go process always has several threads. With T >= 1 the C
 * loop pays what muxbench's does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long min_calls = 1000, max_calls = 1L << 20;
static double min_ns = 50e6, max_ns = 250e6;

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what) {
	fprintf(stderr, "waitcost-c: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The layout: fds[i] watched, peer[i] the fd to write to make it readable. */
static int *fds, *peer, nfds;

static void layout(int n) {
	fds = calloc(n + 1, sizeof *fds);
	peer = calloc(n + 1, sizeof *peer);
	int m = 0;
	while (m < n) {
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) < 0)
			die("socketpair");
		fds[m] = p[0], peer[m] = p[1], m++;
		fds[m] = p[1], peer[m] = p[0], m++;
	}
	nfds = n; /* an odd n leaves the last end unwatched, as muxbench does */
	/* socketpair hands out the lowest free numbers, so the layout is in
	 * ascending order, as muxbench sorts its own; check it. */
	for (int i = 1; i < n; i++)
		if (fds[i] < fds[i - 1]) {
			fprintf(stderr, "waitcost-c: fds not ascending\n");
			exit(1);
		}
}

static void unlayout(int n) {
	for (int i = 0; i < n + n % 2; i++)
		close(fds[i]);
	free(fds);
	free(peer);
}

static void ready(int lo, int hi, int on) {
	char b = 'x';
	for (int i = lo; i < hi; i++)
		if ((on ? write(peer[i], &b, 1) : read(fds[i], &b, 1)) != 1)
			die(on ? "write" : "read");
}

/* The three loops. Each returns the number of ready fds it found. */
static struct pollfd *pfd;
static struct epoll_event *eev;
static int epfd, maxfd;
static fd_set rmaster, rout;
static int32_t *out_fd; /* where a loop puts the ready fds, as Poller.Wait fills its events */

static int wait_poll(int k) {
	int r = poll(pfd, nfds, 0);
	if (r < 0)
		die("poll");
	int n = 0;
	for (int i = 0; i < nfds && r > 0 && n < k; i++)
		if (pfd[i].revents) {
			r--;
			out_fd[n++] = pfd[i].fd;
		}
	return n;
}

static int wait_epoll(int k) {
	int r = epoll_wait(epfd, eev, k, 0);
	if (r < 0)
		die("epoll_wait");
	for (int i = 0; i < r; i++)
		out_fd[i] = eev[i].data.fd;
	return r;
}

static int wait_select(int k) {
	struct timeval tv = {0, 0};
	rout = rmaster;
	int r = select(maxfd + 1, &rout, NULL, NULL, &tv);
	if (r < 0)
		die("select");
	int n = 0;
	for (int fd = 0; fd <= maxfd && r > 0 && n < k; fd++)
		if (FD_ISSET(fd, &rout)) {
			r--;
			out_fd[n++] = fd;
		}
	return n;
}

static void measure(const char *name, int (*wait)(int), int n, int k, const char *pos) {
	int lo = strcmp(pos, "high") == 0 ? n - k : 0, hi = lo + k;
	ready(lo, hi, 1);
	if (wait(k) != k) {
		fprintf(stderr, "waitcost-c: %s N=%d: first wait found another number of ready fds than %d\n", name, n, k);
		exit(1);
	}
	/* Warm-up: a tenth of min_ms. */
	double t0 = now_ns();
	while (now_ns() - t0 < min_ns / 10)
		wait(k);
	long calls = 0, batch = 1, wrong = 0;
	double start = now_ns(), prev = 0, el = 0;
	for (;;) {
		if (batch > max_calls - calls)
			batch = max_calls - calls;
		for (long i = 0; i < batch; i++)
			if (wait(k) != k)
				wrong++;
		calls += batch;
		el = now_ns() - start;
		if (el >= max_ns || calls >= max_calls || (calls >= min_calls && el >= min_ns))
			break;
		if (el - prev < min_ns / 16 && batch < 4096)
			batch *= 2;
		prev = el;
	}
	ready(lo, hi, 0);
	if (wrong)
		printf("%s %d %d %s failed %ld-of-%ld-calls-wrong\n", name, n, k, pos, wrong, calls);
	else
		printf("%s %d %d %s %.1f %ld\n", name, n, k, pos, el / calls, calls);
	fflush(stdout);
}

static void run(const char *b, int n, int k, const char *pos) {
	if (k > n)
		k = n;
	layout(n);
	out_fd = calloc((size_t)(k > 0 ? k : 1), sizeof *out_fd);
	if (strcmp(b, "poll") == 0) {
		pfd = calloc(n, sizeof *pfd);
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN | POLLRDHUP};
		measure(b, wait_poll, n, k, pos);
		free(pfd);
	} else if (strcmp(b, "epoll") == 0) {
		if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
			die("epoll_create1");
		for (int i = 0; i < n; i++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fds[i]};
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
				die("epoll_ctl");
		}
		eev = calloc(k, sizeof *eev);
		measure(b, wait_epoll, n, k, pos);
		free(eev);
		close(epfd);
	} else if (strcmp(b, "select") == 0) {
		maxfd = fds[n - 1];
		if (maxfd >= FD_SETSIZE) {
			printf("%s %d %d %s unsupported fd-%d>=FD_SETSIZE\n", b, n, k, pos, maxfd);
		} else {
			FD_ZERO(&rmaster);
			for (int i = 0; i < n; i++)
				FD_SET(fds[i], &rmaster);
			measure(b, wait_select, n, k, pos);
		}
	} else {
		fprintf(stderr, "waitcost-c: unknown backend %s (want poll, epoll or select)\n", b);
		exit(2);
	}
	free(out_fd);
	unlayout(n);
}

static void *idle(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv) {
	char *backends = "poll,epoll", *ns = "10,100,1000", *pos = "low";
	int k = 1, cpu = -1, threads = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		char *f = argv[i], *v = argv[i + 1];
		if (!strcmp(f, "-b")) backends = v;
		else if (!strcmp(f, "-n")) ns = v;
		else if (!strcmp(f, "-k")) k = atoi(v);
		else if (!strcmp(f, "-p")) pos = v;
		else if (!strcmp(f, "-cpu")) cpu = atoi(v);
		else if (!strcmp(f, "-idle-threads")) threads = atoi(v);
		else if (!strcmp(f, "-min-calls")) min_calls = atol(v);
		else if (!strcmp(f, "-max-calls")) max_calls = atol(v);
		else if (!strcmp(f, "-min-ms")) min_ns = atof(v) * 1e6;
		else if (!strcmp(f, "-max-ms")) max_ns = atof(v) * 1e6;
		else {
			fprintf(stderr, "waitcost-c: unknown flag %s\n", f);
			return 2;
		}
	}
	if (k < 1 || (strcmp(pos, "low") && strcmp(pos, "high"))) {
		fprintf(stderr, "waitcost-c: -k must be >= 1 and -p low or high\n");
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0)
			die("sched_setaffinity");
	}
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if ((errno = pthread_create(&t, NULL, idle, NULL)) != 0)
			die("pthread_create");
	}
	char *nlist = strdup(ns);
	for (char *ntok = strtok(nlist, ","); ntok; ntok = strtok(NULL, ",")) {
		int n = atoi(ntok);
		char *blist = strdup(backends), *save;
		for (char *b = strtok_r(blist, ",", &save); b; b = strtok_r(NULL, ",", &save))
			run(b, n, k, pos);
		free(blist);
	}
	free(nlist);
	return 0;
}
