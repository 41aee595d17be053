/*
 * sysinfo.c - cores and memory this process may use (see sysinfo.h).
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch/sysinfo.h"

/* The first line of a small file, or -1. */
static int read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    int ok;

    if (!f)
        return -1;
    ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* cgroup v2 "cpu.max" is "QUOTA PERIOD" or "max PERIOD"; v1 splits them. */
static int cgroup_cpu_limit(void)
{
    char buf[128];
    long long quota, period;

    if (read_line("/sys/fs/cgroup/cpu.max", buf, sizeof(buf)) == 0) {
        if (sscanf(buf, "%lld %lld", &quota, &period) == 2 && quota > 0 && period > 0)
            return (int)((quota + period - 1) / period);
        return 0;
    }
    if (read_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", buf, sizeof(buf)) == 0 &&
        sscanf(buf, "%lld", &quota) == 1 && quota > 0 &&
        read_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us", buf, sizeof(buf)) == 0 &&
        sscanf(buf, "%lld", &period) == 1 && period > 0)
        return (int)((quota + period - 1) / period);
    return 0;
}

int rx_sys_cores(void)
{
    cpu_set_t set;
    long n = 0;
    int limit;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    limit = cgroup_cpu_limit();
    if (limit > 0 && limit < n)
        n = limit;
    return (int)n;
}

int64_t rx_sys_memory(void)
{
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t avail = pages > 0 && page > 0 ? (int64_t)pages * page : -1;
    char buf[128];
    long long max, cur;

    /* Page cache counts as used in _SC_AVPHYS_PAGES but is reclaimable:
     * prefer the kernel's own estimate. */
    {
        FILE *f = fopen("/proc/meminfo", "re");
        if (f) {
            char line[256];
            long long kb;
            while (fgets(line, sizeof(line), f))
                if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) {
                    avail = (int64_t)kb * 1024;
                    break;
                }
            fclose(f);
        }
    }
    if (read_line("/sys/fs/cgroup/memory.max", buf, sizeof(buf)) == 0 &&
        sscanf(buf, "%lld", &max) == 1 &&
        read_line("/sys/fs/cgroup/memory.current", buf, sizeof(buf)) == 0 &&
        sscanf(buf, "%lld", &cur) == 1 && max > cur) {
        if (avail < 0 || max - cur < avail)
            avail = max - cur;
    }
    return avail;
}
