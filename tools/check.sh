#!/bin/bash
# Run the stages of `make check` in order, each one a runner that closes
# with `N passed, N failed[, N skipped]`, and print the sum as the last line.
# A stage that fails still lets the next ones run (their results are
# independent), but the whole check fails.
#
# Usage: tools/check.sh STAGE_COMMAND...   (each argument is one command)
set -eu
. "$(dirname "$0")/lib.sh"

# count WORD LINE: N of "N WORD" in a runner's closing line, 0 if absent.
count() {
	echo "$2" | sed -nE "s/.*(^|[^0-9])([0-9]+) $1.*/\2/p" | grep . || echo 0
}

mkdir -p "$OUT/results"
total_pass=0
total_fail=0
total_skip=0
status=0
summary=
i=0
for stage in "$@"; do
	i=$((i + 1))
	log=$OUT/results/stage-$i.log
	note "stage $i: $stage"
	rc=0
	t0=$(date +%s)
	bash -c "$stage" 2>&1 | tee "$log" || rc=$?
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1) || true
	summary="$summary$(printf '%5ss  %-44s %s' "$(($(date +%s) - t0))" \
		"${line:-no result line (exit $rc)}" "${stage:0:110}")
"
	if [ -z "$line" ]; then
		echo "FAIL: stage '$stage' printed no result line (exit $rc)"
		total_fail=$((total_fail + 1))
		status=1
		continue
	fi
	p=$(count passed "$line")
	f=$(count failed "$line")
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + $(count skipped "$line")))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL: stage '$stage' exited $rc"
		total_fail=$((total_fail + 1))
	fi
	[ "$rc" = 0 ] && [ "$f" = 0 ] || status=1
done
echo
note "stages (seconds, closing line, command):"
printf '%s' "$summary"
echo
if [ "$total_skip" != 0 ]; then
	echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "check: $total_pass passed, $total_fail failed"
fi
exit $status
