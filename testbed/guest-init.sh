#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the test bed's guest: mount, then run /cases.sh (written by
# testbed/run-scenarios.py, appended to the initramfs per boot) with the
# helpers below, then power off. Output goes to the serial console as
# "@@TB ..." marker lines that the runner parses; everything else on the
# console is context.

/bin/busybox --install -s /bin
# /usr/bin: python3 and the tree's user tools, when the tree has them
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/hugepages /tmp /var/run /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /var/run
exec > /dev/console 2>&1

tb_fail_setup() {
	echo "@@TB SETUP-FAIL $*"
}

# tb_modules IOMMU: load the drivers; virtio-iommu first, so the devices
# it translates wait for it (and type1 then has no interrupt remapping).
tb_modules() {
	unsafe=
	if [ "$1" = virtio-iommu ]; then
		modprobe virtio_iommu || tb_fail_setup "modprobe virtio_iommu"
		unsafe=allow_unsafe_interrupts=1
	fi
	modprobe vfio_iommu_type1 $unsafe || tb_fail_setup "modprobe vfio_iommu_type1"
	modprobe vfio-pci || tb_fail_setup "modprobe vfio-pci"
	modprobe uio_pci_generic || tb_fail_setup "modprobe uio_pci_generic"
	TB_DMA_DEFAULT=$(cat $TB_DMA_PARAM)
	echo "@@TB KERNEL $(uname -r)"
	for d in /sys/bus/pci/devices/*; do
		g=$(readlink "$d/iommu_group")
		echo "@@TB PCI ${d##*/} $(cat "$d/vendor"):$(cat "$d/device")" \
			"group=${g##*/} type=$(cat "$d/iommu_group/type" 2>/dev/null)"
	done
}

# The maps a VFIO type1 container takes (read when a container is opened).
TB_DMA_PARAM=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit

# tb_dma_limit COUNT: set it for the case (0: back to the default).
tb_dma_limit() {
	if [ "$1" = 0 ]; then
		echo "$TB_DMA_DEFAULT" > $TB_DMA_PARAM
	else
		echo "$1" > $TB_DMA_PARAM || tb_fail_setup "dma_entry_limit $1"
	fi
}

# tb_secondary: run $TB_SECONDARY (with $TB_SECONDARY_ENV) as the case's
# user beside the primary, to its end; its output joins the primary's.
tb_secondary() {
	echo "@@TB SECONDARY"
	# shellcheck disable=SC2086
	env HOME=/tmp $TB_SECONDARY_ENV dropuid -u "$TB_UID" -g "$TB_UID" \
		-l "$TB_MEMLOCK" -- $TB_SECONDARY < /dev/null
	echo "@@TB SECONDARY-RC $?"
}

# tb_bind BDF DRIVER: bind with driver_override ("none": leave unbound)
# and hand the device node to $TB_UID ("vfio-pci-root": vfio-pci, the
# group's node left to root).
tb_bind() {
	dev=/sys/bus/pci/devices/$1
	[ -d "$dev" ] || { tb_fail_setup "no PCI device $1"; return; }
	want=${2%-root}
	if [ "$2" = none ]; then
		echo > "$dev/driver_override"
	else
		echo "$want" > "$dev/driver_override"
	fi
	[ -e "$dev/driver" ] && echo "$1" > "$dev/driver/unbind"
	[ "$2" = none ] && return
	echo "$1" > /sys/bus/pci/drivers_probe
	drv=$(readlink "$dev/driver")
	[ "${drv##*/}" = "$want" ] || { tb_fail_setup "bind $1 to $want"; return; }
	case $2 in
	vfio-pci*)
		g=$(readlink "$dev/iommu_group")
		node=/dev/vfio/${g##*/}
		[ -e "$node" ] || node=/dev/vfio/noiommu-${g##*/}
		owner=$TB_UID
		[ "$2" = vfio-pci-root ] && owner=0
		chown "$owner:$owner" "$node"
		chmod 0600 "$node"
		;;
	uio_pci_generic)
		for u in "$dev"/uio/uio*; do
			chown "$TB_UID:$TB_UID" "/dev/${u##*/}"
		done
		chown "$TB_UID:$TB_UID" "$dev"/resource* "$dev/config"
		;;
	esac
}

# tb_hugepages COUNT: COUNT free 2 MiB pages on a fresh hugetlbfs for
# $TB_UID. The pool is kept from case to case in a boot and resized only
# when a case asks for another count: giving it back and reserving it again
# after many cases finds the guest's memory too fragmented.
tb_hugepages() {
	umount /dev/hugepages 2>/dev/null
	if [ "$(cat /proc/sys/vm/nr_hugepages)" != "$1" ]; then
		echo 3 > /proc/sys/vm/drop_caches
		echo 1 > /proc/sys/vm/compact_memory 2>/dev/null
		echo "$1" > /proc/sys/vm/nr_hugepages
	fi
	got=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
	[ "$got" = "$1" ] || tb_fail_setup "only $got of $1 hugepages free"
	mount -t hugetlbfs -o "uid=$TB_UID,gid=$TB_UID,mode=0770" nodev \
		/dev/hugepages
}

