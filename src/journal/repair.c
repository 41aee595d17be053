/*
 * repair.c - `reencode journal repair`: keep a journal's valid records,
 * drop the damaged ones, the original kept beside it (journal.h).
 */
#include "core/fsutil.h"
#include "journal/journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/error.h>

/* ---- repair ---- */

/* Create path (it must not exist) with these bytes, durably but for its
 * name: the caller syncs the directory. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd, ret;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return AVERROR(errno);
    ret = rx_write_all(fd, data, len);
    if (ret == 0 && fsync(fd) < 0)
        ret = AVERROR(errno);
    if (close(fd) < 0 && ret == 0)
        ret = AVERROR(errno);
    if (ret < 0)
        unlink(path);
    return ret;
}

int rx_journal_repair(const char *path, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j = NULL;
    char *buf = NULL, *kept = NULL, *tmp = NULL, *bak = NULL;
    size_t len, kept_len = 0, plen = strlen(path);
    int64_t valid_end;
    struct stat st;
    int fd = -1, ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    ret = rx_journal_open_locked(path, 0, 0, report, &fd);
    if (ret < 0)
        return ret;
    if (fstat(fd, &st) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    ret = rx_journal_read_all(fd, &buf, &len);
    if (ret < 0)
        goto fail;
    j = rx_journal_new();
    kept = malloc(len + 1);
    tmp = malloc(plen + 32);
    bak = malloc(plen + 64);
    if (!j || !kept || !tmp || !bak) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = rx_journal_load(j, buf, len, report, LOAD_SALVAGE, &valid_end, kept, &kept_len);
    if (ret < 0 || !report->dropped)
        goto fail;

    /* The original first, so that nothing is lost whatever happens next. */
    for (int k = 0;; k++) {
        long long t = (long long)time(NULL);
        if (k)
            snprintf(bak, plen + 64, "%s.bak-%lld-%d", path, t, k);
        else
            snprintf(bak, plen + 64, "%s.bak-%lld", path, t);
        ret = write_new_file(bak, buf, len, st.st_mode & 07777);
        if (ret != AVERROR(EEXIST) || k == 99)
            break;
    }
    if (ret < 0)
        goto fail;
    snprintf(report->backup, sizeof(report->backup), "%s", bak);
    snprintf(tmp, plen + 32, "%s.tmp-%ld", path, (long)getpid());
    unlink(tmp); /* a stale one: a crashed repair that had our pid */
    ret = write_new_file(tmp, kept, kept_len, st.st_mode & 07777);
    if (ret < 0)
        goto fail;
    if (rename(tmp, path) < 0) {
        ret = AVERROR(errno);
        unlink(tmp);
        goto fail;
    }
    ret = rx_fsync_parent(path);
fail:
    rx_journal_close(&j);
    free(bak);
    free(tmp);
    free(kept);
    free(buf);
    if (fd >= 0)
        close(fd);
    return ret;
}
