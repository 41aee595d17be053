/*
 * fqueue.c - bounded frame queue between two threads (see fqueue.h).
 */
#include <pthread.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "transcode/fqueue.h"

typedef struct Item {
    AVFrame *frame;
    int tag;
} Item;

struct RxFQueue {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    Item *items;
    int capacity;
    int head; /* next to pop */
    int count;
    int finished; /* producer said it is done */
    int status;   /* its status */
    int closed;   /* consumer said it is done */
};

int rx_fqueue_new(RxFQueue **out, int capacity)
{
    RxFQueue *q;

    *out = NULL;
    if (capacity < 1)
        return AVERROR(EINVAL);
    q = av_mallocz(sizeof(*q));
    if (!q)
        return AVERROR(ENOMEM);
    q->items = av_calloc(capacity, sizeof(*q->items));
    if (!q->items) {
        av_free(q);
        return AVERROR(ENOMEM);
    }
    q->capacity = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    *out = q;
    return 0;
}

int rx_fqueue_push(RxFQueue *q, AVFrame **frame, int tag)
{
    int ret = 0;

    pthread_mutex_lock(&q->lock);
    while (q->count == q->capacity && !q->closed)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (q->closed) {
        ret = AVERROR_EXIT;
    } else {
        Item *it = &q->items[(q->head + q->count) % q->capacity];
        it->frame = *frame;
        it->tag = tag;
        *frame = NULL;
        q->count++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void rx_fqueue_finish(RxFQueue *q, int status)
{
    pthread_mutex_lock(&q->lock);
    q->finished = 1;
    q->status = status;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

int rx_fqueue_pop(RxFQueue *q, AVFrame **frame, int *tag)
{
    int ret = 0;

    *frame = NULL;
    pthread_mutex_lock(&q->lock);
    while (!q->count && !q->finished)
        pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->count) {
        Item *it = &q->items[q->head];
        *frame = it->frame;
        *tag = it->tag;
        it->frame = NULL;
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        pthread_cond_signal(&q->not_full);
    } else {
        ret = q->status < 0 ? q->status : AVERROR_EOF;
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void rx_fqueue_close(RxFQueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    while (q->count) {
        av_frame_free(&q->items[q->head].frame);
        q->head = (q->head + 1) % q->capacity;
        q->count--;
    }
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void rx_fqueue_free(RxFQueue **pq)
{
    RxFQueue *q;

    if (!pq || !*pq)
        return;
    q = *pq;
    for (int i = 0; i < q->capacity; i++)
        av_frame_free(&q->items[i].frame);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    av_free(q->items);
    av_freep(pq);
}
