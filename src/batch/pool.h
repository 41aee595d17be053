/*
 * pool.h - run tasks on a fixed set of worker threads, at most J at once.
 *
 * The pool starts `workers` pthreads once. A counting semaphore admits tasks:
 * a worker takes a permit before it starts a task and returns it after, so
 * at most `jobs` tasks run at once however many workers wait. Admission is
 * separate from the threads so the cap can change while the batch runs
 * (rx_pool_stop() takes every future permit away; later scheduling may grow
 * or shrink it) without creating or killing threads.
 *
 * Each running task gets a slot number 0..jobs-1, unique among the tasks
 * running at that moment, for per-task display lines.
 *
 * Calling sequence: rx_pool_new() -> rx_pool_run() (blocks) -> rx_pool_free().
 * rx_pool_stop() may be called from any thread while rx_pool_run() runs.
 */
#ifndef RX_POOL_H
#define RX_POOL_H

#include <stddef.h>

typedef struct RxPool RxPool;

/* Run task number `task` (0-based, in order of the queue) in `slot`. */
typedef void (*RxTaskFn)(void *opaque, size_t task, int slot);

/* jobs >= 1: tasks at once (also the number of worker threads). */
int rx_pool_new(RxPool **out, int jobs);

/*
 * Run tasks 0..n-1, in order of their number, and return when every started
 * task has finished and no more will start: all n ran, or rx_pool_stop() was
 * called. Returns the number of tasks started, or a negative errno when a
 * thread could not be created.
 */
long rx_pool_run(RxPool *p, size_t n, RxTaskFn fn, void *opaque);

/*
 * Tasks 0..n-1 each run alone: one starts only when no task runs, and no
 * other starts until it ends (files suspected of crashing the process,
 * crash.h). Call before rx_pool_run().
 */
void rx_pool_set_alone(RxPool *p, size_t n);

/* Start no new task; running ones go on. Thread-safe. */
void rx_pool_stop(RxPool *p);

/* Sets *p to NULL; accepts NULL. Not while rx_pool_run() runs. */
void rx_pool_free(RxPool **p);

#endif
