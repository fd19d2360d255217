// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-udev-name: the name the host gave an ivshm device's memory, for
 * udev's IMPORT{program} (udev/60-ivshm.rules links /dev/ivshm/by-name/NAME).
 *
 *   ivshm-udev-name DEVICE
 *	Maps DEVICE (/dev/ivshmN, or a shm file on the host) read-only and
 *	prints IVSHM_NAME=<label> if it holds a libivshm ring region with a
 *	label; prints nothing if it holds none (exit 0 either way).  Exit 1
 *	if DEVICE cannot be opened or mapped.
 *   ivshm-udev-name --format [--force] FILE LABEL
 *	Formats FILE (e.g. the file behind an ivshmem-plain device, before
 *	the guest boots) as an empty ring region labelled LABEL.  Writes the
 *	region header, channel table and label block (the first 4224 bytes)
 *	and nothing else; destroys any channels in FILE.  FILE must be
 *	never formatted (its region magic is zero, as in a new file) or
 *	hold a ring region already: anything else (a text file, another
 *	program's data) is refused and left alone, as `ivshm send --format`
 *	does.  Refuses too if a channel of FILE has a side attached (a live
 *	peer, or one that died attached), unless --force.
 *
 * The kernel never parses shared memory, and neither does this program: it
 * only calls the library's validated ivshm_region_open/ivshm_region_label,
 * whose labels are 1..31 characters of [A-Za-z0-9._-].  A device removed
 * while we read it (SIGBUS) makes us exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uapi/linux/ivshm.h"
#include "ivshm.h"

static const char *prog = "ivshm-udev-name";
static sigjmp_buf bus_jmp;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s DEVICE\n"
		"       %s --format [--force] FILE LABEL\n"
		"Prints IVSHM_NAME=LABEL if the memory of DEVICE (/dev/ivshmN\n"
		"or a shm file) holds a libivshm ring region with a label,\n"
		"nothing if not.  --format makes FILE an empty ring region\n"
		"labelled LABEL (1..31 of A-Z a-z 0-9 . _ -), e.g. the file\n"
		"behind an ivshmem-plain device before the guest boots; it\n"
		"destroys any channels in FILE, refuses a FILE that holds\n"
		"other data, and refuses if a channel has a side attached,\n"
		"unless --force.\n", prog, prog);
}

/* Bytes of shared memory behind @fd: a file's size or the device's BAR2. */
static int mem_size(int fd, size_t *size)
{
	struct ivshm_info info;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (size_t)st.st_size;
		return 0;
	}
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (ioctl(fd, IVSHM_GET_INFO, &info) < 0)
		return -errno;
	if (info.size > SIZE_MAX)
		return -EFBIG;
	*size = (size_t)info.size;
	return 0;
}

/*
 * Map @path read-only and shared.  The kernel turns a shared mapping of a
 * read-only file into a non-VM_SHARED one, which a driver insisting on
 * VM_SHARED refuses (EINVAL): then map it through a read-write open, still
 * with PROT_READ only.
 */
static void *map_ro(const char *path, size_t *size)
{
	void *p = MAP_FAILED;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	err = mem_size(fd, size);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	if (*size < IVSHM_REGION_HDR_SIZE) {	/* cannot hold a region */
		close(fd);
		return NULL;
	}
	p = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	return p;
fail:
	fprintf(stderr, "%s: %s: %m\n", prog, path);
	if (fd >= 0)
		close(fd);
	return MAP_FAILED;
}

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/* The label in @mem (read-only), or a negative errno: -EFAULT on SIGBUS. */
static __attribute__((noinline)) ssize_t read_label(void *mem, size_t size,
						    char *label, size_t cap)
{
	struct ivshm_region *r;
	ssize_t n;

	if (sigsetjmp(bus_jmp, 1))
		return -EFAULT;	/* the handle leaks: we exit */
	r = ivshm_region_open(mem, size);
	n = r ? ivshm_region_label(r, label, cap) : -errno;
	ivshm_region_close(r);
	return n;
}

