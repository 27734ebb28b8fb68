/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What EAL memory costs one process: the time of rte_eal_init and
 * rte_eal_cleanup, the IOVA footprint of the memory in use, and optionally
 * the time to grow the heap at run time.
 *
 * Usage: eal-init-cost EAL-ARGS [-- --grow-mib N [--step-mib S]]
 *   --grow-mib N   after init, rte_malloc N MiB in S MiB steps (default 2),
 *                  then rte_free all of it (runtime growth and shrink); each
 *                  piece is S MiB less 4 KiB, room for the malloc element
 *                  header, so that a step needs S MiB of new pages, not more
 *
 * Prints one JSON line starting with {"tool": "eal-init-cost", ...}:
 *   init_s, cleanup_s       wall time of rte_eal_init, rte_eal_cleanup
 *   iova_mode               rte_eal_iova_mode(): "pa", "va", "dc" or "mode<N>"
 *   iova                    footprint of the memsegs in use after init:
 *                           {segs, bytes, lo, hi, span, bits}; hi is the end
 *                           (exclusive), bits = address bits needed for hi - 1
 *   grow                    with --grow-mib: {pieces, bytes, alloc_s,
 *                           free_s, alloc_step_s, free_step_s, iova}
 *                           where bytes is the sum of the pieces, *_step_s
 *                           the median time of one rte_malloc / rte_free
 *                           (steady against a few disturbed steps) and
 *                           iova the footprint at the peak
 * Before each phase after init it writes the phase's name to fd -1 (EBADF,
 * no effect) so that an strace of the run splits into phases: "grow",
 * "free", "cleanup" (bench/vfio-bench.py counts VFIO ioctls per phase).
 * Built against one DPDK build tree (static), one binary per tree.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "now.h"

struct footprint {
	unsigned int segs;
	uint64_t bytes;
	uint64_t lo;
	uint64_t hi;
	unsigned int bad; /* memsegs without an IOVA (RTE_BAD_IOVA) */
};

static int
add_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	void *arg)
{
	struct footprint *fp = arg;

	if (msl->external)
		return 0;
	if (ms->iova == RTE_BAD_IOVA) {
		fp->bad++;
		return 0;
	}
	if (fp->segs == 0 || ms->iova < fp->lo)
		fp->lo = ms->iova;
	if (fp->segs == 0 || ms->iova + ms->len > fp->hi)
		fp->hi = ms->iova + ms->len;
	fp->segs++;
	fp->bytes += ms->len;
	return 0;
}

/* The result line, printed at exit. */
static FILE *result;

/* Phase marker for strace: write(-1, "NAME") fails with EBADF. */
static void
mark_phase(const char *name)
{
	ssize_t ret = write(-1, name, strlen(name));

	(void)ret;
}

/* One JSON object, no trailing newline. */
static void
print_footprint(void)
{
	struct footprint fp = { 0 };
	unsigned int bits = 0;

	rte_memseg_walk(add_seg, &fp);
	if (fp.hi > 1)
		bits = 64 - __builtin_clzll(fp.hi - 1);
	fprintf(result, "{\"segs\": %u, \"bad\": %u, \"bytes\": %" PRIu64
		", \"lo\": %" PRIu64 ", \"hi\": %" PRIu64
		", \"span\": %" PRIu64 ", \"bits\": %u}",
		fp.segs, fp.bad, fp.bytes, fp.lo, fp.hi, fp.hi - fp.lo, bits);
}

static const char *
iova_mode_name(void)
{
	static char name[16];
	int mode = rte_eal_iova_mode();

	switch (mode) {
	case RTE_IOVA_DC:
		return "dc";
	case RTE_IOVA_PA:
		return "pa";
	case RTE_IOVA_VA:
		return "va";
	}
	snprintf(name, sizeof(name), "mode%d", mode);
	return name;
}

static int
parse_mib(const char *arg, const char *opt, size_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > (1UL << 30)) {
		fprintf(stderr, "eal-init-cost: %s '%s' is not a positive number "
			"of MiB; pass e.g. %s 1024\n", opt, arg, opt);
		return -1;
	}
	*out = v << 20;
	return 0;
}

