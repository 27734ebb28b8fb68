/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dropuid: set resource limits, drop to a user and group, then exec a
 * command. The guest's busybox has no setpriv/su that can do this, and
 * RLIMIT_MEMLOCK must be set while still privileged (an unprivileged
 * process cannot raise its hard limit).
 *
 * Usage: dropuid [-u UID] [-g GID] [-l MEMLOCK] [-n NOFILE] -- CMD [ARG]...
 *   MEMLOCK and NOFILE are numbers of bytes / files, or "unlimited".
 *   Without -u/-g the ids are kept; supplementary groups are always
 *   reduced to GID.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: dropuid [-u UID] [-g GID] [-l MEMLOCK] "
		"[-n NOFILE] -- CMD [ARG]...\n");
	exit(2);
}

static unsigned long long number(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	if (strcmp(s, "unlimited") == 0)
		return RLIM_INFINITY;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0') {
		fprintf(stderr, "dropuid: %s \"%s\" is not a number; "
			"give a number or \"unlimited\"\n", what, s);
		exit(2);
	}
	return v;
}

static void set_limit(int resource, const char *name, rlim_t value)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };

	if (setrlimit(resource, &rl) != 0) {
		fprintf(stderr, "dropuid: setrlimit %s %llu: %s\n", name,
			(unsigned long long)value, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long long uid = -1, gid = -1;
	int opt;

	while ((opt = getopt(argc, argv, "u:g:l:n:")) != -1) {
		switch (opt) {
		case 'u':
			uid = number(optarg, "uid");
			break;
		case 'g':
			gid = number(optarg, "gid");
			break;
		case 'l':
			set_limit(RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK",
				  number(optarg, "memlock"));
			break;
		case 'n':
			set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE",
				  number(optarg, "nofile"));
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (gid >= 0) {
		gid_t g = gid;

		if (setgroups(1, &g) != 0 || setresgid(g, g, g) != 0) {
			perror("dropuid: setgroups/setresgid");
			return 1;
		}
	}
	if (uid >= 0 && setresuid(uid, uid, uid) != 0) {
		perror("dropuid: setresuid");
		return 1;
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "dropuid: exec %s: %s\n", argv[optind],
		strerror(errno));
	return 127;
}
