/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The floor for EAL memory init: the kernel's cost of creating, faulting and
 * zeroing SIZE MiB of 2 MiB hugepages, without any DPDK code.
 *
 * memfd_create(MFD_HUGETLB | MFD_HUGE_2MB), ftruncate, then one
 * mmap(MAP_SHARED | MAP_POPULATE) of the whole size. That is what EAL
 * dynamic memory in --in-memory mode does per page, done once for all pages.
 * A shared hugetlb mapping reserves its pages at mmap time, so a short pool
 * fails the mmap (ENOMEM) instead of faulting later.
 *
 * Usage: fault-floor SIZE_MIB
 * Prints one JSON line:
 *   {"tool": "fault-floor", "size_mib": N, "map_s": T, "unmap_s": T}
 * map_s: memfd_create + ftruncate + mmap with MAP_POPULATE (fault and zero);
 * unmap_s: munmap + close (pages back to the pool).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "now.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif

static int
fail(const char *what, size_t size)
{
	fprintf(stderr, "fault-floor: %s of %zu MiB of 2 MiB hugepages failed: "
		"%s; reserve enough pages (/proc/sys/vm/nr_hugepages) and retry\n",
		what, size >> 20, strerror(errno));
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned long mib;
	double t0, t1, t2;
	size_t size;
	char *end;
	void *va;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SIZE_MIB (a multiple of 2)\n", argv[0]);
		return 2;
	}
	errno = 0;
	mib = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || mib == 0 || mib % 2 != 0 ||
			mib > (1UL << 30)) {
		fprintf(stderr, "fault-floor: size '%s' is not a positive even "
			"number of MiB; pass e.g. 64\n", argv[1]);
		return 2;
	}
	size = mib << 20;

	t0 = now();
	fd = memfd_create("fault-floor", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
	if (fd < 0)
		return fail("memfd_create(MFD_HUGETLB)", size);
	if (ftruncate(fd, size) < 0)
		return fail("ftruncate", size);
	va = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_POPULATE, fd, 0);
	if (va == MAP_FAILED)
		return fail("mmap(MAP_POPULATE)", size);
	t1 = now();
	if (munmap(va, size) < 0)
		return fail("munmap", size);
	close(fd);
	t2 = now();

	printf("{\"tool\": \"fault-floor\", \"size_mib\": %lu, "
		"\"map_s\": %.6f, \"unmap_s\": %.6f}\n", mib, t1 - t0, t2 - t1);
	return 0;
}
