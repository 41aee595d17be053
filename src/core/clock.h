/*
 * clock.h - seconds on the monotonic clock, for durations, deadlines and
 * redraw intervals (never for what a user reads as a date).
 */
#ifndef RX_CORE_CLOCK_H
#define RX_CORE_CLOCK_H

#include <time.h>

static inline double rx_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
