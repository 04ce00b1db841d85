/*
 * waitcost.c: the independent check of `muxbench waitcost`. A minimal C
 * loop making the same calls over the same fd layout: N watched fds that
 * are AF_UNIX stream socket pairs with both ends watched for
 * POLLIN|POLLRDHUP (EPOLLIN|EPOLLRDHUP), k of them made readable by one
 * byte written into their peer, at the lowest or highest positions; then
 * back-to-back poll(fds, N, 0) / epoll_wait(epfd, evs, k, 0) /
 * select(maxfd+1, ...) calls, each followed by the scan a minimal event
 * loop makes to find its ready fds (poll and select stop at the last
 * ready one, as muxbench's pollers do). The figure is the thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID) per call, as muxbench's. Timed with the
 * same budget rule: a sample ends once it has min_calls calls and min_ms,
 * or at max_ms, whichever first; the clock is read between batches of
 * calls that double while a batch takes under a sixteenth of min_ms.
 *
 *   cc -O2 -pthread -o waitcost-c waitcost.c
 *   waitcost-c -b poll,epoll,select -n 10,1000 -k 1 -p low -cpu 0 \
 *              -min-calls 1000 -min-ms 50 -max-ms 250 [-idle-threads 1]
 *
 * Prints one line per backend and N: "backend N k position ns_per_call
 * calls", or "backend N k position unsupported reason".
 *
 * -mode blocking times wake-ups instead, as `muxbench waitcost -mode
 * blocking` does: nothing is ready; the waiter (this thread, pinned to
 * -cpu) calls poll / epoll_wait / select with no timeout; a peer thread
 * pinned to -peer-cpu waits until /proc/self/task/TID/stat says S and
 * /proc/self/task/TID/syscall names a wait call, writes one byte into the
 * lowest watched fd's peer, waits for the waiter to report the wake-up,
 * reads the byte back, and so on. The figure is the waiter's
 * CLOCK_THREAD_CPUTIME_ID inside the waits that slept (its voluntary
 * context switches, getrusage RUSAGE_THREAD, rose), per wake-up: "backend
 * N 1 low ns_per_wakeup wakeups slept switches". -min-calls counts
 * wake-ups. Each layout is measured in a child process (fork), so that
 * with -fdtable private the waiter can unshare(CLONE_FILES) after its
 * layout and peer thread exist: its table is then its own (no fdget
 * reference per fd), as muxbench's private table is; with -fdtable shared
 * (the default) the two threads share one, as every Go thread does.
 * Backends: poll, epoll, epollet (EPOLLET: each wake-up is a new edge),
 * select.
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
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long min_calls = 1000, max_calls = 1L << 20;
static double min_ns = 50e6, max_ns = 250e6;
static int blocking, private_table, peer_cpu = 1;
static int tmo; /* the waits' timeout: 0 (hot) or -1 (blocking) */

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* thread_cpu_ns is the calling thread's CPU time: the figure, as
 * muxbench's, which leaves out time other tasks held the CPU. */
static double thread_cpu_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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
	int r = poll(pfd, nfds, tmo);
	if (r < 0 && errno == EINTR)
		return 0;
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
	int r = epoll_wait(epfd, eev, k, tmo);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r < 0)
		die("epoll_wait");
	for (int i = 0; i < r; i++)
		out_fd[i] = eev[i].data.fd;
	return r;
}

static int wait_select(int k) {
	struct timeval tv = {0, 0};
	rout = rmaster;
	int r = select(maxfd + 1, &rout, NULL, NULL, tmo < 0 ? NULL : &tv);
	if (r < 0 && errno == EINTR)
		return 0;
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
	double start = now_ns(), prev = 0, el = 0, cpu0 = thread_cpu_ns();
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
	double cpu = thread_cpu_ns() - cpu0;
	ready(lo, hi, 0);
	if (wrong)
		printf("%s %d %d %s failed %ld-of-%ld-calls-wrong\n", name, n, k, pos, wrong, calls);
	else
		printf("%s %d %d %s %.1f %ld\n", name, n, k, pos, cpu / calls, calls);
	fflush(stdout);
}

