/*
 * pool.c - fixed workers, semaphore-capped tasks (see pool.h).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include <libavutil/error.h>

#include "batch/pool.h"
#include "journal/crash.h"

struct RxPool {
    int jobs;
    sem_t permits; /* tasks that may start now */
    pthread_mutex_t lock;
    size_t next; /* next task to hand out */
    size_t n;    /* tasks in this run */
    int stopped;
    size_t alone;        /* tasks 0..alone-1 each run with no other */
    int running;         /* tasks running now */
    int alone_running;   /* one of those is running */
    pthread_cond_t cond; /* a task ended, or the pool stopped */
    unsigned slots;      /* bit i set: slot i in use */
    long started;
    RxTaskFn fn;
    void *opaque;
};

int rx_pool_new(RxPool **out, int jobs)
{
    RxPool *p;

    *out = NULL;
    if (jobs < 1 || jobs > 32)
        return AVERROR(EINVAL);
    p = calloc(1, sizeof(*p));
    if (!p)
        return AVERROR(ENOMEM);
    p->jobs = jobs;
    if (sem_init(&p->permits, 0, (unsigned)jobs) < 0) {
        free(p);
        return AVERROR(errno);
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    *out = p;
    return 0;
}

/* Take the next task and a free slot, or return 0 when there is none. A
 * task to run alone waits until nothing runs, and nothing starts beside it. */
static int take(RxPool *p, size_t *task, int *slot)
{
    int ok = 0;

    pthread_mutex_lock(&p->lock);
    while (!p->stopped && p->next < p->n &&
           (p->alone_running || (p->next < p->alone && p->running > 0)))
        pthread_cond_wait(&p->cond, &p->lock);
    if (!p->stopped && p->next < p->n) {
        *task = p->next++;
        p->running++;
        p->alone_running = *task < p->alone;
        for (*slot = 0; p->slots & (1u << *slot); (*slot)++)
            ;
        p->slots |= 1u << *slot;
        p->started++;
        ok = 1;
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void release(RxPool *p, int slot)
{
    pthread_mutex_lock(&p->lock);
    p->slots &= ~(1u << slot);
    p->running--;
    p->alone_running = 0; /* an alone task ran with no other */
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *worker(void *opaque)
{
    RxPool *p = opaque;
    size_t task;
    int slot;

    /* The tasks run codec code: a signal stack lets the crash handler run
     * even after a stack overflow (crash.h). Without one it cannot. */
    rx_crash_altstack_push();
    for (;;) {
        while (sem_wait(&p->permits) < 0 && errno == EINTR)
            ;
        if (!take(p, &task, &slot)) {
            sem_post(&p->permits); /* let the other workers see the end too */
            break;
        }
        p->fn(p->opaque, task, slot);
        release(p, slot);
        sem_post(&p->permits);
    }
    rx_crash_altstack_pop();
    return NULL;
}

long rx_pool_run(RxPool *p, size_t n, RxTaskFn fn, void *opaque)
{
    pthread_t th[32];
    int created = 0, err = 0;

    p->n = n;
    p->next = 0;
    p->started = 0;
    p->fn = fn;
    p->opaque = opaque;
    for (; created < p->jobs; created++) {
        err = pthread_create(&th[created], NULL, worker, p);
        if (err) {
            rx_pool_stop(p); /* the ones already running drain and exit */
            break;
        }
    }
    for (int i = 0; i < created; i++)
        pthread_join(th[i], NULL);
    return err ? -err : p->started;
}

void rx_pool_stop(RxPool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopped = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void rx_pool_set_alone(RxPool *p, size_t n)
{
    pthread_mutex_lock(&p->lock);
    p->alone = n;
    pthread_mutex_unlock(&p->lock);
}

void rx_pool_free(RxPool **pp)
{
    RxPool *p;

    if (!pp || !*pp)
        return;
    p = *pp;
    sem_destroy(&p->permits);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
