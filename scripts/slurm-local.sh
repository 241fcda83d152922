#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, for the tests and
# for trying the sbatch scripts of contrib/slurm/ before a real cluster:
# munged, slurmctld and slurmd, all run as root from one private folder
# (config, munge key and socket, state, spool, logs), no systemd needed.
#
#   scripts/slurm-local.sh start    starts it (or finds it running), waits
#                                   until the node is idle, and prints on
#                                   stdout the line to use it:
#                                     export SLURM_CONF=DIR/etc/slurm.conf
#                                   so: eval "$(scripts/slurm-local.sh start)"
#   scripts/slurm-local.sh stop     cancels its jobs, stops the daemons,
#                                   removes the folder
#   scripts/slurm-local.sh status   exit 0 when it is up (prints sinfo)
#   scripts/slurm-local.sh env      prints the export line only
#
# Settings (environment):
#   SLURM_LOCAL_DIR   the private folder (default /tmp/hy-slurm)
#   SLURM_LOCAL_PORT  slurmctld's port; slurmd takes the next one (default
#                     6917, away from a real cluster's 6817/6818)
#   SLURM_LOCAL_CPUS  CPUs the node offers (default: nproc, at least 4;
#                     SlurmdParameters=config_overrides lets the node offer
#                     more than it has, so job arrays and srun -n 4 run at
#                     once on a 2-core machine)
#   SLURM_LOCAL_TIMEOUT seconds to wait for the node to be idle (30)
#
# Requires root and the Debian packages slurm-wlm and munge (scripts/setup.sh
# installs them). Exit status: 0 done, 1 could not (the reason on stderr,
# with the last lines of the daemons' logs).
set -u

D=${SLURM_LOCAL_DIR:-/tmp/hy-slurm}
PORT=${SLURM_LOCAL_PORT:-6917}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-30}
CONF=$D/etc/slurm.conf
NODE=$(hostname -s 2>/dev/null || true)
NODE=${NODE:-$(uname -n)}
NODE=${NODE%%.*}

say() { echo "slurm-local: $*" >&2; }
starting=0
die() {
	say "$*"
	if [ $starting = 1 ]; then
		# A failed start leaves no daemon behind; the logs stay for a look.
		stop_daemons "$D/run/slurmd.pid" slurmd "$D/run/slurmctld.pid" slurmctld \
			"$D/munge/munged.pid" munged
		say "stopped what had started; config and logs left in $D"
	fi
	exit 1
}

# logtail NAME FILE: the last lines of a daemon's log, indented.
logtail() {
	[ -s "$2" ] || return 0
	say "last lines of $1's log ($2):"
	tail -n 15 "$2" | sed 's/^/    /' >&2
}

# alive PIDFILE NAME: the process of PIDFILE runs and is NAME (not a recycled
# pid). Echoes the pid.
alive() {
	local pid comm
	[ -s "$1" ] || return 1
	pid=$(head -n 1 "$1" | tr -dc 0-9)
	[ -n "$pid" ] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	case "$comm" in "$2"*) echo "$pid" ;; *) return 1 ;; esac
}

