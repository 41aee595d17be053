/*
 * log.h - the one place where reencode prints messages for people.
 *
 * Messages are whole lines written with a single write(2) so that lines from
 * parallel jobs never interleave mid-line. Format follows git: lower case, no
 * full stop, the subject quoted ("cannot open 'a.mp4': No such file").
 *
 * rx_log_init() must run before any thread starts: it sets the level and
 * routes libav's own messages (process-wide, see LIBAV-NOTES) through here.
 */
#ifndef RX_LOG_H
#define RX_LOG_H

typedef enum RxLogLevel {
    RX_LOG_QUIET = 0,
    RX_LOG_ERROR,
    RX_LOG_WARN,
    RX_LOG_INFO,
    RX_LOG_DEBUG,
} RxLogLevel;

void rx_log_init(RxLogLevel level);
RxLogLevel rx_log_level(void);

#if defined(__GNUC__)
#define RX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RX_PRINTF(a, b)
#endif

/* Each returns -1 so that `return rx_error(...)` reads well. */
int rx_error(const char *fmt, ...) RX_PRINTF(1, 2);
int rx_warn(const char *fmt, ...) RX_PRINTF(1, 2);
void rx_info(const char *fmt, ...) RX_PRINTF(1, 2);
void rx_debug(const char *fmt, ...) RX_PRINTF(1, 2);

#endif
