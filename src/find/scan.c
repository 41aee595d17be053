/*
 * scan.c - recursive walk of the roots (see scan.h for the rules).
 *
 * The walk is fd-relative (openat/fstatat/faccessat on the directory's fd), so
 * a path is resolved once per directory level rather than once per name, and
 * a directory renamed mid-walk does not send us elsewhere. Each directory is
 * read whole and its names sorted before any is visited: that makes the walk,
 * and so the choice among duplicate names, independent of readdir order, and
 * it keeps the open directories at one fd per level of depth.
 *
 * Identity sets (device, inode) stop loops and double visits: directories
 * always (overlapping roots, bind mounts, followed links), files only when
 * links are followed. A directory is marked before it is opened, so one that
 * cannot be opened is reported once however many ways lead to it.
 */
#include "reencode/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/bprint.h>

#include <libavutil/error.h>

#include "core/text.h"
#include "reencode/probe.h"

/* The journal's directory, never walked into (journal.h's RX_JOURNAL_DIR;
 * scan comes before the journal). */
#define RX_SCAN_JOURNAL_DIR ".reencode"

struct RxScanList {
    RxScanEntry **entries; /* each entry is one allocation: struct then path */
    size_t n, cap;
    size_t warnings;
};

/* Open-addressing set of (dev, ino); key (0, 0) marks an empty slot, which no
 * real file has (inode 0 is never valid). */
typedef struct IdSet {
    uint64_t *keys; /* 2 words per slot */
    size_t cap, n;  /* cap: a power of two */
} IdSet;

typedef struct Scan {
    RxScanList *list;
    const RxScanOptions *o;
    char **exts; /* lower-case extensions without the dot, NULL-terminated */
    char *ext_buf;
    IdSet dirs, files;
    char *path; /* path of the current name, as the user will see it */
    size_t len, cap;
    size_t rel_at; /* where the part relative to the root starts in path */
    size_t root;
    dev_t root_dev;
} Scan;

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int ends_with_nocase(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[len - n + i]) != lower(suffix[i]))
            return 0;
    return 1;
}

/* Split "mp4, .MKV,mov" into lower-case "mp4", "mkv", "mov". */
static int parse_extensions(Scan *s, const char *list)
{
    size_t len = strlen(list), n = 1;
    for (size_t i = 0; i < len; i++)
        n += list[i] == ',';
    s->ext_buf = malloc(len + 1);
    s->exts = calloc(n + 1, sizeof(*s->exts));
    if (!s->ext_buf || !s->exts)
        return AVERROR(ENOMEM);

    size_t k = 0, at = 0;
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t item = end ? (size_t)(end - p) : strlen(p);
        while (item && (*p == ' ' || *p == '\t' || *p == '.')) {
            p++;
            item--;
        }
        while (item && (p[item - 1] == ' ' || p[item - 1] == '\t'))
            item--;
        if (item) {
            if (memchr(p, '/', item))
                return AVERROR(EINVAL);
            s->exts[k++] = s->ext_buf + at;
            for (size_t i = 0; i < item; i++)
                s->ext_buf[at++] = lower(p[i]);
            s->ext_buf[at++] = '\0';
        }
        if (!end)
            break;
        p = end + 1;
    }
    return k ? 0 : AVERROR(EINVAL);
}

/* Is name a file the scan yields (by name alone)? */
static int name_wanted(const Scan *s, const char *name)
{
    size_t len = strlen(name);
    if (ends_with_nocase(name, len, ".part") || ends_with_nocase(name, len, ".reencoded"))
        return 0;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) /* no extension, or a dot file such as ".mp4" */
        return 0;
    for (char **e = s->exts; *e; e++) {
        size_t n = strlen(*e);
        if ((size_t)(name + len - dot - 1) == n && ends_with_nocase(name, len, *e))
            return 1;
    }
    return 0;
}

static size_t id_slot(const IdSet *set, uint64_t dev, uint64_t ino)
{
    uint64_t h = (dev * UINT64_C(0x9E3779B97F4A7C15)) ^ (ino * UINT64_C(0xC2B2AE3D27D4EB4F));
    h ^= h >> 29;
    return (size_t)h & (set->cap - 1);
}

