// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: the /dev/ivshmN character device: open/release, ioctls, poll and
 * read of fired vectors.  The ABI is documented in uapi/linux/ivshm.h.
 */
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ivshm.h"

static int ivshm_open(struct inode *inode, struct file *filp)
{
	struct ivshm_device *idev = container_of(inode->i_cdev,
						 struct ivshm_device, cdev);
	struct ivshm_file *f;
	unsigned int i;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->idev = idev;
	mutex_init(&f->read_lock);
	f->bound = kcalloc(idev->nvectors, sizeof(*f->bound), GFP_KERNEL);
	f->seen = kcalloc(idev->nvectors, sizeof(*f->seen), GFP_KERNEL);
	if (!f->bound || !f->seen) {
		ret = -ENOMEM;
		goto err_free;
	}

	/* Every later operation checks liveness again. */
	if (!ivshm_alive(idev)) {
		ret = -ENODEV;
		goto err_free;
	}
	get_device(&idev->dev);
	/* Only interrupts after open are reported to this file. */
	for (i = 0; i < idev->nvectors; i++)
		f->seen[i] = atomic64_read(&idev->vectors[i].count);

	filp->private_data = f;
	/* One address_space per device, so that remove can revoke maps. */
	filp->f_mapping = idev->inode->i_mapping;
	return nonseekable_open(inode, filp);

err_free:
	kfree(f->seen);
	kfree(f->bound);
	kfree(f);
	return ret;
}

static int ivshm_release(struct inode *inode, struct file *filp)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;

	ivshm_file_unbind_all(f);
	kfree(f->seen);
	kfree(f->bound);
	kfree(f);
	put_device(&idev->dev);
	return 0;
}

/*
 * The smallest argsz each call accepts: the end of the last field of the
 * structure's first version.  Fields added later are optional for callers
 * built against older headers.
 */
#define IVSHM_INFO_MINSZ	offsetofend(struct ivshm_info, abi_version)
#define IVSHM_EVENTFDS_MINSZ	offsetofend(struct ivshm_eventfds, count)
#define IVSHM_DOORBELL_MINSZ	offsetofend(struct ivshm_doorbell, vector)
#define IVSHM_DMABUF_MINSZ	offsetofend(struct ivshm_dmabuf, length)

/*
 * Copy an argsz-led structure in: the caller passes at least @minsz and at
 * most a page; bytes past the ones we know must be zero (E2BIG otherwise),
 * so that a caller built against a newer ABI fails cleanly.  No lock of
 * ours is held here: the copy may fault, even into our own mapping.
 */
