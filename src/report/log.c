/*
 * log.c - whole-line messages for people, and libav's messages routed here.
 *
 * Every line goes out in one write(2) to stderr: lines of parallel jobs may
 * interleave with each other but never inside a line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "reencode/log.h"

/* Set once in rx_log_init() before threads start; read-only afterwards. */
static RxLogLevel log_level = RX_LOG_INFO;

static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    size_t len = 0;
    int n;

    if (prefix) {
        n = snprintf(line, sizeof(line), "%s", prefix);
        len = n > 0 ? (size_t)n : 0;
    }
    n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    if (n > 0)
        len += (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: still end the line */
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    /* A failed write to stderr has nowhere to be reported. */
    if (write(STDERR_FILENO, line, len) < 0)
        return;
}

/* libav calls this from any thread (decoder workers too), concurrently. */
static void libav_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    char line[1024];
    int print_prefix = 1;

    if (level > av_log_get_level())
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    if (!line[0])
        return;
    {
        size_t n = strlen(line);
        char out[1100];
        int m = snprintf(out, sizeof(out), "reencode: libav: %s%s", line,
                         n && line[n - 1] == '\n' ? "" : "\n");
        if (m > 0 &&
            write(STDERR_FILENO, out, (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1) < 0)
            return;
    }
}

void rx_log_init(RxLogLevel level)
{
    log_level = level;
    /* libav's own chatter (decoder warnings on damaged input, encoder
     * banners) is only shown when asked for: our messages name the file and
     * the step, which is what a person needs. */
    switch (level) {
    case RX_LOG_DEBUG:
        av_log_set_level(AV_LOG_VERBOSE);
        break;
    case RX_LOG_INFO:
    case RX_LOG_WARN:
        av_log_set_level(AV_LOG_FATAL);
        break;
    default:
        av_log_set_level(AV_LOG_QUIET);
        break;
    }
    av_log_set_callback(libav_callback);
    /* SVT-AV1 (libsvtav1) writes its banner, warnings and errors straight
     * to stderr, not through av_log; SVT_LOG (0 fatal .. 4 debug), read once
     * at the first encoder, is its only switch. Treated like libav's chatter:
     * our own line names the file and the cause (even a cancel makes SVT
     * print "deinit called without sending EOS!"). A level the user set in
     * the environment is kept. */
    setenv("SVT_LOG", level >= RX_LOG_DEBUG ? "3" : "0", 0);
}

RxLogLevel rx_log_level(void)
{
    return log_level;
}

int rx_error(const char *fmt, ...)
{
    va_list ap;

    if (log_level >= RX_LOG_ERROR) {
        va_start(ap, fmt);
        emit("reencode: error: ", fmt, ap);
        va_end(ap);
    }
    return -1;
}

int rx_warn(const char *fmt, ...)
{
    va_list ap;

    if (log_level >= RX_LOG_WARN) {
        va_start(ap, fmt);
        emit("reencode: warning: ", fmt, ap);
        va_end(ap);
    }
    return -1;
}

void rx_info(const char *fmt, ...)
{
    va_list ap;

    if (log_level >= RX_LOG_INFO) {
        va_start(ap, fmt);
        emit(NULL, fmt, ap);
        va_end(ap);
    }
}

void rx_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_level >= RX_LOG_DEBUG) {
        va_start(ap, fmt);
        emit("reencode: debug: ", fmt, ap);
        va_end(ap);
    }
}