static int
parse_app_args(int argc, char **argv, size_t *grow, size_t *step)
{
	static const struct option opts[] = {
		{ "grow-mib", required_argument, NULL, 'g' },
		{ "step-mib", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0; /* full getopt reset after the EAL parsed its own */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (parse_mib(optarg, "--grow-mib", grow) < 0)
				return -1;
			break;
		case 's':
			if (parse_mib(optarg, "--step-mib", step) < 0)
				return -1;
			break;
		default:
			fprintf(stderr, "usage: eal-init-cost EAL-ARGS "
				"[-- --grow-mib N [--step-mib S]]\n");
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "eal-init-cost: unexpected argument '%s'; "
			"application options are --grow-mib and --step-mib\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n-1] (reorders v). */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Room left in each growth step for the malloc element header. */
#define PIECE_SLACK 4096

/* Allocate grow bytes in step-sized pieces, report, free them all. */
static int
grow_heap(size_t grow, size_t step)
{
	size_t n = grow / step, piece = step - PIECE_SLACK, i;
	double t0, t1, t2, *dt;
	void **ptrs;

	ptrs = calloc(n, sizeof(*ptrs));
	dt = calloc(n, sizeof(*dt));
	if (ptrs == NULL || dt == NULL) {
		fprintf(stderr, "eal-init-cost: out of memory\n");
		free(ptrs);
		free(dt);
		return -1;
	}
	mark_phase("grow");
	t0 = now();
	t1 = t0;
	for (i = 0; i < n; i++) {
		ptrs[i] = rte_malloc(NULL, piece, 0);
		if (ptrs[i] == NULL)
			break;
		t2 = now();
		dt[i] = t2 - t1;
		t1 = t2;
	}
	t1 = now();
	if (i < n) {
		fprintf(stderr, "eal-init-cost: rte_malloc of piece %zu of %zu "
			"(%zu MiB each) failed: %s; reserve more hugepages\n",
			i + 1, n, step >> 20, rte_strerror(rte_errno));
		while (i > 0)
			rte_free(ptrs[--i]);
		free(ptrs);
		free(dt);
		return -1;
	}
	fprintf(result, ", \"grow\": {\"pieces\": %zu, \"bytes\": %zu, "
		"\"alloc_s\": %.6f, \"alloc_step_s\": %.9f, \"iova\": ",
		n, n * piece, t1 - t0, median(dt, n));
	print_footprint();
	mark_phase("free");
	t0 = now();
	t1 = t0;
	for (i = 0; i < n; i++) {
		rte_free(ptrs[i]);
		t2 = now();
		dt[i] = t2 - t1;
		t1 = t2;
	}
	fprintf(result, ", \"free_s\": %.6f, \"free_step_s\": %.9f}",
		t1 - t0, median(dt, n));
	free(ptrs);
	free(dt);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t grow = 0, step = 2 << 20, len;
	double t0, t1, t2;
	int ret, rc = 0;
	char *text;

	t0 = now();
	ret = rte_eal_init(argc, argv);
	t1 = now();
	if (ret < 0) {
		fprintf(stderr, "eal-init-cost: rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	if (parse_app_args(argc - ret, argv + ret, &grow, &step) < 0) {
		rte_eal_cleanup();
		return 2;
	}

	/*
	 * The EAL logs to stdout too: the result is put together in memory
	 * and printed at the end as one line.
	 */
	result = open_memstream(&text, &len);
	if (result == NULL) {
		fprintf(stderr, "eal-init-cost: out of memory\n");
		rte_eal_cleanup();
		return 1;
	}
	fprintf(result, "{\"tool\": \"eal-init-cost\", \"init_s\": %.6f, "
		"\"iova_mode\": \"%s\", \"iova\": ", t1 - t0, iova_mode_name());
	print_footprint();
	if (grow != 0 && grow_heap(grow, step) < 0)
		rc = 1;

	mark_phase("cleanup");
	t1 = now();
	if (rte_eal_cleanup() < 0)
		rc = 1;
	t2 = now();
	fprintf(result, ", \"cleanup_s\": %.6f}\n", t2 - t1);
	if (fclose(result) != 0) {
		fprintf(stderr, "eal-init-cost: out of memory\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return rc;
}