static void id_put(IdSet *set, uint64_t dev, uint64_t ino)
{
    size_t i = id_slot(set, dev, ino);
    while (set->keys[2 * i] || set->keys[2 * i + 1])
        i = (i + 1) & (set->cap - 1);
    set->keys[2 * i] = dev;
    set->keys[2 * i + 1] = ino;
    set->n++;
}

/* Add (dev, ino). Returns 1 when new, 0 when already there, AVERROR(ENOMEM). */
static int id_add(IdSet *set, const struct stat *st)
{
    uint64_t dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;

    if (set->cap) {
        for (size_t i = id_slot(set, dev, ino); set->keys[2 * i] || set->keys[2 * i + 1];
             i = (i + 1) & (set->cap - 1))
            if (set->keys[2 * i] == dev && set->keys[2 * i + 1] == ino)
                return 0;
    }
    if (2 * (set->n + 1) > set->cap) { /* keep the load under one half */
        IdSet bigger = {NULL, set->cap ? 2 * set->cap : 64, 0};
        bigger.keys = calloc(2 * bigger.cap, sizeof(*bigger.keys));
        if (!bigger.keys)
            return AVERROR(ENOMEM);
        for (size_t i = 0; i < set->cap; i++)
            if (set->keys[2 * i] || set->keys[2 * i + 1])
                id_put(&bigger, set->keys[2 * i], set->keys[2 * i + 1]);
        free(set->keys);
        *set = bigger;
    }
    id_put(set, dev, ino);
    return 1;
}

static void warn(Scan *s, int err)
{
    s->list->warnings++;
    if (s->o->on_warn)
        s->o->on_warn(s->o->warn_opaque, s->path, err);
}

static int path_reserve(Scan *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(s->path, cap);
    if (!p)
        return AVERROR(ENOMEM);
    s->path = p;
    s->cap = cap;
    return 0;
}

/* Append "/name" to the current path (no '/' after a root of "/"); *saved
 * receives the length to restore. Returns 0 or AVERROR(ENOMEM). */
static int path_push(Scan *s, const char *name, size_t *saved)
{
    size_t n = strlen(name);
    if (path_reserve(s, s->len + 1 + n + 1) < 0)
        return AVERROR(ENOMEM);
    *saved = s->len;
    if (s->len && s->path[s->len - 1] != '/')
        s->path[s->len++] = '/';
    memcpy(s->path + s->len, name, n + 1);
    s->len += n;
    return 0;
}

/* Fill e from st (NULL: a named file that cannot be used), append it to the
 * list (which owns it from here) and hand it to on_entry. */
static int push(Scan *s, RxScanEntry *e, const struct stat *st)
{
    RxScanList *l = s->list;

    e->root = s->root;
    e->size = st ? (int64_t)st->st_size : 0;
    e->mtime_ns = st ? (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec : 0;
    e->dev = st ? (uint64_t)st->st_dev : 0;
    e->ino = st ? (uint64_t)st->st_ino : 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        RxScanEntry **p = realloc(l->entries, cap * sizeof(*p));
        if (!p) {
            free(e);
            return AVERROR(ENOMEM);
        }
        l->entries = p;
        l->cap = cap;
    }
    l->entries[l->n++] = e;
    return s->o->on_entry ? s->o->on_entry(s->o->entry_opaque, e) : 0;
}

static int emit(Scan *s, const struct stat *st, size_t rel_at)
{
    RxScanEntry *e = malloc(sizeof(*e) + s->len + 1);
    if (!e)
        return AVERROR(ENOMEM);
    char *path = (char *)(e + 1);
    memcpy(path, s->path, s->len + 1);
    e->path = path;
    e->rel = path + rel_at;
    e->err = 0;
    return push(s, e, st);
}

static int scan_dir(Scan *s, int fd);