static int ivshm_copy_arg(void *karg, size_t ksize, size_t minsz,
			  void __user *uarg, u32 *argsz)
{
	if (get_user(*argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (*argsz < minsz)
		return -EINVAL;
	if (*argsz > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, *argsz);
}

static long ivshm_ioctl_get_info(struct ivshm_device *idev, void __user *uarg)
{
	struct ivshm_info info;
	u32 argsz;
	int ret;

	ret = ivshm_copy_arg(&info, sizeof(info), IVSHM_INFO_MINSZ, uarg,
			     &argsz);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;
	/* Everything reported is fixed at probe; only liveness can change. */
	if (!ivshm_alive(idev))
		return -ENODEV;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	info.size = idev->shm_size;
	info.peer_id = idev->peer_id;
	info.vectors = idev->nvectors;
	info.mode = idev->mode;
	info.irq_mode = idev->irq_mode;
	info.revision = idev->revision;
	info.abi_version = IVSHM_ABI_VERSION;

	if (copy_to_user(uarg, &info, min_t(size_t, argsz, sizeof(info))))
		return -EFAULT;
	return 0;
}

/* Receiving needs read access (as read(2) does); ringing needs write. */
static long ivshm_ioctl_set_eventfds(struct file *filp, void __user *uarg)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;
	struct ivshm_eventfds hdr;
	size_t need;
	s32 *fds;
	u32 argsz;
	int ret;

	if (!(filp->f_mode & FMODE_READ))
		return -EBADF;
	/* Bytes past the header are the fds, not unknown fields. */
	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < IVSHM_EVENTFDS_MINSZ)
		return -EINVAL;
	if (copy_from_user(&hdr, uarg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.flags)
		return -EINVAL;
	if (!ivshm_alive(idev))
		return -ENODEV;
	ret = ivshm_irq_available(idev);
	if (ret)
		return ret;
	if (!hdr.count || hdr.start >= idev->nvectors ||
	    hdr.count > idev->nvectors - hdr.start)
		return -EINVAL;
	need = sizeof(hdr) + (size_t)hdr.count * sizeof(*fds);
	if (argsz < need)
		return -EINVAL;

	fds = memdup_user(uarg + sizeof(hdr), hdr.count * sizeof(*fds));
	if (IS_ERR(fds))
		return PTR_ERR(fds);
	ret = ivshm_set_eventfds(f, hdr.start, hdr.count, fds);
	kfree(fds);
	return ret;
}

static long ivshm_ioctl_ring(struct file *filp, void __user *uarg)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;
	struct ivshm_doorbell db;
	u32 argsz;
	int ret;

	if (!(filp->f_mode & FMODE_WRITE))
		return -EBADF;
	ret = ivshm_copy_arg(&db, sizeof(db), IVSHM_DOORBELL_MINSZ, uarg,
			     &argsz);
	if (ret)
		return ret;
	if (db.flags || db.peer > IVSHM_MAX_PEER ||
	    db.vector > IVSHM_MAX_VECTOR)
		return -EINVAL;
	if (idev->mode != IVSHM_MODE_DOORBELL)
		return ivshm_alive(idev) ? -EOPNOTSUPP : -ENODEV;
	return ivshm_ring_doorbell(idev, db.peer, db.vector);
}

/* Exporters may be written to by importers: read and write access. */
static long ivshm_ioctl_export_dmabuf(struct file *filp, void __user *uarg)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;
	struct ivshm_dmabuf arg;
	u32 argsz;
	int ret;

	if ((filp->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		return -EBADF;
	ret = ivshm_copy_arg(&arg, sizeof(arg), IVSHM_DMABUF_MINSZ, uarg,
			     &argsz);
	if (ret)
		return ret;
	if (arg.flags & ~IVSHM_DMABUF_CLOEXEC)
		return -EINVAL;
	if (!arg.length || !PAGE_ALIGNED(arg.offset) ||
	    !PAGE_ALIGNED(arg.length) || arg.offset >= idev->shm_size ||
	    arg.length > idev->shm_size - arg.offset)
		return -EINVAL;
	return ivshm_dmabuf_export(idev, arg.offset >> PAGE_SHIFT,
				   arg.length >> PAGE_SHIFT,
				   arg.flags & IVSHM_DMABUF_CLOEXEC);
}

/*
 * Each call copies in, then checks liveness and acts inside a short
 * section that touches no user memory, then copies out (see ivshm.h).
 */
static long ivshm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct ivshm_file *f = filp->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case IVSHM_GET_INFO:
		return ivshm_ioctl_get_info(f->idev, uarg);
	case IVSHM_SET_EVENTFDS:
		return ivshm_ioctl_set_eventfds(filp, uarg);
	case IVSHM_RING:
		return ivshm_ioctl_ring(filp, uarg);
	case IVSHM_EXPORT_DMABUF:
		return ivshm_ioctl_export_dmabuf(filp, uarg);
	default:
		return -ENOTTY;
	}
}

static bool ivshm_file_pending(struct ivshm_file *f)
{
	struct ivshm_device *idev = f->idev;
	unsigned int i;

	for (i = 0; i < idev->nvectors; i++)
		if (atomic64_read(&idev->vectors[i].count) !=
		    READ_ONCE(f->seen[i]))
			return true;
	return false;
}

