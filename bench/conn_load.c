// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The load generator of bench/tagger_connrate.sh: C processes, each in a
 * loop for D seconds: connect, send a real ClientHello, wait for the
 * server's close, close. Counts the completed connections.
 *
 * usage: conn_load -a IPV4 -p PORT -f HELLO_FILE [-c PROCS] [-d SECONDS]
 * Prints "connections N failed F seconds D rate R cpu_us C" on stdout, C
 * being the CPU time of the workers (user + system, which includes the
 * softirq work of the packets they send through the veth pair).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define HELLO_MAX 16384
#define PROCS_MAX 64

struct counts {
	long done;
	long failed;
};

static double cpu_us(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e6 + ru->ru_utime.tv_usec +
	       ru->ru_stime.tv_usec;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One connection; 0 when the server read the hello and closed. */
static int one_connection(const struct sockaddr_in *to, const char *hello, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) == 0 &&
	    write(fd, hello, len) == (ssize_t)len) {
		char buf[256];
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		rc = r == 0 ? 0 : -1;
	}
	close(fd);
	return rc;
}

static struct counts run_for(const struct sockaddr_in *to, const char *hello, size_t len,
			     double seconds)
{
	struct counts c = { 0, 0 };
	double end = now_s() + seconds;

	while (now_s() < end) {
		if (one_connection(to, hello, len) == 0)
			c.done++;
		else
			c.failed++;
	}
	return c;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	*len = fread(buf, 1, cap, f);
	fclose(f);
	return *len > 0 ? 0 : -EINVAL;
}

/* Forks the workers; each writes its counts to the pipe. */
static int run_workers(const struct sockaddr_in *to, const char *hello, size_t len, long procs,
		       double seconds, struct counts *total)
{
	int p[2];

	if (pipe(p))
		return -errno;
	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -errno;
		if (pid == 0) {
			struct counts c = run_for(to, hello, len, seconds);

			_exit(write(p[1], &c, sizeof(c)) == sizeof(c) ? 0 : 1);
		}
	}
	close(p[1]);
	for (long i = 0; i < procs; i++) {
		struct counts c;

		if (read(p[0], &c, sizeof(c)) != sizeof(c))
			return -EIO;
		total->done += c.done;
		total->failed += c.failed;
	}
	close(p[0]);
	while (wait(NULL) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	static char hello[HELLO_MAX];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct counts total = { 0, 0 };
	struct rusage ru;
	const char *addr = NULL, *file = NULL;
	long port = 0, procs = 2;
	double seconds = 3;
	size_t len = 0;
	int c, err;

	while ((c = getopt(argc, argv, "a:p:f:c:d:")) != -1) {
		if (c == 'a')
			addr = optarg;
		else if (c == 'p')
			port = strtol(optarg, NULL, 10);
		else if (c == 'f')
			file = optarg;
		else if (c == 'c')
			procs = strtol(optarg, NULL, 10);
		else if (c == 'd')
			seconds = strtod(optarg, NULL);
		else
			return 2;
	}
	if (!addr || !file || port <= 0 || port > 65535 || procs < 1 || procs > PROCS_MAX ||
	    seconds <= 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1) {
		fprintf(stderr, "usage: conn_load -a IPV4 -p PORT -f HELLO_FILE [-c PROCS] "
				"[-d SECONDS]\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)port);
	err = read_file(file, hello, sizeof(hello), &len);
	if (!err)
		err = run_workers(&to, hello, len, procs, seconds, &total);
	if (err) {
		fprintf(stderr, "conn_load: %s: %s\n", file, strerror(-err));
		return 1;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("connections %ld failed %ld seconds %.1f rate %.1f cpu_us %.0f\n", total.done,
	       total.failed, seconds, total.done / seconds, cpu_us(&ru));
	return 0;
}