/* One name in directory dfd; s->path already ends with it. */
static int scan_name(Scan *s, int dfd, const char *name, unsigned char type)
{
    struct stat st;
    int linked = 0, ret;

    /* Spare the stat where readdir's type already decides. */
    if ((type == DT_REG && !name_wanted(s, name)) || (type == DT_LNK && !s->o->follow_symlinks))
        return 0;
    if (type == DT_DIR && !strcmp(name, RX_SCAN_JOURNAL_DIR))
        return 0;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        warn(s, AVERROR(errno)); /* vanished since readdir, or worse */
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        if (!s->o->follow_symlinks)
            return 0;
        if (fstatat(dfd, name, &st, 0) < 0) {
            /* Dangling or looping link: worth a word only if it looked like
             * a recording. */
            int err = errno;
            if (name_wanted(s, name))
                warn(s, -err);
            return 0;
        }
        linked = 1;
    }

    if (S_ISDIR(st.st_mode)) {
        if (!strcmp(name, RX_SCAN_JOURNAL_DIR))
            return 0;
        if (s->o->one_file_system && st.st_dev != s->root_dev)
            return 0;
        ret = id_add(&s->dirs, &st);
        if (ret <= 0)
            return ret;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (linked ? 0 : O_NOFOLLOW));
        if (fd < 0) {
            warn(s, AVERROR(errno));
            return 0;
        }
        return scan_dir(s, fd);
    }
    if (!S_ISREG(st.st_mode) || !name_wanted(s, name))
        return 0;
    if (s->o->follow_symlinks) {
        ret = id_add(&s->files, &st);
        if (ret <= 0)
            return ret;
    }
    if (faccessat(dfd, name, R_OK, AT_EACCESS) < 0) {
        warn(s, AVERROR(errno));
        return 0;
    }
    return emit(s, &st, s->rel_at);
}

static int cmp_names(const void *a, const void *b)
{
    /* Each name is preceded by its d_type byte. */
    return strcmp(*(const char *const *)a + 1, *(const char *const *)b + 1);
}

/* Walk the directory open as fd (closed here); s->path names it. */
static int scan_dir(Scan *s, int fd)
{
    char *buf = NULL, **names = NULL;
    size_t len = 0, cap = 0, n = 0;
    int ret = 0;

    DIR *d = fdopendir(fd);
    if (!d) {
        warn(s, AVERROR(errno));
        close(fd);
        return 0;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                warn(s, AVERROR(errno)); /* keep what was read */
            break;
        }
        const char *nm = de->d_name;
        if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
            continue;
        size_t nl = strlen(nm);
        if (len + nl + 2 > cap) {
            size_t c = cap ? 2 * cap : 4096;
            while (c < len + nl + 2)
                c *= 2;
            char *p = realloc(buf, c);
            if (!p) {
                ret = AVERROR(ENOMEM);
                goto done;
            }
            buf = p;
            cap = c;
        }
        buf[len] = (char)de->d_type;
        memcpy(buf + len + 1, nm, nl + 1);
        len += nl + 2;
        n++;
    }

    names = malloc((n ? n : 1) * sizeof(*names));
    if (!names) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    for (size_t i = 0, at = 0; i < n; i++) {
        names[i] = buf + at;
        at += strlen(buf + at + 1) + 2;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);

    for (size_t i = 0; i < n && ret >= 0; i++) {
        size_t saved;
        ret = path_push(s, names[i] + 1, &saved);
        if (ret < 0)
            break;
        ret = scan_name(s, dirfd(d), names[i] + 1, (unsigned char)names[i][0]);
        s->len = saved;
        s->path[saved] = '\0';
    }

done:
    free(names);
    free(buf);
    closedir(d);
    return ret;
}

