// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * shm-pair: two host processes talking over a plain shared memory file,
 * with no server and no doorbells (the shm: target).
 *
 *   shm-pair [FILE [COUNT]]     default /dev/shm/shm-pair-PID, 10000
 *
 * The parent creates FILE (1 MiB), formats it as a ring region and
 * creates channel "numbers"; a child process opens the same file and
 * attaches as the consumer.  The parent sends COUNT numbers, the child
 * adds them up and checks the sum.  Without doorbells both sides poll
 * with a growing back-off: fine for a pair of processes on one host, and
 * the same code runs over unix: or /dev/ivshmN with doorbells.
 *
 * Build: cc shm-pair.c $(pkg-config --cflags --libs libivshm)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivshm.h>

#define SIZE		(1u << 20)
#define RING_SIZE	(64u << 10)
#define WAIT_MS		5000

static int consumer(const char *target, uint64_t count)
{
	struct ivshm_region *reg = NULL;
	struct ivshm_chan *rx = NULL;
	uint64_t v, sum = 0, i;
	struct ivshm_dev *dev;
	ssize_t n;
	int tries, ret = 1;

	dev = ivshm_open(target, 0);
	if (!dev) {
		fprintf(stderr, "child: %s: %s\n", target, strerror(errno));
		return 1;
	}
	/* The parent may still be formatting and creating: retry. */
	for (tries = 0; tries < 100 && !rx; tries++, usleep(10000)) {
		if (!reg)
			reg = ivshm_region_open(ivshm_base(dev),
						ivshm_size(dev));
		if (reg)
			rx = ivshm_chan_attach(reg, "numbers",
					       IVSHM_CHAN_CONSUMER, NULL);
	}
	if (!rx) {
		fprintf(stderr, "child: attach: %s\n", strerror(errno));
		goto out;
	}
	for (i = 0; i < count; i++) {
		n = ivshm_chan_recv(rx, &v, sizeof(v), WAIT_MS);
		if (n != sizeof(v)) {
			fprintf(stderr, "child: recv: %s\n",
				n < 0 ? strerror(-n) : "short message");
			goto out;
		}
		sum += v;
	}
	if (sum != count * (count + 1) / 2) {
		fprintf(stderr, "child: sum %llu is wrong\n",
			(unsigned long long)sum);
		goto out;
	}
	printf("child: %llu numbers, sum %llu\n", (unsigned long long)count,
	       (unsigned long long)sum);
	ret = 0;
out:
	ivshm_chan_close(rx);
	ivshm_region_close(reg);
	ivshm_close(dev);
	return ret;
}

static int producer(const char *target, uint64_t count)
{
	struct ivshm_region *reg = NULL;
	struct ivshm_chan *tx = NULL;
	struct ivshm_dev *dev;
	uint64_t i;
	int err, ret = 1;

	dev = ivshm_open(target, 0);
	if (!dev) {
		fprintf(stderr, "parent: %s: %s\n", target, strerror(errno));
		return 1;
	}
	reg = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
	if (reg)
		tx = ivshm_chan_create(reg, "numbers", RING_SIZE,
				       IVSHM_CHAN_PRODUCER, NULL);
	if (!tx) {
		fprintf(stderr, "parent: create: %s\n", strerror(errno));
		goto out;
	}
	for (i = 1; i <= count; i++) {
		err = ivshm_chan_send(tx, &i, sizeof(i), WAIT_MS);
		if (err < 0) {
			fprintf(stderr, "parent: send: %s\n", strerror(-err));
			goto out;
		}
	}
	ret = 0;
out:
	ivshm_chan_close(tx);
	ivshm_region_close(reg);
	ivshm_close(dev);
	return ret;
}

int main(int argc, char **argv)
{
	char path[64], target[80];
	const char *file = argv[1];
	uint64_t count = argc > 2 ? strtoull(argv[2], NULL, 0) : 10000;
	int fd, status, ret;
	pid_t child;

	if (argc < 2) {
		snprintf(path, sizeof(path), "/dev/shm/shm-pair-%d", getpid());
		file = path;
	}
	/* shm: maps an existing file: create it, sized, first. */
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, SIZE) < 0) {
		fprintf(stderr, "shm-pair: %s: %s\n", file, strerror(errno));
		return 1;
	}
	close(fd);
	snprintf(target, sizeof(target), "shm:%s", file);
	fflush(stdout);
	child = fork();
	if (child == 0)
		exit(consumer(target, count));
	ret = child < 0 ? 1 : producer(target, count);
	if (child > 0 && (waitpid(child, &status, 0) != child ||
			  !WIFEXITED(status) || WEXITSTATUS(status)))
		ret = 1;
	unlink(file);
	if (!ret)
		printf("parent: sent %llu numbers through %s\n",
		       (unsigned long long)count, target);
	return ret;
}