/*
 * A device that cannot deliver interrupts (plain, or MSI-X unavailable)
 * polls as 0 while it lives, so that an event loop can watch it for
 * removal without spinning.
 */
static __poll_t ivshm_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;

	poll_wait(filp, &idev->wait, wait);
	if (!ivshm_alive(idev))
		return EPOLLHUP | EPOLLERR;
	if (!ivshm_irq_available(idev) && ivshm_file_pending(f))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

/*
 * Fill @ev with up to @max records of vectors that fired since the last
 * read; @now gets the counts to commit once the records reached the user.
 */
static size_t ivshm_collect_events(struct ivshm_file *f,
				   struct ivshm_event *ev, u64 *now,
				   size_t max)
{
	struct ivshm_device *idev = f->idev;
	unsigned int i;
	size_t n = 0;

	for (i = 0; i < idev->nvectors && n < max; i++) {
		u64 c = atomic64_read(&idev->vectors[i].count);

		if (c == f->seen[i])
			continue;
		ev[n].vector = i;
		ev[n].reserved = 0;
		ev[n].count = c - f->seen[i];
		now[n] = c;
		n++;
	}
	return n;
}

/*
 * Take the file's read lock with events pending: sleep for events without
 * it, so that an O_NONBLOCK reader never waits behind a blocked one (it
 * only tries the lock).  Returns the number of records collected.
 */
static ssize_t ivshm_read_lock_events(struct file *filp,
				      struct ivshm_event *ev, u64 *now,
				      size_t max)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;
	bool nonblock = filp->f_flags & O_NONBLOCK;
	size_t n;
	int ret;

	for (;;) {
		if (!ivshm_alive(idev))
			return -ENODEV;
		if (nonblock) {
			if (!mutex_trylock(&f->read_lock))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&f->read_lock)) {
			return -ERESTARTSYS;
		}
		n = ivshm_collect_events(f, ev, now, max);
		if (n)
			return n;
		mutex_unlock(&f->read_lock);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(idev->wait,
					       ivshm_file_pending(f) ||
					       !ivshm_alive(idev));
		if (ret)
			return ret;
	}
}

static ssize_t ivshm_read(struct file *filp, char __user *buf, size_t count,
			  loff_t *ppos)
{
	struct ivshm_file *f = filp->private_data;
	struct ivshm_device *idev = f->idev;
	struct ivshm_event *ev;
	size_t max, i;
	ssize_t ret, n;
	u64 *now;

	if (!ivshm_alive(idev))
		return -ENODEV;
	ret = ivshm_irq_available(idev);
	if (ret)
		return ret;
	if (count < sizeof(*ev))
		return -EINVAL;

	max = min_t(size_t, count / sizeof(*ev), idev->nvectors);
	ev = kcalloc(max, sizeof(*ev), GFP_KERNEL);
	now = kcalloc(max, sizeof(*now), GFP_KERNEL);
	if (!ev || !now) {
		ret = -ENOMEM;
		goto out_free;
	}

	n = ivshm_read_lock_events(filp, ev, now, max);
	if (n < 0) {
		ret = n;
		goto out_free;
	}
	/* Commit only what reached the user: a failed copy loses nothing. */
	if (copy_to_user(buf, ev, n * sizeof(*ev))) {
		ret = -EFAULT;
	} else {
		for (i = 0; i < n; i++)
			WRITE_ONCE(f->seen[ev[i].vector], now[i]);
		ret = n * sizeof(*ev);
	}
	mutex_unlock(&f->read_lock);
out_free:
	kfree(now);
	kfree(ev);
	return ret;
}

const struct file_operations ivshm_fops = {
	.owner = THIS_MODULE,
	.open = ivshm_open,
	.release = ivshm_release,
	.read = ivshm_read,
	.poll = ivshm_poll,
	.unlocked_ioctl = ivshm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = ivshm_mmap,
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	.get_unmapped_area = ivshm_get_unmapped_area,
#endif
	.llseek = noop_llseek,
};
