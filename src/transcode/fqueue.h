/*
 * fqueue.h - a bounded queue of decoded frames between two threads.
 *
 * A job's source thread (demux + decode) pushes frames; the job's own thread
 * (frame stage, encoders, muxer) pops them. The bound keeps memory flat: the
 * decoder runs at most `capacity` frames ahead of the encoder.
 *
 * Calling sequence:
 *   producer: rx_fqueue_push()* then rx_fqueue_finish(status)
 *   consumer: rx_fqueue_pop() until it returns non-zero; rx_fqueue_close()
 *             to stop early (the producer's next push returns AVERROR_EXIT)
 * Exactly one producer and one consumer. Modelled on fftools' thread_queue.
 */
#ifndef RX_FQUEUE_H
#define RX_FQUEUE_H

#include <libavutil/frame.h>

typedef struct RxFQueue RxFQueue;

int rx_fqueue_new(RxFQueue **out, int capacity);

/*
 * Blocks while the queue is full. On success takes ownership of *frame and
 * sets it to NULL. Returns 0, or AVERROR_EXIT when the consumer has closed
 * the queue (the frame stays the caller's).
 */
int rx_fqueue_push(RxFQueue *q, AVFrame **frame, int tag);

/* No more frames: status 0 for a clean end, else the producer's error. */
void rx_fqueue_finish(RxFQueue *q, int status);

/*
 * Blocks while the queue is empty and unfinished. Returns 0 with a frame the
 * caller now owns and its tag; once drained, AVERROR_EOF after a clean finish
 * or the producer's error status.
 */
int rx_fqueue_pop(RxFQueue *q, AVFrame **frame, int *tag);

/* Consumer is done: queued frames are dropped, the producer is woken. */
void rx_fqueue_close(RxFQueue *q);

/* Frees remaining frames; sets *q to NULL; accepts NULL. */
void rx_fqueue_free(RxFQueue **q);

#endif