/* Walk one root; s->path holds it, normalised. */
static int scan_root(Scan *s)
{
    struct stat st;
    int ret;

    if (stat(s->path, &st) < 0) {
        warn(s, AVERROR(errno));
        return 0;
    }
    s->root_dev = st.st_dev;
    s->rel_at = s->len && s->path[s->len - 1] == '/' ? s->len : s->len + 1;

    if (S_ISDIR(st.st_mode)) {
        ret = id_add(&s->dirs, &st);
        if (ret <= 0)
            return ret;
        int fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            warn(s, AVERROR(errno));
            return 0;
        }
        return scan_dir(s, fd);
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    /* A file given as a root: same name rules; rel is its base name. */
    const char *base = strrchr(s->path, '/');
    base = base ? base + 1 : s->path;
    if (!name_wanted(s, base))
        return 0;
    if (s->o->follow_symlinks) {
        ret = id_add(&s->files, &st);
        if (ret <= 0)
            return ret;
    }
    if (access(s->path, R_OK) < 0) {
        warn(s, AVERROR(errno));
        return 0;
    }
    return emit(s, &st, (size_t)(base - s->path));
}

void rx_scan_options_default(RxScanOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->extensions = "mp4";
}

int rx_scan_list_new(RxScanList **out)
{
    RxScanList *l = calloc(1, sizeof(*l));
    if (!l)
        return AVERROR(ENOMEM);
    *out = l;
    return 0;
}

/* Start a walk or a list of named files; release with scan_release(). */
static int scan_init(Scan *s, RxScanList *list, const RxScanOptions *o, RxScanOptions *defaults)
{
    if (!o) {
        rx_scan_options_default(defaults);
        o = defaults;
    }
    memset(s, 0, sizeof(*s));
    s->list = list;
    s->o = o;
    return parse_extensions(s, o->extensions ? o->extensions : "mp4");
}

static void scan_release(Scan *s)
{
    free(s->dirs.keys);
    free(s->files.keys);
    free(s->path);
    free(s->exts);
    free(s->ext_buf);
}

int rx_scan_run(RxScanList *list, const char *const *roots, size_t n, const RxScanOptions *o)
{
    RxScanOptions defaults;
    Scan s;
    int ret = scan_init(&s, list, o, &defaults);

    if (ret < 0)
        goto done;

    for (size_t r = 0; r < n && ret >= 0; r++) {
        const char *root = roots[r];
        size_t len = strlen(root);
        while (len > 1 && root[len - 1] == '/') /* "dir/" -> "dir", "//" -> "/" */
            len--;
        ret = path_reserve(&s, len + 1);
        if (ret < 0)
            break;
        memcpy(s.path, root, len);
        s.path[len] = '\0';
        s.len = len;
        s.root = r;
        ret = scan_root(&s);
    }

done:
    scan_release(&s);
    return ret;
}

const char *rx_scan_why(int err)
{
    switch (err) {
    case RX_SCAN_ERR_NAME:
        return "the walk would not pick this name (--ext, *.part, *.reencoded, .reencode/)";
    case RX_SCAN_ERR_SAME:
        return "the same file as a name met before";
    case RX_SCAN_ERR_TYPE:
        return "not a regular file (give directories as DIR operands)";
    default:
        return NULL;
    }
}

void rx_scan_warning(AVBPrint *bp, const char *path, int err)
{
    char why[128];

    av_bprintf(bp, "cannot read '");
    rx_text_human(bp, path);
    av_bprintf(bp, "': %s", rx_probe_strerror(err, why, sizeof(why)));
}

/* Would the walk pick path by name? Its base name by the walk's rules, and
 * no ".reencode" directory on the way. */
static int path_wanted(const Scan *s, const char *path)
{
    const char *base = strrchr(path, '/');

    for (const char *p = path; base && p < base;) {
        const char *end = strchr(p, '/');
        if ((size_t)(end - p) == strlen(RX_SCAN_JOURNAL_DIR) &&
            !strncmp(p, RX_SCAN_JOURNAL_DIR, (size_t)(end - p)))
            return 0;
        p = end + 1;
    }
    return name_wanted(s, base ? base + 1 : path);
}

/* The absolute path of path with its directories resolved (NULL when they
 * cannot be: the file is then reported missing anyway). */