# tb_wait_forwarding PROG PID: wait (at most TB_WAIT s, and while PID
# lives) until a DPDK worker thread of PROG is running, i.e. forwarding
# started: EAL init, and the commands run before forwarding, take a
# varying time under TCG. (testpmd with no port never starts one: that
# costs TB_WAIT.) "@@TB FORWARDING" says after how long, or that it was
# not seen.
tb_wait_forwarding() {
	tries=$((TB_WAIT * 2))
	while [ $tries -gt 0 ] && kill -0 "$2" 2>/dev/null; do
		for p in $(pidof "$1"); do
			for t in /proc/$p/task/*; do
				read -r comm < "$t/comm" 2>/dev/null
				case $comm in
				*worker*)
					read -r _ _ state _ < "$t/stat"
					if [ "$state" = R ]; then
						echo "@@TB FORWARDING after" \
							"$((TB_WAIT - tries / 2)) s"
						return
					fi
					;;
				esac
			done
		done
		sleep 0.5
		tries=$((tries - 1))
	done
	echo "@@TB FORWARDING not seen in $TB_WAIT s"
}

# tb_run PROGRAM ARGS...: run one case as set up by the TB_* variables:
#   TB_NAME, TB_UID, TB_MEMLOCK (bytes or unlimited), TB_LIMIT (seconds
#   before SIGKILL), TB_STOP (seconds before SIGINT; 0: run to exit),
#   TB_WAIT (seconds forwarding may take to start, see tb_wait_forwarding),
#   TB_STRACE (1: record openat, report pagemap and VFIO group node
#   opens; vfio: count VFIO DMA map/unmap ioctls per phase, phases split
#   by write(-1, "NAME") markers), TB_ENV
#   (VAR=VALUE words), TB_SECONDARY (a program and its arguments run once
#   forwarding started, see tb_secondary), TB_PROG (the DPDK program to
#   wait for and stop when PROGRAM is a shell running it; default:
#   PROGRAM).
tb_run() {
	prog=${TB_PROG:-${1##*/}}
	sprog=${TB_SECONDARY%% *}
	trace=/tmp/$TB_NAME.strace
	flag=/tmp/$TB_NAME.timeout
	set -- dropuid -u "$TB_UID" -g "$TB_UID" -l "$TB_MEMLOCK" -- "$@"
	if [ "$TB_STRACE" = 1 ]; then
		set -- strace -f -qq --seccomp-bpf -e trace=openat -o "$trace" "$@"
	elif [ "$TB_STRACE" = vfio ]; then
		set -- strace -f -qq --seccomp-bpf -e trace=ioctl,write \
			-e signal=none -o "$trace" "$@"
	fi
	echo "@@TB RUN $*"
	dmesg -c > /dev/null
	# shellcheck disable=SC2086
	# The console is a tty: the program's stdio is line buffered, so its
	# lines arrive in order and live (a file would lose them on SIGKILL).
	echo "@@TB OUTPUT"
	env HOME=/tmp $TB_ENV "$@" < /dev/null &
	pid=$!
	(sleep "$TB_LIMIT"; echo > "$flag"; kill -KILL $pid;
		kill -KILL $(pidof "$prog" $sprog) 2>/dev/null) &
	wd=$!
	if [ "$TB_STOP" != 0 ]; then
		tb_wait_forwarding "$prog" $pid
		[ -n "$TB_SECONDARY" ] && kill -0 $pid 2>/dev/null &&
			tb_secondary
		waited=0
		while [ $waited -lt "$TB_STOP" ] && kill -0 $pid 2>/dev/null; do
			sleep 1
			waited=$((waited + 1))
		done
		kill -INT $(pidof "$prog") 2>/dev/null
	fi
	wait $pid
	rc=$?
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
	# The program's last line may lack its newline (dpdk-test on main
	# leaves its "RTE>>" prompt): start the marker on a line of its own.
	printf '\n@@TB RC %s\n' "$rc"
	[ -e "$flag" ] && echo "@@TB TIMEOUT $TB_LIMIT"
	echo "@@TB DMESG"
	dmesg -c
	if [ "$TB_STRACE" = 1 ]; then
		echo "@@TB OPENAT $(wc -l < "$trace")"
		grep pagemap "$trace" | head -5 | sed 's/^/@@TB PAGEMAP /'
		grep -o '"/dev/vfio/[0-9]*"' "$trace" | tr -d '"' | sort -u |
			sed 's/^/@@TB VFIO-OPEN /'
		tb_groups
	elif [ "$TB_STRACE" = vfio ]; then
		# "@@TB VFIO phase maps unmaps failed-maps", phase "init" first
		awk 'BEGIN { p = "init"; n = 1; name[1] = p }
		/write\(-1, "/ { split($0, f, "\""); p = f[2];
			name[++n] = p }
		/VFIO_IOMMU_MAP_DMA/ { map[p]++; if (/= -1/) bad[p]++ }
		/VFIO_IOMMU_UNMAP_DMA/ { unmap[p]++ }
		END { for (i = 1; i <= n; i++)
			print "@@TB VFIO", name[i], map[name[i]] + 0,
				unmap[name[i]] + 0, bad[name[i]] + 0 }' "$trace"
	fi
	rm -f "$trace" "$flag"
	rm -rf /dev/hugepages/* /tmp/dpdk /var/run/dpdk
}

# tb_groups: "@@TB GROUP BDF N" for each NIC the case binds, N its IOMMU
# group (/dev/vfio/N once bound to vfio-pci).
tb_groups() {
	for b in $TB_BIND; do
		g=$(readlink "/sys/bus/pci/devices/${b%%=*}/iommu_group")
		echo "@@TB GROUP ${b%%=*} ${g##*/}"
	done
}

