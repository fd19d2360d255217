// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: create (or open) the shared memory every peer maps.
 * Sizes are 64-bit throughout: 4 GiB and more work.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ivshm-server.h"

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int set_size(int fd, uint64_t size, const char *what)
{
	if (ftruncate(fd, (off_t)size) < 0) {
		log_err("cannot size %s to %llu bytes: %m%s", what,
			(unsigned long long)size,
			errno == EINVAL ?
			" (on hugetlbfs the size must be a multiple of the huge page size)" :
			"");
		return -1;
	}
	return 0;
}

/*
 * Memory somebody else may already use: never shrink or grow it under them.
 * Adopt its size when no size was asked for, else insist on a match.
 */
static int check_existing(const struct config *cfg, int fd, const char *what,
			  uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		log_err("cannot stat %s: %m", what);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("%s is not a regular file", what);
		return -1;
	}
	if (st.st_size == 0) {
		*size = cfg->size;
		return set_size(fd, cfg->size, what);
	}
	if (!cfg->size_given) {
		if (!is_pow2((uint64_t)st.st_size)) {
			log_err("%s has size %lld, not a power of two as QEMU requires",
				what, (long long)st.st_size);
			return -1;
		}
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if ((uint64_t)st.st_size != cfg->size) {
		log_err("%s already has size %lld, not the %llu bytes asked for; refusing to resize memory others may use (omit -l to use its size)",
			what, (long long)st.st_size,
			(unsigned long long)cfg->size);
		return -1;
	}
	*size = cfg->size;
	return 0;
}

static int shm_posix(const struct config *cfg, struct shm *shm)
{
	const char *name = cfg->shm_name;
	char what[300];
	int fd;

	snprintf(what, sizeof(what), "POSIX shared memory '%s'", name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		      cfg->shm_mode);
	if (fd >= 0) {
		fchmod(fd, cfg->shm_mode);	/* umask-proof */
		if (set_size(fd, cfg->size, what) < 0) {
			close(fd);
			shm_unlink(name);
			return -1;
		}
		shm->size = cfg->size;
		if (!cfg->keep_shm)
			shm->unlink_name = strdup(name);
		snprintf(shm->desc, sizeof(shm->desc),
			 "POSIX shm '%s' (created)", name);
	} else if (errno == EEXIST) {
		fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
		if (fd < 0) {
			log_err("cannot open %s: %m", what);
			return -1;
		}
		if (check_existing(cfg, fd, what, &shm->size) < 0) {
			close(fd);
			return -1;
		}
		snprintf(shm->desc, sizeof(shm->desc),
			 "POSIX shm '%s' (existing, kept)", name);
	} else {
		log_err("cannot create %s: %m", what);
		return -1;
	}
	shm->fd = fd;
	return 0;
}

static int shm_dir(const struct config *cfg, struct shm *shm)
{
	char *path;
	int fd;

	if (asprintf(&path, "%s/ivshmem.XXXXXX", cfg->shm_name) < 0) {
		log_err("out of memory");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		log_err("cannot create a file in '%s': %m", cfg->shm_name);
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	fchmod(fd, cfg->shm_mode);
	if (set_size(fd, cfg->size, "the memory file") < 0) {
		close(fd);
		return -1;
	}
	shm->fd = fd;
	shm->size = cfg->size;
	snprintf(shm->desc, sizeof(shm->desc), "unlinked file in '%s'",
		 cfg->shm_name);
	return 0;
}

static int shm_file(const struct config *cfg, struct shm *shm)
{
	char what[300];
	int fd;

	snprintf(what, sizeof(what), "'%s'", cfg->shm_name);
	fd = open(cfg->shm_name, O_RDWR | O_CREAT | O_CLOEXEC, cfg->shm_mode);
	if (fd < 0) {
		log_err("cannot open %s: %m", what);
		return -1;
	}
	if (check_existing(cfg, fd, what, &shm->size) < 0) {
		close(fd);
		return -1;
	}
	shm->fd = fd;
	snprintf(shm->desc, sizeof(shm->desc), "file '%s'", cfg->shm_name);
	return 0;
}

static int shm_memfd(const struct config *cfg, struct shm *shm)
{
	char name[32];
	int fd;

	/*
	 * The name tells our clients the vector count, which the protocol
	 * does not (libivshm then skips its wait for more eventfds; QEMU
	 * ignores the name).
	 */
	snprintf(name, sizeof(name), "ivshmem:vectors=%u", cfg->vectors);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		log_err("memfd_create: %m");
		return -1;
	}
	if (set_size(fd, cfg->size, "the memfd") < 0) {
		close(fd);
		return -1;
	}
	/*
	 * No peer may resize the memory under the others: shrinking it would
	 * kill every peer that touches the lost pages (SIGBUS).  Writes stay
	 * allowed, so QEMU and the peers map it as usual.
	 */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		log_err("cannot seal the memfd against resizing: %m");
		close(fd);
		return -1;
	}
	shm->fd = fd;
	shm->size = cfg->size;
	shm->sealed = true;
	snprintf(shm->desc, sizeof(shm->desc), "sealed memfd");
	return 0;
}

int shm_setup(const struct config *cfg, struct shm *shm)
{
	memset(shm, 0, sizeof(*shm));
	shm->fd = -1;
	switch (cfg->shm_kind) {
	case SHM_POSIX:
		return shm_posix(cfg, shm);
	case SHM_DIR:
		return shm_dir(cfg, shm);
	case SHM_FILE:
		return shm_file(cfg, shm);
	case SHM_MEMFD:
		return shm_memfd(cfg, shm);
	}
	return -1;
}

void shm_cleanup(struct shm *shm, bool keep)
{
	if (shm->fd >= 0)
		close(shm->fd);
	shm->fd = -1;
	if (shm->unlink_name && !keep)
		shm_unlink(shm->unlink_name);
	free(shm->unlink_name);
	shm->unlink_name = NULL;
}
