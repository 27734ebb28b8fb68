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
 * With THREADS > 1 the mapping is made without MAP_POPULATE and THREADS
 * threads fault equal slices of it with madvise(MADV_POPULATE_WRITE): the
 * floor that an EAL faulting its startup pages in parallel can aim at.
 *
 * Usage: fault-floor SIZE_MIB [THREADS]
 * Prints one JSON line:
 *   {"tool": "fault-floor", "size_mib": N, "threads": T,
 *    "map_s": S, "unmap_s": S}
 * map_s: memfd_create + ftruncate + mmap + faulting (fault and zero);
 * unmap_s: munmap + close (pages back to the pool).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "now.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define PAGE_SZ (2UL << 20)
#define MAX_THREADS 64

struct slice {
	pthread_t tid;
	char *va;
	size_t len;
	int err;
};

static int
fail(const char *what, size_t size, int err)
{
	fprintf(stderr, "fault-floor: %s of %zu MiB of 2 MiB hugepages failed: "
		"%s; reserve enough pages (/proc/sys/vm/nr_hugepages) and retry\n",
		what, size >> 20, strerror(err));
	return 1;
}

static unsigned long
parse(const char *arg, unsigned long max, const char *what)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "fault-floor: '%s' is not a valid %s; "
			"usage: fault-floor SIZE_MIB [THREADS]\n", arg, what);
		exit(2);
	}
	return v;
}

static void *
populate(void *arg)
{
	struct slice *s = arg;

	if (madvise(s->va, s->len, MADV_POPULATE_WRITE) < 0)
		s->err = errno;
	return NULL;
}

/* Fault [va, va + size) on n threads, in n slices of whole pages. */
static int
populate_threads(char *va, size_t size, unsigned int n)
{
	struct slice s[MAX_THREADS];
	size_t pages = size / PAGE_SZ, off = 0;
	unsigned int i;
	int err = 0;

	for (i = 0; i < n; i++) {
		s[i].va = va + off;
		s[i].len = (pages / n + (i < pages % n)) * PAGE_SZ;
		s[i].err = 0;
		off += s[i].len;
		if (pthread_create(&s[i].tid, NULL, populate, &s[i]) != 0) {
			/* fault the rest here */
			s[i].len = size - (off - s[i].len);
			populate(&s[i]);
			err = s[i].err;
			break;
		}
	}
	while (i-- > 0) {
		pthread_join(s[i].tid, NULL);
		if (s[i].err != 0)
			err = s[i].err;
	}
	return err;
}

int
main(int argc, char **argv)
{
	unsigned int threads = 1;
	double t0, t1, t2;
	unsigned long mib;
	size_t size;
	void *va;
	int fd, err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SIZE_MIB [THREADS]\n", argv[0]);
		return 2;
	}
	mib = parse(argv[1], 1UL << 30, "size in MiB");
	if (mib % 2 != 0) {
		fprintf(stderr, "fault-floor: size %lu MiB is not a whole number "
			"of 2 MiB pages; pass an even number\n", mib);
		return 2;
	}
	if (argc == 3)
		threads = parse(argv[2], MAX_THREADS, "number of threads");
	size = mib << 20;

	t0 = now();
	fd = memfd_create("fault-floor",
		MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
	if (fd < 0)
		return fail("memfd_create(MFD_HUGETLB)", size, errno);
	if (ftruncate(fd, size) < 0)
		return fail("ftruncate", size, errno);
	va = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | (threads == 1 ? MAP_POPULATE : 0), fd, 0);
	if (va == MAP_FAILED)
		return fail("mmap", size, errno);
	if (threads > 1) {
		err = populate_threads(va, size, threads);
		if (err != 0)
			return fail("madvise(MADV_POPULATE_WRITE)", size, err);
	}
	t1 = now();
	if (munmap(va, size) < 0)
		return fail("munmap", size, errno);
	close(fd);
	t2 = now();

	printf("{\"tool\": \"fault-floor\", \"size_mib\": %lu, \"threads\": %u, "
		"\"map_s\": %.6f, \"unmap_s\": %.6f}\n",
		mib, threads, t1 - t0, t2 - t1);
	return 0;
}
