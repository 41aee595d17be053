/*
 * crashshim.c - test-only fault injection: an LD_PRELOAD library that makes
 * the encode of one named input really crash the process. Built only in the
 * test tree (tests/CMakeLists.txt); nothing of it is in the reencode binary.
 *
 *   LD_PRELOAD=librx_crashshim.so RX_CRASH_ON=bad.mp4 reencode run DIR
 *
 * RX_CRASH_ON     file names (last path component), comma-separated: the
 *                 encodes of these inputs crash
 * RX_CRASH_AFTER  video frames sent to the encoder before the crash [3]
 * RX_CRASH_HOW    segv (default): a store to a page with no access, a real
 *                   fault in the middle of the encode, as a codec's bug;
 *                 abort: abort(3), as a codec's failed assertion;
 *                 nohandler: the same fault with SIGSEGV's handler reset
 *                   first, as when the handler cannot run (a stack overflow
 *                   on a thread without a signal stack): the process dies
 *                   without a crash record of its own
 *
 * How it knows the input: reencode opens a job's input (avformat_open_input)
 * on the thread that then sends the frames to that job's video encoder
 * (avcodec_send_frame), so the name is kept per thread, and a job's later
 * opens of its own .part (the checks) are not inputs. Deterministic: the
 * same input crashes after the same number of frames every time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

typedef int (*OpenFn)(AVFormatContext **, const char *, const AVInputFormat *, AVDictionary **);
typedef int (*SendFn)(AVCodecContext *, const AVFrame *);

/* The next definition of name (ISO C has no cast from dlsym's void * to a
 * function pointer; POSIX guarantees the representation is the same). */
static void next_symbol(const char *name, void *fn, size_t size)
{
    void *p = dlsym(RTLD_NEXT, name);
    memcpy(fn, &p, size);
}

static _Thread_local int doomed; /* this thread's input is one of RX_CRASH_ON */
static _Thread_local long frames;

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

/* Is the last component of url one of the comma-separated names? */
static int named(const char *url)
{
    const char *list = getenv("RX_CRASH_ON"), *base;
    size_t n;

    if (!list || !url)
        return 0;
    base = strrchr(url, '/');
    base = base ? base + 1 : url;
    n = strlen(base);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t k = comma ? (size_t)(comma - p) : strlen(p);
        if (k == n && !memcmp(p, base, n))
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

int avformat_open_input(AVFormatContext **ps, const char *url, const AVInputFormat *fmt,
                        AVDictionary **options)
{
    OpenFn real;

    next_symbol("avformat_open_input", &real, sizeof(real));

    if (url && !ends_with(url, ".part")) {
        doomed = named(url);
        frames = 0;
    }
    return real(ps, url, fmt, options);
}

static void crash(void)
{
    const char *how = getenv("RX_CRASH_HOW");
    volatile int *page;

    if (how && !strcmp(how, "abort"))
        abort();
    if (how && !strcmp(how, "nohandler"))
        signal(SIGSEGV, SIG_DFL);
    /* A store to a page with no access: a real fault, and not a null
     * pointer, which UBSan would stop at before it faults. */
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        abort();
    *page = 1;
}

int avcodec_send_frame(AVCodecContext *avctx, const AVFrame *frame)
{
    const char *after = getenv("RX_CRASH_AFTER");
    SendFn real;

    next_symbol("avcodec_send_frame", &real, sizeof(real));

    if (doomed && frame && avctx->codec_type == AVMEDIA_TYPE_VIDEO &&
        ++frames > (after ? atol(after) : 3))
        crash();
    return real(avctx, frame);
}
