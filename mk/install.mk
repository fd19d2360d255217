# SPDX-License-Identifier: GPL-2.0-only
# Installation: make install / uninstall, modules_install, dkms-install.
#
#   make install   [DESTDIR=] [PREFIX=/usr/local] [LIBDIR=$(PREFIX)/lib] ...
#       library (libivshm.so.1, libivshm.so, libivshm.a, libivshm.pc),
#       public header, tools, man pages, udev rules (+ helper), systemd
#       unit, tmpfiles.d and sysusers.d snippets.  User space only: the
#       package build needs no kernel headers.  Without DESTDIR, also runs
#       ldconfig, systemd-sysusers, systemd-tmpfiles and reloads udev rules.
#   make uninstall     removes exactly what install installed.
#   make modules_install  ivshm.ko for each kernel in KVERS (KDIR=... for
#       one) into $(DESTDIR)/lib/modules/KVER/$(MOD_DIR) (default updates/),
#       unsigned (Debian's headers carry no signing key; MOD_SIGN=1 signs
#       the kernel's way); depmod when DESTDIR is empty.
#   make dkms-install  module source + dkms.conf into
#       $(DESTDIR)$(DKMS_SRCDIR)/ivshm-VERSION; then, as root:
#       dkms install ivshm/VERSION  (builds for every kernel, now and later).
#
# The uapi header (include/uapi/linux/ivshm.h) is not installed into
# $(INCLUDEDIR): the kernel ABI is private to libivshm (the public header
# never includes it; applications use the library), and a
# $(INCLUDEDIR)/linux/ivshm.h would belong to the kernel's own uapi headers
# (linux-libc-dev) if the driver were ever merged.  The module build gets it
# from the DKMS source tree (include/uapi/linux/ivshm.h there).
#
# systemd and udev look in /usr/lib (and /lib) only, whatever PREFIX is, so
# UDEVDIR, SYSTEMDUNITDIR, TMPFILESDIR and SYSUSERSDIR do not follow
# PREFIX; the unit's ExecStart is rewritten to $(BINDIR).

IVSHM_VERSION := $(shell $(TOP)/scripts/version.sh)

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
MANDIR		?= $(PREFIX)/share/man
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions
UDEVDIR		?= /usr/lib/udev
SYSTEMDUNITDIR	?= /usr/lib/systemd/system
TMPFILESDIR	?= /usr/lib/tmpfiles.d
SYSUSERSDIR	?= /usr/lib/sysusers.d
DKMS_SRCDIR	?= /usr/src
MOD_DIR		?= updates
MOD_SIGN	?=
INSTALL		?= install