/* The blocking wake-up's handshake: cycle numbers that only grow, each on
 * its own cache line. */
static _Alignas(64) _Atomic long armed;
static _Alignas(64) _Atomic long woke;
static _Alignas(64) _Atomic long idle_;
static _Alignas(64) _Atomic long done_;
static pid_t waiter_tid;

static int is_wait_syscall(long nr) {
	static const long calls[] = {
#ifdef SYS_poll
		SYS_poll,
#endif
#ifdef SYS_select
		SYS_select,
#endif
#ifdef SYS_epoll_wait
		SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait2
		SYS_epoll_pwait2,
#endif
		SYS_ppoll, SYS_pselect6, SYS_epoll_pwait,
	};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (nr == calls[i])
			return 1;
	return 0;
}

/* asleep: the waiter is in state S (stat) inside a wait call (syscall). */
static int asleep(int statfd, int sysfd) {
	char buf[512];
	ssize_t n = pread(statfd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		die("read the waiter's stat");
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	n = pread(sysfd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		die("read the waiter's syscall");
	buf[n] = 0;
	if (strncmp(buf, "running", 7) == 0)
		return 0;
	return is_wait_syscall(strtol(buf, NULL, 10));
}

static void *peer_thread(void *arg) {
	int target = *(int *)arg; /* index of the watched fd the peer makes ready */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(peer_cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		die("pin the peer thread");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)waiter_tid);
	int statfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)waiter_tid);
	int sysfd = open(path, O_RDONLY | O_CLOEXEC);
	if (statfd < 0 || sysfd < 0)
		die("open the waiter's /proc files");
	char b = 'x';
	for (long i = 1;; i++) {
		while (atomic_load(&armed) != i)
			if (atomic_load(&done_) == i - 1)
				goto out;
		double t0 = now_ns();
		while (!asleep(statfd, sysfd))
			if (now_ns() - t0 > 5e9) {
				fprintf(stderr, "waitcost-c: the waiter was not seen asleep in a wait call within 5 s\n");
				exit(1);
			}
		if (write(peer[target], &b, 1) != 1)
			die("peer write");
		while (atomic_load(&woke) != i)
			;
		if (read(fds[target], &b, 1) != 1)
			die("peer read");
		atomic_store(&idle_, i);
	}
out:
	close(statfd);
	close(sysfd);
	return NULL;
}

static long voluntary_switches(void) {
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* measure_blocking times wake-ups of the lowest watched fd (k = 1, low)
 * under the same budget rule, counted in wake-ups, after a tenth of it
 * untimed. */
static void measure_blocking(const char *name, int (*wait)(int), int n) {
	static int target = 0;
	pthread_t t;
	waiter_tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&armed, 0);
	atomic_store(&woke, 0);
	atomic_store(&idle_, 0);
	atomic_store(&done_, -1);
	if ((errno = pthread_create(&t, NULL, peer_thread, &target)) != 0)
		die("pthread_create");
	if (private_table && unshare(CLONE_FILES) < 0)
		die("unshare(CLONE_FILES)");
	long i = 0, cycles = 0, slept = 0, switches = 0, wrong = 0;
	double cpu = 0, start = now_ns(), el = 0;
	for (int phase = 0; phase < 2; phase++) {
		double lim_min = phase ? min_ns : min_ns / 10, lim_max = phase ? max_ns : max_ns / 10;
		long want = phase ? min_calls : (min_calls / 10 > 0 ? min_calls / 10 : 1);
		cycles = slept = switches = wrong = 0;
		cpu = 0;
		start = now_ns();
		el = 0;
		while (el < lim_max && cycles < max_calls && (cycles < want || el < lim_min)) {
			atomic_store(&armed, ++i);
			for (;;) {
				long sw0 = voluntary_switches();
				double c0 = thread_cpu_ns();
				int got = wait(1);
				double c1 = thread_cpu_ns();
				long sw1 = voluntary_switches();
				if (got == 0)
					continue; /* a signal */
				if (out_fd[0] != fds[target]) {
					if (++wrong > 16) {
						fprintf(stderr, "waitcost-c: %s N=%d: waits returned fd %d, not %d\n", name, n, out_fd[0], fds[target]);
						exit(1);
					}
					continue;
				}
				cycles++;
				switches += sw1 - sw0;
				if (sw1 > sw0) {
					slept++;
					cpu += c1 - c0;
				}
				break;
			}
			atomic_store(&woke, i);
			while (atomic_load(&idle_) != i)
				;
			el = now_ns() - start;
		}
	}
	atomic_store(&done_, i);
	pthread_join(t, NULL);
	if (slept == 0 || (cycles - slept) * 10 > cycles)
		printf("%s %d 1 low failed %ld-of-%ld-wake-ups-slept\n", name, n, slept, cycles);
	else
		printf("%s %d 1 low %.1f %ld %ld %ld\n", name, n, cpu / slept, cycles, slept, switches);
	fflush(stdout);
}