# stop_daemons PIDFILE NAME...: TERM to all at once (each takes a second or
# two to exit), up to 10 s, then KILL.
stop_daemons() {
	local pids=() pid k=0 left
	while [ $# -ge 2 ]; do
		pid=$(alive "$1" "$2") && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
		shift 2
	done
	while :; do
		left=()
		for pid in "${pids[@]}"; do
			[ -d "/proc/$pid" ] && left+=("$pid")
		done
		[ ${#left[@]} -gt 0 ] || return 0
		[ $k -lt 100 ] || break
		sleep 0.1
		k=$((k + 1))
	done
	say "killing ${left[*]}: still there 10 s after SIGTERM"
	kill -KILL "${left[@]}" 2>/dev/null
	sleep 0.2
}

clients() { SLURM_CONF=$CONF "$@"; }

node_state() { clients sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

is_up() {
	alive "$D/munge/munged.pid" munged >/dev/null &&
		alive "$D/run/slurmctld.pid" slurmctld >/dev/null &&
		alive "$D/run/slurmd.pid" slurmd >/dev/null &&
		[ -f "$CONF" ] && case "$(node_state)" in
		idle* | alloc* | mix* | comp*) true ;;
		*) false ;;
		esac
}

need() {
	[ "$(id -u)" -eq 0 ] || die "needs root (it runs munged, slurmctld and slurmd as root); not starting"
	local c missing=()
	for c in munged slurmctld slurmd sinfo scontrol sbatch srun squeue scancel; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}; install them with:
    apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge
  (scripts/setup.sh does this)"
}

do_stop() {
	local k=0
	if [ -f "$CONF" ] && alive "$D/run/slurmctld.pid" slurmctld >/dev/null; then
		# Our jobs only: the clients talk to this cluster's slurmctld.
		local jobs
		jobs=$(clients squeue -h -o %A 2>/dev/null | tr '\n' ' ')
		if [ -n "${jobs// /}" ]; then
			# shellcheck disable=SC2086 # a list of job ids
			clients scancel $jobs 2>/dev/null
			while [ -n "$(clients squeue -h -o %A 2>/dev/null)" ] && [ $k -lt 50 ]; do
				sleep 0.1
				k=$((k + 1))
			done
		fi
	fi
	stop_daemons "$D/run/slurmd.pid" slurmd "$D/run/slurmctld.pid" slurmctld \
		"$D/munge/munged.pid" munged
	# Remove the folder only when it is ours (or empty).
	if ours; then
		rm -rf "$D"
	elif [ -d "$D" ]; then
		rmdir "$D" 2>/dev/null || say "left $D alone: not made by this script"
	fi
}

# ours: $D holds the config this script writes.
ours() {
	[ -f "$CONF" ] && head -n 1 "$CONF" | grep -q '^# Written by scripts/slurm-local.sh'
}

write_conf() {
	local cpus mem
	cpus=$(nproc 2>/dev/null || echo 1)
	[ "$cpus" -ge 4 ] || cpus=4
	cpus=${SLURM_LOCAL_CPUS:-$cpus}
	# Memory is not a consumable here (CR_Core), but the node must not claim
	# more than it has: total minus 10% and at least 256 MB of margin.
	mem=$(free -m | awk '/^Mem:/ { m = $2 - ($2 / 10 > 256 ? int($2 / 10) : 256); print (m > 100 ? m : 100) }')
	cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a throw-away single-node cluster.
ClusterName=hylocal
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$D/etc/plugstack.conf
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	: >"$D/etc/plugstack.conf"
}

start_munge() {
	local m=$D/munge k=0
	if command -v mungekey >/dev/null 2>&1; then
		mungekey -c -k "$m/munge.key" 2>"$D/log/mungekey.log" ||
			die "mungekey failed: $(cat "$D/log/mungekey.log")"
	else
		dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 2>/dev/null ||
			die "cannot write the munge key $m/munge.key"
	fi
	chmod 0600 "$m/munge.key"
	munged --force --socket="$m/munge.socket" --key-file="$m/munge.key" \
		--log-file="$D/log/munged.log" --pid-file="$m/munged.pid" \
		--seed-file="$m/munged.seed" </dev/null >/dev/null 2>>"$D/log/munged.log" || {
		logtail munged "$D/log/munged.log"
		die "munged did not start"
	}
	while ! alive "$m/munged.pid" munged >/dev/null || [ ! -S "$m/munge.socket" ]; do
		k=$((k + 1))
		if [ $k -gt 50 ]; then
			logtail munged "$D/log/munged.log"
			die "munged did not start"
		fi
		sleep 0.1
	done
}

do_start() {
	need
	if is_up; then
		say "already running ($D)"
		echo "export SLURM_CONF=$CONF"
		return 0
	fi
	# munged's socket path must fit a sockaddr_un (108 bytes).
	[ ${#D} -le 80 ] || die "SLURM_LOCAL_DIR is too long for munged's socket path (${#D} > 80 characters): $D"
	case "$PORT" in '' | *[!0-9]*) die "SLURM_LOCAL_PORT='$PORT' is not a number" ;; esac
	case "${SLURM_LOCAL_CPUS:-1}" in '' | *[!0-9]* | 0) die "SLURM_LOCAL_CPUS='${SLURM_LOCAL_CPUS:-}' is not a CPU count" ;; esac
	if [ -d "$D" ] && ! ours && [ -n "$(ls -A "$D" 2>/dev/null)" ]; then
		die "$D exists and was not made by this script; set SLURM_LOCAL_DIR to a new or empty folder"
	fi
	do_stop # leftovers of an earlier, broken start
	local p
	for p in "$PORT" $((PORT + 1)); do
		if (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			die "port $p is in use (another SLURM? set SLURM_LOCAL_PORT to a free pair)"
		fi
	done
	mkdir -p "$D/etc" "$D/munge" "$D/run" "$D/state" "$D/spool" "$D/log" ||
		die "cannot create $D"
	# munged refuses folders that others may write to; the key is 0600.
	chmod 0755 "$D" "$D/etc" "$D/munge" "$D/run" "$D/log"
	starting=1
	write_conf
	start_munge

	local k=0 st
	# The daemons get no stdout: a caller reading ours, $(...), must not wait
	# for them.
	slurmctld -c -f "$CONF" </dev/null >/dev/null 2>>"$D/log/slurmctld.log" || {
		logtail slurmctld "$D/log/slurmctld.log"
		die "slurmctld did not start"
	}
	until clients scontrol ping 2>/dev/null | grep -q UP; do
		k=$((k + 1))
		if [ $k -gt 20 ] && ! alive "$D/run/slurmctld.pid" slurmctld >/dev/null; then
			logtail slurmctld "$D/log/slurmctld.log"
			die "slurmctld exited"
		fi
		if [ $k -gt $((TIMEOUT * 10)) ]; then
			logtail slurmctld "$D/log/slurmctld.log"
			die "slurmctld does not answer (scontrol ping) after ${TIMEOUT}s"
		fi
		sleep 0.1
	done
	slurmd -f "$CONF" -N "$NODE" </dev/null >/dev/null 2>>"$D/log/slurmd.log" || {
		logtail slurmd "$D/log/slurmd.log"
		die "slurmd did not start"
	}
	k=0
	while :; do
		st=$(node_state)
		case "$st" in
		idle*) break ;;
		down* | drain* | fail*)
			clients scontrol update nodename="$NODE" state=resume 2>/dev/null ;;
		esac
		k=$((k + 1))
		if [ $k -gt $((TIMEOUT * 10)) ]; then
			logtail slurmctld "$D/log/slurmctld.log"
			logtail slurmd "$D/log/slurmd.log"
			clients sinfo -N -l >&2 2>/dev/null
			die "node $NODE is '${st:-unknown}', not idle, after ${TIMEOUT}s"
		fi
		if ! alive "$D/run/slurmd.pid" slurmd >/dev/null && [ $k -gt 20 ]; then
			logtail slurmd "$D/log/slurmd.log"
			die "slurmd died"
		fi
		sleep 0.1
	done
	starting=0
	say "up: node $NODE idle, $(clients sinfo -h -o '%c CPUs, partition %P'), files in $D"
	echo "export SLURM_CONF=$CONF"
}

case "${1:-}" in
start) do_start ;;
stop)
	[ "$(id -u)" -eq 0 ] || die "needs root"
	do_stop
	say "stopped"
	;;
status)
	if is_up; then
		clients sinfo
		echo "export SLURM_CONF=$CONF"
	else
		say "not running ($D)"
		exit 1
	fi
	;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
	echo "usage: $0 start|stop|status|env   (SLURM_LOCAL_DIR, SLURM_LOCAL_PORT, SLURM_LOCAL_CPUS)" >&2
	exit 1
	;;
esac