# The udev helper (if there is one) goes next to udev's own helpers.
UDEV_HELPERS	:= $(filter %/ivshm-udev-name,$(TOOLS))
BIN_TOOLS	:= $(filter-out $(UDEV_HELPERS),$(TOOLS))
MAN_PAGES	:= $(wildcard docs/*.[1-8] docs/man/*.[1-8])
UNITS		:= $(wildcard systemd/*.service systemd/*.socket systemd/*.timer)
UDEV_RULES	:= $(wildcard udev/*.rules)
DKMS_FILES	:= $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild kmod/Makefile \
		   include/uapi/linux/ivshm.h
DKMS_DEST	= $(DESTDIR)$(DKMS_SRCDIR)/ivshm-$(IVSHM_VERSION)

# man section of docs/x.N is N
man_dest = $(DESTDIR)$(MANDIR)/man$(patsubst .%,%,$(suffix $(1)))/$(notdir $(1))

# Every file install creates (uninstall removes these and nothing else).
INSTALLED_FILES = \
	$(DESTDIR)$(LIBDIR)/libivshm.so.1 \
	$(DESTDIR)$(LIBDIR)/libivshm.so \
	$(DESTDIR)$(LIBDIR)/libivshm.a \
	$(DESTDIR)$(PKGCONFIGDIR)/libivshm.pc \
	$(DESTDIR)$(INCLUDEDIR)/ivshm.h \
	$(foreach t,$(BIN_TOOLS),$(DESTDIR)$(BINDIR)/$(notdir $(t))) \
	$(foreach t,$(UDEV_HELPERS),$(DESTDIR)$(UDEVDIR)/$(notdir $(t))) \
	$(foreach m,$(MAN_PAGES),$(call man_dest,$(m))) \
	$(foreach r,$(UDEV_RULES),$(DESTDIR)$(UDEVDIR)/rules.d/$(notdir $(r))) \
	$(foreach u,$(UNITS),$(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u))) \
	$(DESTDIR)$(TMPFILESDIR)/ivshm.conf \
	$(DESTDIR)$(SYSUSERSDIR)/ivshm.conf \
	$(DESTDIR)$(BASHCOMPDIR)/ivshm

install: lib tools
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libivshm.so.1
	ln -sfn libivshm.so.1 $(DESTDIR)$(LIBDIR)/libivshm.so
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libivshm.a
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|^libdir=.*|libdir=$(LIBDIR)|' \
	    -e 's|^includedir=.*|includedir=$(INCLUDEDIR)|' \
	    -e 's|^Version:.*|Version: $(IVSHM_VERSION)|' \
	    lib/libivshm.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libivshm.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libivshm.pc
	$(INSTALL) -m 0644 include/ivshm.h $(DESTDIR)$(INCLUDEDIR)/ivshm.h
	$(if $(BIN_TOOLS),$(INSTALL) -m 0755 $(BIN_TOOLS) $(DESTDIR)$(BINDIR)/)
	$(if $(UDEV_HELPERS),$(INSTALL) -D -m 0755 $(UDEV_HELPERS) -t $(DESTDIR)$(UDEVDIR)/)
	$(foreach m,$(MAN_PAGES),$(INSTALL) -D -m 0644 $(m) $(call man_dest,$(m)) &&) true
	$(if $(UDEV_RULES),$(INSTALL) -D -m 0644 -t $(DESTDIR)$(UDEVDIR)/rules.d $(UDEV_RULES))
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in $(UNITS); do \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done
	$(INSTALL) -D -m 0644 systemd/ivshm.tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/ivshm.conf
	$(INSTALL) -D -m 0644 systemd/ivshm.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/ivshm.conf
	$(INSTALL) -D -m 0644 completion/ivshm.bash $(DESTDIR)$(BASHCOMPDIR)/ivshm
ifeq ($(DESTDIR),)
	-ldconfig
	-systemd-sysusers ivshm.conf
	-systemd-tmpfiles --create ivshm.conf
	-udevadm control --reload
endif

uninstall:
	rm -f $(INSTALLED_FILES)

# Installed kernels only: the debug lane's kernel is the tests' own.
modules_install: modules
	@set -e; for k in $(filter-out $(DEBUG_KVER),$(KVERS)); do \
		echo "  INSTALL ivshm.ko for $$k"; \
		$(MAKE) -s -C $(if $(KDIR),$(KDIR),/usr/src/linux-headers-$$k) \
			M=$(B)/kmod/$$k IVSHM_TOP=$(TOP) \
			INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=$(MOD_DIR) \
			$(if $(MOD_SIGN),,CONFIG_MODULE_SIG_ALL=) modules_install; \
		if [ -z "$(DESTDIR)" ]; then depmod -a $$k; fi; \
	done

modules_uninstall:
	@set -e; for k in $(filter-out $(DEBUG_KVER),$(KVERS)); do \
		rm -f $(DESTDIR)/lib/modules/$$k/$(MOD_DIR)/ivshm.ko*; \
		if [ -z "$(DESTDIR)" ]; then depmod -a $$k; fi; \
	done

# The DKMS source tree: kmod/ builds with kmod/Kbuild's default
# IVSHM_TOP=$(src)/.., which finds include/uapi next to it.
dkms-install:
	$(INSTALL) -d $(DKMS_DEST)/kmod $(DKMS_DEST)/include/uapi/linux
	$(INSTALL) -m 0644 $(filter kmod/%,$(DKMS_FILES)) $(DKMS_DEST)/kmod/
	$(INSTALL) -m 0644 include/uapi/linux/ivshm.h $(DKMS_DEST)/include/uapi/linux/
	sed -e 's|#MODULE_VERSION#|$(IVSHM_VERSION)|' dkms.conf > $(DKMS_DEST)/dkms.conf
	chmod 0644 $(DKMS_DEST)/dkms.conf

dkms-uninstall:
	rm -rf $(DKMS_DEST)

.PHONY: install uninstall modules_install modules_uninstall dkms-install dkms-uninstall
