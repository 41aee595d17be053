/*
 * pool.c - fixed workers, semaphore-capped tasks (see pool.h).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "reencode/pool.h"

struct RxPool {
    int jobs;
    sem_t permits; /* tasks that may start now */
    pthread_mutex_t lock;
    size_t next; /* next task to hand out */
    size_t n;    /* tasks in this run */
    int stopped;
    unsigned slots; /* bit i set: slot i in use */
    long started;
    RxTaskFn fn;
    void *opaque;
};

int rx_pool_new(RxPool **out, int jobs)
{
    RxPool *p;

    *out = NULL;
    if (jobs < 1 || jobs > 32)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->jobs = jobs;
    if (sem_init(&p->permits, 0, (unsigned)jobs) < 0) {
        free(p);
        return -errno;
    }
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return 0;
}

/* Take the next task and a free slot, or return 0 when there is none. */
static int take(RxPool *p, size_t *task, int *slot)
{
    int ok = 0;

    pthread_mutex_lock(&p->lock);
    if (!p->stopped && p->next < p->n) {
        *task = p->next++;
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
    pthread_mutex_unlock(&p->lock);
}

static void *worker(void *opaque)
{
    RxPool *p = opaque;
    size_t task;
    int slot;

    for (;;) {
        while (sem_wait(&p->permits) < 0 && errno == EINTR)
            ;
        if (!take(p, &task, &slot)) {
            sem_post(&p->permits); /* let the other workers see the end too */
            return NULL;
        }
        p->fn(p->opaque, task, slot);
        release(p, slot);
        sem_post(&p->permits);
    }
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
    pthread_mutex_unlock(&p->lock);
}

void rx_pool_free(RxPool **pp)
{
    RxPool *p;

    if (!pp || !*pp)
        return;
    p = *pp;
    sem_destroy(&p->permits);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