static char *resolve_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *real, *abs;
    size_t n;

    dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    if (!real)
        return NULL;
    slash = slash ? slash + 1 : path;
    n = strlen(real);
    abs = malloc(n + 1 + strlen(slash) + 1);
    if (abs) {
        memcpy(abs, real, n);
        if (real[n - 1] != '/') /* realpath gives "/" for the root alone */
            abs[n++] = '/';
        memcpy(abs + n, slash, strlen(slash) + 1);
    }
    free(real);
    return abs;
}

/* One named file: rel as rx_scan_files() promises. */
static int scan_named(Scan *s, const char *path, const char *base)
{
    size_t blen = base ? strlen(base) : 0;
    char *abs = resolve_dir(path);
    const char *rel = path;
    RxScanEntry *e;
    struct stat st;
    int err = 0, ret;

    if (abs) {
        rel = abs;
        if (base && blen == 1 && abs[0] == '/')
            rel = abs + 1;
        else if (base && !strncmp(abs, base, blen) && abs[blen] == '/')
            rel = abs + blen + 1;
    }
    if (stat(path, &st) < 0) {
        err = AVERROR(errno);
    } else if (!S_ISREG(st.st_mode)) {
        ret = RX_SCAN_ERR_TYPE;
        goto left_out;
    }
    if (!err && !path_wanted(s, path)) {
        ret = RX_SCAN_ERR_NAME;
        goto left_out;
    }
    if (!err && (ret = id_add(&s->files, &st)) <= 0) {
        if (ret < 0)
            goto done;
        ret = RX_SCAN_ERR_SAME;
        goto left_out;
    }
    if (!err && access(path, R_OK) < 0)
        err = AVERROR(errno);

    size_t plen = strlen(path) + 1, rlen = strlen(rel) + 1;
    e = malloc(sizeof(*e) + plen + rlen);
    ret = AVERROR(ENOMEM);
    if (!e)
        goto done;
    e->path = memcpy((char *)(e + 1), path, plen);
    e->rel = memcpy((char *)(e + 1) + plen, rel, rlen);
    e->err = err;
    ret = push(s, e, err ? NULL : &st);
    goto done;
left_out:
    if (s->o->on_not_taken)
        s->o->on_not_taken(s->o->not_taken_opaque, path, ret);
    ret = 0;
done:
    free(abs);
    return ret;
}

int rx_scan_files(RxScanList *list, const char *const *paths, size_t n, const char *base,
                  size_t root, const RxScanOptions *o)
{
    RxScanOptions defaults;
    char *real_base = base ? realpath(base, NULL) : NULL;
    Scan s;
    int ret = scan_init(&s, list, o, &defaults);

    s.root = root;
    /* Files already in the list count as met (a file both walked and named). */
    for (size_t i = 0; ret >= 0 && i < list->n; i++) {
        const RxScanEntry *e = list->entries[i];
        struct stat st = {.st_dev = (dev_t)e->dev, .st_ino = (ino_t)e->ino};
        if (!e->err)
            ret = id_add(&s.files, &st);
    }
    for (size_t i = 0; ret >= 0 && i < n; i++)
        ret = scan_named(&s, paths[i], real_base);

    free(real_base);
    scan_release(&s);
    return ret < 0 ? ret : 0;
}

size_t rx_scan_list_count(const RxScanList *list)
{
    return list->n;
}

const RxScanEntry *rx_scan_list_get(const RxScanList *list, size_t i)
{
    return i < list->n ? list->entries[i] : NULL;
}

size_t rx_scan_list_warnings(const RxScanList *list)
{
    return list->warnings;
}

static int cmp_entries(const void *a, const void *b)
{
    return strcmp((*(RxScanEntry *const *)a)->path, (*(RxScanEntry *const *)b)->path);
}

void rx_scan_list_sort(RxScanList *list)
{
    if (list->n > 1)
        qsort(list->entries, list->n, sizeof(*list->entries), cmp_entries);
}

void rx_scan_list_free(RxScanList **plist)
{
    RxScanList *l = plist ? *plist : NULL;
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->entries[i]);
    free(l->entries);
    free(l);
    *plist = NULL;
}
