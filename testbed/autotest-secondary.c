/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autotest-secondary: run one dpdk-test autotest (DPDK_TEST=name) in a
 * process that can be the secondary of any primary, such as testpmd.
 * dpdk-test itself cannot: it registers a "dummy" tailq that a secondary
 * finds only in a dpdk-test primary, so its EAL init fails.
 *
 * Built by make-initramfs.py from this file and the autotest sources of
 * the tree (app/test/test.h is used as is); prints dpdk-test's closing
 * lines: "Test OK", "Test Skipped" or "Test Failed".
 *
 * Usage: DPDK_TEST=NAME autotest-secondary EAL-ARGS...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_eal.h>

#include "test.h"

static struct test_commands_list commands =
	TAILQ_HEAD_INITIALIZER(commands);

void
add_test_command(struct test_command *t)
{
	TAILQ_INSERT_TAIL(&commands, t, next);
}

int
main(int argc, char **argv)
{
	const char *name = getenv("DPDK_TEST");
	struct test_command *t;
	int ret;

	if (name == NULL) {
		fprintf(stderr, "set DPDK_TEST to the autotest to run\n");
		return 2;
	}
	TAILQ_FOREACH(t, &commands, next)
		if (strcmp(t->command, name) == 0)
			break;
	if (t == NULL) {
		fprintf(stderr, "autotest %s is not built in\n", name);
		return 2;
	}
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "Cannot init EAL\n");
		return 1;
	}
	ret = t->callback();
	printf("Test %s\n", ret == TEST_SUCCESS ? "OK" :
		ret == TEST_SKIPPED ? "Skipped" : "Failed");
	rte_eal_cleanup();
	return ret == TEST_SUCCESS ? 0 : 1;
}
