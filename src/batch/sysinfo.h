/*
 * sysinfo.h - how much machine this process may use.
 *
 * On a laptop that is the online cores and the free memory. On a cluster it
 * is less: Slurm pins a job to a CPU set (sched_getaffinity), Kubernetes and
 * systemd cap CPU time and memory through cgroups (cpu.max, memory.max).
 * Sizing the pool from the whole node's cores there would oversubscribe the
 * job's share and run every encode slower.
 *
 * Thread-safety: no state; reads /proc-like files on each call.
 */
#ifndef RX_SYSINFO_H
#define RX_SYSINFO_H

#include <stdint.h>

/* Cores this process may run on: affinity mask, capped by a cgroup CPU
 * quota (rounded up). At least 1. */
int rx_sys_cores(void);

/* Bytes of memory this process can still use: available memory, capped by
 * the cgroup's memory.max minus its current use. -1 when unknown. */
int64_t rx_sys_memory(void);

#endif
