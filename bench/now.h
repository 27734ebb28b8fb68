/* SPDX-License-Identifier: BSD-3-Clause */
/* The one clock both benchmark probes time with. */
#ifndef BENCH_NOW_H
#define BENCH_NOW_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