static int print_name(const char *path)
{
	char label[IVSHM_REGION_LABEL_MAX];
	struct sigaction sa;
	size_t size = 0;
	ssize_t n;
	void *mem;

	mem = map_ro(path, &size);
	if (mem == MAP_FAILED)
		return 1;
	if (!mem)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	n = read_label(mem, size, label, sizeof(label));
	munmap(mem, size);
	if (n == -EFAULT) {
		fprintf(stderr, "%s: %s: memory went away\n", prog, path);
		return 1;
	}
	if (n > 0)
		printf("IVSHM_NAME=%s\n", label);
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}

/* The library's own check of @label, on a scratch region. */
static int label_valid(const char *label)
{
	static unsigned char scratch[IVSHM_REGION_HDR_SIZE + 64]
		__attribute__((aligned(64)));
	struct ivshm_region *r;
	int ret;

	r = ivshm_region_format(scratch, sizeof(scratch));
	if (!r)
		return -errno;
	ret = ivshm_region_set_label(r, label);
	ivshm_region_close(r);
	return ret;
}

/*
 * Channel sides attached in the ring region at @mem, if it holds one:
 * formatting would pull the memory from under them (they would get
 * ESTALE).  A side whose process died attached counts too.
 */
static int live_attachments(void *mem, size_t size)
{
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX];
	struct ivshm_region *r;
	int i, n, live = 0;

	r = ivshm_region_open(mem, size);
	if (!r)
		return 0;
	ci[0].size = sizeof(ci[0]);
	n = ivshm_region_channels(r, ci, IVSHM_CHAN_MAX);
	ivshm_region_close(r);
	for (i = 0; i < n && i < IVSHM_CHAN_MAX; i++)
		live += !!(ci[i].flags & IVSHM_CHAN_INFO_PRODUCER) +
			!!(ci[i].flags & IVSHM_CHAN_INFO_CONSUMER);
	return live;
}

static int format(const char *path, const char *label, int force)
{
	struct ivshm_region *r;
	size_t size;
	void *mem;
	int fd, err;

	err = label_valid(label);
	if (err < 0) {
		fprintf(stderr,
			"%s: bad label \"%s\": 1..31 of A-Z a-z 0-9 . _ -\n",
			prog, label);
		return 1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %m\n", prog, path);
		return 1;
	}
	err = mem_size(fd, &size);
	if (err < 0 || size < IVSHM_REGION_HDR_SIZE + 64) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, err < 0 ?
			strerror(-err) : "too small for a ring region");
		close(fd);
		return 1;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "%s: %s: mmap: %m\n", prog, path);
		return 1;
	}
	/*
	 * Only memory that never held a region (EAGAIN: magic still zero)
	 * or holds one, of this layout or another (EPROTONOSUPPORT: our
	 * magic, another version): never someone else's data.
	 */
	r = ivshm_region_open(mem, size);
	if (!r && errno != EAGAIN && errno != EPROTONOSUPPORT) {
		fprintf(stderr,
			"%s: %s: holds data that is not a ring region (%s); refusing to overwrite it\n",
			prog, path, strerror(errno));
		munmap(mem, size);
		return 1;
	}
	ivshm_region_close(r);
	err = force ? 0 : live_attachments(mem, size);
	if (err > 0) {
		fprintf(stderr,
			"%s: %s: the ring region has %d attached channel side%s; --force formats it anyway (they get ESTALE)\n",
			prog, path, err, err == 1 ? "" : "s");
		munmap(mem, size);
		return 1;
	}
	r = ivshm_region_format(mem, size);
	err = r ? ivshm_region_set_label(r, label) : -errno;
	ivshm_region_close(r);
	if (!err && msync(mem, IVSHM_REGION_HDR_SIZE + 64, MS_SYNC) < 0)
		err = -errno;
	munmap(mem, size);
	if (err < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--format"))
		return format(argv[2], argv[3], 0);
	if (argc == 5 && !strcmp(argv[1], "--format") &&
	    !strcmp(argv[2], "--force"))
		return format(argv[3], argv[4], 1);
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	return print_name(argv[1]);
}