static void run(const char *b, int n, int k, const char *pos) {
	if (n < 1 || n > 1 << 20) {
		fprintf(stderr, "waitcost-c: N=%d: want 1 to 2^20 watched fds\n", n);
		exit(2);
	}
	if (k > n)
		k = n;
	layout(n);
	out_fd = calloc((size_t)(k > 0 ? k : 1), sizeof *out_fd);
	if (strcmp(b, "poll") == 0) {
		pfd = calloc(n, sizeof *pfd);
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN | POLLRDHUP};
		if (blocking)
			measure_blocking(b, wait_poll, n);
		else
			measure(b, wait_poll, n, k, pos);
		free(pfd);
	} else if (strcmp(b, "epoll") == 0 || (blocking && strcmp(b, "epollet") == 0)) {
		if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
			die("epoll_create1");
		uint32_t et = strcmp(b, "epollet") == 0 ? EPOLLET : 0;
		for (int i = 0; i < n; i++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | et, .data.fd = fds[i]};
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
				die("epoll_ctl");
		}
		eev = calloc(k, sizeof *eev);
		if (blocking)
			measure_blocking(b, wait_epoll, n);
		else
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
			if (blocking)
				measure_blocking(b, wait_select, n);
			else
				measure(b, wait_select, n, k, pos);
		}
	} else {
		fprintf(stderr, "waitcost-c: unknown backend %s (want poll, epoll, select, or epollet with -mode blocking)\n", b);
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
		else if (!strcmp(f, "-mode")) blocking = !strcmp(v, "blocking");
		else if (!strcmp(f, "-fdtable")) private_table = !strcmp(v, "private");
		else if (!strcmp(f, "-peer-cpu")) peer_cpu = atoi(v);
		else {
			fprintf(stderr, "waitcost-c: unknown flag %s\n", f);
			return 2;
		}
	}
	if (k < 1 || (strcmp(pos, "low") && strcmp(pos, "high"))) {
		fprintf(stderr, "waitcost-c: -k must be >= 1 and -p low or high\n");
		return 2;
	}
	if (blocking && (k != 1 || strcmp(pos, "low") || peer_cpu == cpu || threads)) {
		fprintf(stderr, "waitcost-c: -mode blocking times one ready fd, the lowest (-k 1 -p low), with -peer-cpu other than -cpu and no -idle-threads\n");
		return 2;
	}
	tmo = blocking ? -1 : 0;
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
		if (n < 1) {
			fprintf(stderr, "waitcost-c: -n %s: want fd counts >= 1\n", ntok);
			return 2;
		}
		char *blist = strdup(backends), *save;
		for (char *b = strtok_r(blist, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
			if (!blocking) {
				run(b, n, k, pos);
				continue;
			}
			/* A child per layout: a fresh process whose waiter may
			 * unshare its fd table after building the layout. */
			fflush(stdout);
			pid_t child = fork();
			if (child < 0)
				die("fork");
			if (child == 0) {
				run(b, n, k, pos);
				fflush(stdout);
				_exit(0);
			}
			int st;
			if (waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "waitcost-c: %s N=%d: the measuring child failed\n", b, n);
				return 1;
			}
		}
		free(blist);
	}
	free(nlist);
	return 0;
}