# tb_user_check ARGS...: the series' setup check, as the case's user with
# its memlock limit, before the program; its lines join the case output.
tb_user_check() {
	echo "@@TB USERCHECK"
	env HOME=/tmp dropuid -u "$TB_UID" -g "$TB_UID" -l "$TB_MEMLOCK" -- \
		python3 /usr/bin/dpdk-user-check.py "$@" < /dev/null
	echo "@@TB USERCHECK-RC $?"
}

# tb_login_memlock: RLIMIT_MEMLOCK (bytes) that a login of $TB_UID's user
# would get from /etc/security/limits.d, as pam_limits sets it (this guest
# has no PAM); the kernel's default (8 MiB) without such a line.
tb_login_memlock() {
	user=$(awk -F: -v uid="$TB_UID" '$3 == uid { print $1 }' /etc/passwd)
	cat /etc/security/limits.d/*.conf 2>/dev/null | awk -v u="$user" '
		$1 == u && $3 == "memlock" && $2 != "soft" { v = $4 }
		END { if (v == "") print 8388608
			else if (v == "unlimited" || v == "infinity") print v
			else print v * 1024 }'
}

# tb_guide: the tree's guide procedure instead of the case's own setup:
# /guide-root.sh as root (from an empty hugepage pool, NICs unbound), then
# /guide-user.sh as $TB_UID in a "new login", which is where testpmd runs.
tb_guide() {
	umount /dev/hugepages 2>/dev/null
	echo 0 > /proc/sys/vm/nr_hugepages
	echo 3 > /proc/sys/vm/drop_caches
	echo 1 > /proc/sys/vm/compact_memory 2>/dev/null
	[ -f /guide-root.sh ] || { tb_fail_setup "the tree's guide has no procedure"; return; }
	echo "@@TB GUIDE-ROOT"
	failed=
	while read -r cmd; do
		echo "# $cmd"
		sh -c "$cmd" < /dev/null || { failed=$cmd; break; }
	done < /guide-root.sh
	if [ -n "$failed" ]; then
		tb_fail_setup "guide, as root: $failed"
	else
		TB_MEMLOCK=$(tb_login_memlock)
		TB_PROG=dpdk-testpmd tb_run sh -ex /guide-user.sh
	fi
	for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
		umount "$m"
	done
	rm -rf /etc/security/limits.d/* /mnt/*
	echo 0 > /proc/sys/vm/nr_hugepages
}

# One case: tb_case NAME with the TB_* variables, TB_BIND ("BDF=DRIVER"
# words), TB_HUGEPAGES and TB_USERCHECK (dpdk-user-check.py arguments;
# empty: not run) set, then the program and its arguments.
tb_case() {
	TB_NAME=$1
	shift
	echo "@@TB BEGIN $TB_NAME"
	for b in $TB_BIND; do
		tb_bind "${b%%=*}" "${b#*=}"
	done
	tb_hugepages "$TB_HUGEPAGES"
	tb_dma_limit "$TB_DMA_LIMIT"
	# shellcheck disable=SC2086
	[ -n "$TB_USERCHECK" ] && tb_user_check $TB_USERCHECK
	if [ "$1" = guide ]; then
		tb_guide
	else
		tb_run "$@"
	fi
	tb_dma_limit 0
	echo "@@TB END $TB_NAME"
}

echo "@@TB BOOTED"
if [ -f /cases.sh ]; then
	. /cases.sh
else
	echo "@@TB SETUP-FAIL no /cases.sh in the initramfs"
fi
echo "@@TB DONE"
sync
poweroff -f
