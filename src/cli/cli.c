/*
 * cli.c - command line to options (see cli.h).
 *
 * A hand-written parser rather than getopt_long: getopt keeps global state
 * (optind), which makes it awkward to test and to fuzz.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/parseutils.h>

#include "cli/cli.h"
#include "reencode/batch.h"
#include "reencode/watch.h"
#include "encoders/encoder.h"

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...) RX_PRINTF(3, 4);

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    /* Messages quote arguments: a control character in one (a newline, an
     * escape sequence) must neither break the one line nor reach the
     * terminal. As in the filter's explanations, it becomes '?'; C1 controls
     * (U+0080..U+009F, UTF-8 c2 80..c2 9f) too. */
    for (unsigned char *p = (unsigned char *)err; size && *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            p[0] = p[1] = '?';
    }
    return RX_CLI_USAGE;
}

/* Whole-string integer in [lo, hi]: "12x", "", " 1" and overflow are errors. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (!*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    if (!*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int rx_cli_parse_bitrate(const char *s, int64_t *out)
{
    char *end;
    double v;

    if (!*s)
        return AVERROR(EINVAL);
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v))
        return AVERROR(EINVAL);
    if (*end == 'k' || *end == 'K') {
        v *= 1e3;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1e6;
        end++;
    }
    /* libopus accepts 500 b/s to 512 kb/s per channel */
    if (*end || v < 500 || v > 10e6)
        return AVERROR(EINVAL);
    *out = (int64_t)llround(v);
    return 0;
}

/* Which commands an option belongs to. */
#define FOR_ENCODE 1u
#define FOR_LIST   2u
#define FOR_RUN    4u
#define FOR_STATUS 8u
#define FOR_VERIFY 16u
#define FOR_WATCH  32u
#define FOR_RUNS   (FOR_RUN | FOR_WATCH) /* watch takes run's options */
#define FOR_ALL    (FOR_ENCODE | FOR_LIST | FOR_RUN | FOR_STATUS | FOR_VERIFY | FOR_WATCH)

enum {
    OPT_HELP = 1,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_OUTPUT,
    OPT_OVERWRITE,
    OPT_CRF,
    OPT_CPU_USED,
    OPT_USAGE,
    OPT_LAG,
    OPT_AOM_PARAMS,
    OPT_VIDEO_ENCODER,
    OPT_PRESET,
    OPT_SVTAV1_PARAMS,
    OPT_KEYINT,
    OPT_THREADS,
    OPT_DEDUP,
    OPT_DEDUP_THRESHOLD,
    OPT_VERIFY,
    OPT_AUDIO_BITRATE,
    OPT_OPUS_APP,
    OPT_OPUS_DTX,
    OPT_EXT,
    OPT_MATCH,
    OPT_ALL,
    OPT_FOLLOW,
    OPT_ONE_FS,
    OPT_JSON,
    OPT_DRY_RUN,
    OPT_JOBS,
    OPT_JOURNAL,
    OPT_WAIT,
    OPT_RETRY_FAILED,
    OPT_NO_SUPERVISOR,
    OPT_ORIGINALS,
    OPT_MAX_SIZE_RATIO,
    OPT_OUTPUT_DIR,
    OPT_ACCEPT_TRUNCATED,
    OPT_LOG,
    OPT_STATS,
    OPT_RAV1E_PARAMS,
    OPT_VP9_PARAMS,
    OPT_AUDIO_CODEC,
    OPT_CONTAINER,
    OPT_QUICK,
    OPT_FULL,
    OPT_CFR,
    OPT_FPS,
    OPT_IMAGES,
    OPT_FROM_CSV,
    OPT_COLUMN,
    OPT_ID_COLUMN,
    OPT_FROM_LIST,
    OPT_NULL,
    OPT_RESULTS,
    OPT_SHARD,
    OPT_MEASURE,
    OPT_MIN_SSIM,
    OPT_TARGET_SSIM,
    OPT_SETTLE,
    OPT_RESCAN,
    OPT_RESCAN_ONLY,
};

static const struct {
    const char *name;
    char short_name;
    int id;
    int has_value;
    unsigned cmds;
} options[] = {
    {"help", 'h', OPT_HELP, 0, FOR_ALL},
    {"quiet", 'q', OPT_QUIET, 0, FOR_ALL},
    {"verbose", 'v', OPT_VERBOSE, 0, FOR_ALL},
    {"progress", 0, OPT_PROGRESS, 0, FOR_ALL},
    {"no-progress", 0, OPT_NO_PROGRESS, 0, FOR_ALL},
    {"output", 'o', OPT_OUTPUT, 1, FOR_ENCODE},
    {"overwrite", 0, OPT_OVERWRITE, 0, FOR_ENCODE | FOR_RUNS},
    {"crf", 0, OPT_CRF, 1, FOR_ENCODE | FOR_RUNS},
    {"cpu-used", 0, OPT_CPU_USED, 1, FOR_ENCODE | FOR_RUNS},
    {"usage", 0, OPT_USAGE, 1, FOR_ENCODE | FOR_RUNS},
    {"lag-in-frames", 0, OPT_LAG, 1, FOR_ENCODE | FOR_RUNS},
    {"aom-params", 0, OPT_AOM_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"video-encoder", 0, OPT_VIDEO_ENCODER, 1, FOR_ENCODE | FOR_RUNS},
    {"preset", 0, OPT_PRESET, 1, FOR_ENCODE | FOR_RUNS},
    {"svtav1-params", 0, OPT_SVTAV1_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"keyint", 0, OPT_KEYINT, 1, FOR_ENCODE | FOR_RUNS},
    {"threads", 0, OPT_THREADS, 1, FOR_ENCODE | FOR_RUNS},
    {"dedup", 0, OPT_DEDUP, 1, FOR_ENCODE | FOR_RUNS},
    {"dedup-threshold", 0, OPT_DEDUP_THRESHOLD, 1, FOR_ENCODE | FOR_RUNS},
    {"verify", 0, OPT_VERIFY, 1, FOR_ENCODE | FOR_RUNS},
    {"audio-bitrate", 0, OPT_AUDIO_BITRATE, 1, FOR_ENCODE | FOR_RUNS},
    {"opus-application", 0, OPT_OPUS_APP, 1, FOR_ENCODE | FOR_RUNS},
    {"opus-dtx", 0, OPT_OPUS_DTX, 1, FOR_ENCODE | FOR_RUNS},
    {"ext", 0, OPT_EXT, 1, FOR_LIST | FOR_RUNS},
    {"match", 'm', OPT_MATCH, 1, FOR_LIST | FOR_RUNS},
    {"all", 0, OPT_ALL, 0, FOR_LIST | FOR_RUNS},
    {"follow-symlinks", 0, OPT_FOLLOW, 0, FOR_LIST | FOR_RUNS},
    {"one-file-system", 0, OPT_ONE_FS, 0, FOR_LIST | FOR_RUNS},
    {"json", 0, OPT_JSON, 0, FOR_LIST | FOR_RUNS | FOR_STATUS | FOR_VERIFY},
    {"dry-run", 'n', OPT_DRY_RUN, 0, FOR_RUN},
    {"jobs", 'j', OPT_JOBS, 1, FOR_RUNS | FOR_VERIFY},
    {"journal", 0, OPT_JOURNAL, 1, FOR_RUNS | FOR_STATUS | FOR_VERIFY},
    {"wait", 0, OPT_WAIT, 0, FOR_RUNS},
    {"retry-failed", 0, OPT_RETRY_FAILED, 0, FOR_RUNS},
    {"no-supervisor", 0, OPT_NO_SUPERVISOR, 0, FOR_RUNS},
    {"originals", 0, OPT_ORIGINALS, 1, FOR_RUNS},
    {"max-size-ratio", 0, OPT_MAX_SIZE_RATIO, 1, FOR_RUNS},
    {"output-dir", 0, OPT_OUTPUT_DIR, 1, FOR_RUNS},
    {"accept-truncated", 0, OPT_ACCEPT_TRUNCATED, 0, FOR_RUNS},
    {"log", 0, OPT_LOG, 1, FOR_RUNS},
    {"stats", 0, OPT_STATS, 1, FOR_RUN},
    {"rav1e-params", 0, OPT_RAV1E_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"vp9-params", 0, OPT_VP9_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"audio-codec", 0, OPT_AUDIO_CODEC, 1, FOR_ENCODE | FOR_RUNS},
    {"container", 0, OPT_CONTAINER, 1, FOR_ENCODE | FOR_RUNS},
    {"quick", 0, OPT_QUICK, 0, FOR_VERIFY},
    {"full", 0, OPT_FULL, 0, FOR_VERIFY},
    {"cfr", 0, OPT_CFR, 0, FOR_ENCODE | FOR_RUNS},
    {"fps", 0, OPT_FPS, 1, FOR_ENCODE | FOR_RUNS},
    {"images", 0, OPT_IMAGES, 1, FOR_ENCODE},
    {"from-csv", 0, OPT_FROM_CSV, 1, FOR_LIST | FOR_RUN},
    {"column", 0, OPT_COLUMN, 1, FOR_LIST | FOR_RUN},
    {"id-column", 0, OPT_ID_COLUMN, 1, FOR_LIST | FOR_RUN},
    {"from-list", 0, OPT_FROM_LIST, 1, FOR_LIST | FOR_RUN},
    {"null", '0', OPT_NULL, 0, FOR_LIST | FOR_RUN},
    {"results", 0, OPT_RESULTS, 1, FOR_RUN},
    {"shard", 0, OPT_SHARD, 1, FOR_LIST | FOR_RUNS | FOR_STATUS},
    {"measure", 0, OPT_MEASURE, 0, FOR_ENCODE | FOR_RUNS},
    {"min-ssim", 0, OPT_MIN_SSIM, 1, FOR_ENCODE | FOR_RUNS},
    {"target-ssim", 0, OPT_TARGET_SSIM, 1, FOR_ENCODE | FOR_RUNS},
    {"settle", 0, OPT_SETTLE, 1, FOR_WATCH},
    {"rescan", 0, OPT_RESCAN, 1, FOR_WATCH},
    {"rescan-only", 0, OPT_RESCAN_ONLY, 0, FOR_WATCH},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Position of v in a NULL-terminated list of keywords, or -1. */
static int index_of(const char *v, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(v, list[i]))
            return i;
    return -1;
}

static void first_of(const char **slot, const char *name)
{
    if (!*slot)
        *slot = name;
}

/* The encoders reencode drives (src/encoders/), by their index in its table. */
static const char *encoder_name(size_t i)
{
    return rx_encoder_at(i)->name;
}

static size_t n_encoders(void)
{
    size_t n = 0;

    while (rx_encoder_at(n))
        n++;
    return n;
}

/* The encoders that take option o (the options of some encoders only:
 * given with another, they would be silently ignored, so they are refused
 * by check_encoder_options), a bit each by index. */
static unsigned encoders_taking(RxEncOpt o)
{
    unsigned mask = 0;

    for (size_t i = 0; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->options & RX_EO_BIT(o))
            mask |= 1u << i;
    return mask;
}

/* The encoder whose raw params string option o is. */
static const RxEncoder *params_owner(RxEncOpt o)
{
    for (size_t i = 0; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->params_option == (int)o)
            return rx_encoder_at(i);
    return NULL;
}

/* The encoder with the widest crf range (librav1e's quantizer). */
static const RxEncoder *widest_crf(void)
{
    const RxEncoder *w = rx_encoder_at(0);

    for (size_t i = 1; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->crf_max > w->crf_max)
            w = rx_encoder_at(i);
    return w;
}

static void name_list(char *out, size_t size, unsigned mask, const char *prefix, const char *last,
                      const char *(*name)(size_t i), size_t n);

/* By index, not by name: GCC 12 at -O3 misjudges inlined strcmp()s of
 * these literals (-Wstring-compare, a false positive). */
static void encoder_option(RxCli *cli, RxEncOpt o)
{
    cli->encoder_opts |= 1u << o;
}

static RxCliStatus apply(RxCli *cli, int id, const char *v, char *err, size_t errsize)
{
    static const char *const usages[] = {"realtime", "good", "allintra", NULL};
    static const char *const dedups[] = {"auto", "off", "on", NULL};
    static const char *const verifies[] = {"off", "quick", "full", NULL};
    static const char *const apps[] = {"voip", "audio", "lowdelay", NULL};
    static const char *const dtx_modes[] = {"off", "silence", "always", NULL}; /* RxOpusDtx */
    static const char *const audio_codecs[] = {"opus", "copy", NULL};
    static const char *const containers[] = {"auto", "webm", "mkv", NULL};
    RxSettings *s = &cli->settings;
    long n;
    double d;
    int kw;

    _Static_assert(RX_VERIFY_OFF == 0 && RX_VERIFY_QUICK == 1 && RX_VERIFY_FULL == 2,
                   "verifies[] follows RxVerify");
    _Static_assert(RX_CONTAINER_AUTO == 0 && RX_CONTAINER_WEBM == 1 && RX_CONTAINER_MKV == 2,
                   "containers[] follows RxContainer");
    switch (id) {
    case OPT_HELP:
        cli->help_for = cli->cmd;
        cli->cmd = RX_CMD_HELP;
        break;
    case OPT_QUIET:
        cli->log_level = RX_LOG_ERROR;
        cli->progress = 0;
        break;
    case OPT_VERBOSE:
        cli->log_level = RX_LOG_DEBUG;
        break;
    case OPT_PROGRESS:
        cli->progress = 1;
        break;
    case OPT_NO_PROGRESS:
        cli->progress = 0;
        break;
    case OPT_OUTPUT:
        if (!*v)
            return usage_error(err, errsize, "--output needs a file name");
        cli->output = v;
        break;
    case OPT_OVERWRITE:
        s->overwrite = 1;
        break;
    case OPT_CRF: /* each encoder's range is checked at the end */
        if (parse_int(v, 0, widest_crf()->crf_max, &n))
            return usage_error(
                err, errsize, "--crf takes a whole number from 0 to %d (%s: %d), not '%s'",
                rx_encoder_at(0)->crf_max, widest_crf()->name, widest_crf()->crf_max, v);
        s->crf = (int)n;
        cli->crf_given = 1;
        break;
    case OPT_CPU_USED:
        /* libavcodec 5.1's libaom wrapper takes 0-8 (libaom itself more). */
        if (parse_int(v, 0, 8, &n))
            return usage_error(err, errsize,
                               "--cpu-used takes a whole number from 0 to 8, not '%s'", v);
        s->cpu_used = (int)n;
        cli->cpu_used_given = 1;
        encoder_option(cli, RX_EO_CPU_USED);
        break;
    case OPT_USAGE:
        if (index_of(v, usages) < 0)
            return usage_error(err, errsize, "--usage takes realtime, good or allintra, not '%s'",
                               v);
        rx_settings_set_str(s->usage, sizeof(s->usage), v);
        encoder_option(cli, RX_EO_USAGE);
        break;
    case OPT_LAG:
        if (parse_int(v, 0, 70, &n))
            return usage_error(err, errsize,
                               "--lag-in-frames takes a whole number from 0 to 70, not '%s'", v);
        s->lag_in_frames = (int)n;
        encoder_option(cli, RX_EO_LAG);
        break;
    case OPT_AOM_PARAMS:
        if (rx_settings_set_str(s->aom_params, sizeof(s->aom_params), v) < 0)
            return usage_error(err, errsize, "--aom-params is too long (at most %zu bytes)",
                               sizeof(s->aom_params) - 1);
        encoder_option(cli, RX_EO_AOM_PARAMS);
        break;
    case OPT_VIDEO_ENCODER: {
        int crf = s->crf, preset = s->preset, cpu_used = s->cpu_used;
        int ret = rx_settings_set_encoder(s, v);

        if (ret == AVERROR_ENCODER_NOT_FOUND)
            return usage_error(err, errsize,
                               "--video-encoder %s: this libavcodec was built without it", v);
        if (ret < 0) {
            char names[128];

            name_list(names, sizeof(names), (1u << n_encoders()) - 1, "", " or ", encoder_name,
                      n_encoders());
            return usage_error(err, errsize, "--video-encoder takes %s, not '%s'", names, v);
        }
        /* The encoder's defaults never override an explicit --crf/--preset/--cpu-used. */
        if (cli->crf_given)
            s->crf = crf;
        if (cli->preset_given)
            s->preset = preset;
        if (cli->cpu_used_given)
            s->cpu_used = cpu_used;
        break;
    }
    case OPT_PRESET:
        if (parse_int(v, 0, 13, &n))
            return usage_error(err, errsize, "--preset takes a whole number from 0 to 13, not '%s'",
                               v);
        s->preset = (int)n;
        cli->preset_given = 1;
        encoder_option(cli, RX_EO_PRESET);
        break;
    case OPT_SVTAV1_PARAMS:
        if (rx_settings_set_str(s->svt_params, sizeof(s->svt_params), v) < 0)
            return usage_error(err, errsize, "--svtav1-params is too long (at most %zu bytes)",
                               sizeof(s->svt_params) - 1);
        encoder_option(cli, RX_EO_SVTAV1_PARAMS);
        break;
    case OPT_DEDUP: /* auto = -1, off = 0, on = 1 (RxSettings.dedup) */
        if ((kw = index_of(v, dedups)) < 0)
            return usage_error(err, errsize, "--dedup takes auto, on or off, not '%s'", v);
        s->dedup = kw - 1;
        break;
    case OPT_VERIFY: /* in RxVerify's order */
        if ((kw = index_of(v, verifies)) < 0)
            return usage_error(err, errsize, "--verify takes quick, full or off, not '%s'", v);
        s->verify = kw;
        break;
    case OPT_DEDUP_THRESHOLD:
        if (parse_int(v, 0, 64, &n))
            return usage_error(err, errsize,
                               "--dedup-threshold takes a whole number from 0 to 64, not '%s'", v);
        s->dedup_max_diff = (int)n;
        break;
    case OPT_KEYINT:
        if (!strcmp(v, "auto"))
            d = RX_KEYINT_AUTO;
        else if (parse_double(v, 0, 3600, &d))
            return usage_error(err, errsize,
                               "--keyint takes auto or seconds from 0 to 3600, not '%s'", v);
        s->keyint_seconds = d;
        break;
    case OPT_THREADS:
        if (parse_int(v, 0, 64, &n))
            return usage_error(err, errsize,
                               "--threads takes a whole number from 0 to 64, not '%s'", v);
        s->threads = (int)n;
        break;
    case OPT_AUDIO_BITRATE:
        if (rx_cli_parse_bitrate(v, &s->audio_bitrate) < 0)
            return usage_error(err, errsize,
                               "--audio-bitrate takes a rate such as 32k or 64000, not '%s'", v);
        first_of(&cli->opus_only, "audio-bitrate");
        break;
    case OPT_OPUS_APP:
        if (index_of(v, apps) < 0)
            return usage_error(err, errsize,
                               "--opus-application takes voip, audio or lowdelay, not '%s'", v);
        rx_settings_set_str(s->opus_application, sizeof(s->opus_application), v);
        first_of(&cli->opus_only, "opus-application");
        break;
    case OPT_OPUS_DTX:
        if ((kw = index_of(v, dtx_modes)) < 0)
            return usage_error(err, errsize, "--opus-dtx takes silence, always or off, not '%s'",
                               v);
        s->opus_dtx = kw;
        first_of(&cli->opus_only, "opus-dtx");
        break;
    case OPT_AUDIO_CODEC:
        if ((kw = index_of(v, audio_codecs)) < 0)
            return usage_error(err, errsize, "--audio-codec takes opus or copy, not '%s'", v);
        s->audio_copy = kw;
        break;
    case OPT_CONTAINER: /* in RxContainer's order */
        if ((kw = index_of(v, containers)) < 0)
            return usage_error(err, errsize, "--container takes auto, webm or mkv, not '%s'", v);
        s->container = kw;
        break;
    case OPT_RAV1E_PARAMS:
    case OPT_VP9_PARAMS: {
        int rav1e = id == OPT_RAV1E_PARAMS;
        RxEncOpt o = rav1e ? RX_EO_RAV1E_PARAMS : RX_EO_VP9_PARAMS;
        const RxEncoder *owner = params_owner(o);
        char *dst = rav1e ? s->rav1e_params : s->vp9_params;
        char bad[128];

        if (rx_settings_set_str(dst, rav1e ? sizeof(s->rav1e_params) : sizeof(s->vp9_params), v) <
            0)
            return usage_error(err, errsize, "--%s is too long (at most %zu bytes)",
                               rx_encoder_option_name(o),
                               (rav1e ? sizeof(s->rav1e_params) : sizeof(s->vp9_params)) - 1);
        if (owner && owner->params_check && owner->params_check(v, bad, sizeof(bad)) < 0)
            return usage_error(err, errsize, "--%s: %s does not take '%s'",
                               rx_encoder_option_name(o), owner->params_owner, bad);
        encoder_option(cli, o);
        break;
    }
    case OPT_EXT:
        if (!*v || strchr(v, '/'))
            return usage_error(err, errsize, "--ext takes extensions such as mp4,mkv,mov, not '%s'",
                               v);
        cli->extensions = v;
        break;
    case OPT_MATCH:
        cli->matches[cli->n_matches++] = v;
        break;
    case OPT_ALL:
        cli->all = 1;
        break;
    case OPT_FOLLOW:
        cli->follow_symlinks = 1;
        break;
    case OPT_ONE_FS:
        cli->one_file_system = 1;
        break;
    case OPT_JSON:
        cli->json = 1;
        break;
    case OPT_DRY_RUN:
        cli->dry_run = 1;
        break;
    case OPT_JOBS:
        if (parse_int(v, 1, RX_BATCH_MAX_JOBS, &n))
            return usage_error(err, errsize, "--jobs takes a whole number from 1 to %d, not '%s'",
                               RX_BATCH_MAX_JOBS, v);
        cli->jobs = (int)n;
        break;
    case OPT_JOURNAL:
    case OPT_OUTPUT_DIR:
    case OPT_LOG:
    case OPT_STATS:
        if (!*v)
            return usage_error(err, errsize, "an option needs a path, not ''");
        *(id == OPT_JOURNAL      ? &cli->journal
          : id == OPT_OUTPUT_DIR ? &cli->output_dir
          : id == OPT_LOG        ? &cli->log_path
                                 : &cli->stats_path) = v;
        break;
    case OPT_WAIT:
        cli->wait_lock = 1;
        break;
    case OPT_RETRY_FAILED:
        cli->retry_failed = 1;
        break;
    case OPT_NO_SUPERVISOR:
        cli->no_supervisor = 1;
        break;
    case OPT_ORIGINALS: {
        static const char *const modes[] = {"rename", "keep", "delete", NULL};
        int k;
        for (k = 0; modes[k] && strcmp(v, modes[k]); k++)
            ;
        if (!modes[k])
            return usage_error(err, errsize, "--originals takes rename, keep or delete, not '%s'",
                               v);
        cli->originals = k; /* the order of RxOriginals */
        break;
    }
    case OPT_MAX_SIZE_RATIO:
        if (parse_double(v, 0.01, 100, &d))
            return usage_error(err, errsize,
                               "--max-size-ratio takes a number from 0.01 to 100, not '%s'", v);
        cli->max_size_ratio = d;
        break;
    case OPT_ACCEPT_TRUNCATED:
        cli->accept_truncated = 1;
        break;
    case OPT_SETTLE:
    case OPT_RESCAN:
        if (parse_double(v, id == OPT_SETTLE ? 0.1 : 0, 86400, &d))
            return usage_error(err, errsize, "--%s takes seconds from %s to 86400, not '%s'",
                               id == OPT_SETTLE ? "settle" : "rescan",
                               id == OPT_SETTLE ? "0.1" : "0", v);
        *(id == OPT_SETTLE ? &cli->settle : &cli->rescan) = d;
        break;
    case OPT_RESCAN_ONLY:
        cli->rescan_only = 1;
        break;
    case OPT_QUICK:
    case OPT_FULL:
        cli->verify_mode = id == OPT_QUICK ? RX_VERIFY_QUICK : RX_VERIFY_FULL;
        break;
    case OPT_CFR:
        s->cfr = 1;
        break;
    case OPT_FPS: {
        AVRational r;
        if (av_parse_video_rate(&r, v) < 0 || av_q2d(r) < 0.01 || av_q2d(r) > 240)
            return usage_error(err, errsize,
                               "--fps takes a rate from 0.01 to 240 such as 10, 30000/1001 or "
                               "29.97, not '%s'",
                               v);
        s->cfr = 1;
        s->fps_num = r.num;
        s->fps_den = r.den;
        break;
    }
    case OPT_IMAGES:
        if (!*v)
            return usage_error(err, errsize, "--images needs a LIST file or a GLOB pattern");
        cli->images = v;
        break;
    case OPT_FROM_CSV:
    case OPT_COLUMN:
    case OPT_ID_COLUMN:
    case OPT_FROM_LIST:
    case OPT_RESULTS:
        if (!*v)
            return usage_error(err, errsize, "an option needs a value, not ''");
        *(id == OPT_FROM_CSV    ? &cli->from_csv
          : id == OPT_COLUMN    ? &cli->column
          : id == OPT_ID_COLUMN ? &cli->id_column
          : id == OPT_FROM_LIST ? &cli->from_list
                                : &cli->results) = v;
        break;
    case OPT_NULL:
        cli->nul = 1;
        break;
    case OPT_SHARD: {
        char why[256];
        if (rx_shard_parse(&cli->shard, v, why, sizeof(why)) < 0)
            return usage_error(err, errsize, "%s", why);
        break;
    } break;
    case OPT_MEASURE:
        s->measure = 1;
        break;
    case OPT_MIN_SSIM:
    case OPT_TARGET_SSIM:
        /* Above 0.5 (a picture barely related to its source) and below 1
         * (no lossy encode reaches it, so every file would fail or probe
         * to the range's end). */
        if (parse_double(v, 0.5, 0.9999, &d))
            return usage_error(err, errsize, "--%s takes an SSIM from 0.5 to 0.9999, not '%s'",
                               id == OPT_MIN_SSIM ? "min-ssim" : "target-ssim", v);
        *(id == OPT_MIN_SSIM ? &s->min_ssim : &s->target_ssim) = d;
        break;
    default:
        return usage_error(err, errsize, "internal error: option %d", id);
    }
    return RX_CLI_OK;
}

/* "a, b or c" (last = " or ") from the names whose bit is set in mask. */
static void name_list(char *out, size_t size, unsigned mask, const char *prefix, const char *last,
                      const char *(*name)(size_t i), size_t n)
{
    size_t len = 0, left = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        left += (mask >> i) & 1u;
    for (size_t i = 0; i < n && len < size; i++) {
        if (!((mask >> i) & 1u))
            continue;
        left--;
        len += (size_t)snprintf(out + len, size - len, "%s%s%s", prefix, name(i),
                                left > 1    ? ", "
                                : left == 1 ? last
                                            : "");
    }
}

static const char *encoder_option_name(size_t i)
{
    return rx_encoder_option_name((RxEncOpt)i);
}

/* Options of one encoder given with another would be silently ignored:
 * refuse them, so a command line never means less than it says. Each
 * encoder's quality and speed ranges are checked here too, once the encoder
 * is known; and so are the audio and container choices. */
static RxCliStatus check_encoder_options(const RxCli *cli, char *err, size_t errsize)
{
    const RxSettings *s = &cli->settings;
    const RxEncoder *e = rx_encoder_find(s->video_encoder);
    char whose[96], takes[160];

    if (!e) /* rx_settings_set_encoder() took it: never */
        return usage_error(err, errsize, "--video-encoder %s is not one reencode drives",
                           s->video_encoder);
    for (size_t i = 0; i < RX_EO_COUNT; i++) {
        if (!((cli->encoder_opts >> i) & 1u) || (e->options & RX_EO_BIT(i)))
            continue;
        name_list(whose, sizeof(whose), encoders_taking((RxEncOpt)i), "", " or ", encoder_name,
                  n_encoders());
        name_list(takes, sizeof(takes), e->options, "--", " and ", encoder_option_name,
                  RX_EO_COUNT);
        return usage_error(err, errsize,
                           "--%s is a %s option; add --video-encoder to choose one (%s takes %s)",
                           rx_encoder_option_name((RxEncOpt)i), whose, s->video_encoder, takes);
    }
    if (s->crf > e->crf_max)
        return usage_error(err, errsize, "--crf takes a whole number from 0 to %d with %s, not %d",
                           e->crf_max, s->video_encoder, s->crf);
    if (s->preset > e->preset_max)
        return usage_error(err, errsize,
                           "--preset takes a whole number from 0 to %d with %s, not %d",
                           e->preset_max, s->video_encoder, s->preset);
    /* An encoder without a lossless mode (libsvtav1) refuses crf 0. */
    if (s->crf < e->crf_min)
        return usage_error(err, errsize, "--crf %d (lossless) needs %s; %s takes %d to %d", s->crf,
                           rx_encoder_at(0)->name, s->video_encoder, e->crf_min, e->crf_max);
    /* With a constant rate the output's time starts at the first video
     * frame; copied packets keep the input's and would drift from it. */
    if (s->audio_copy && s->cfr)
        return usage_error(err, errsize,
                           "--audio-codec copy cannot go with --cfr or --fps (the copied audio "
                           "would keep the input's times); use --audio-codec opus");
    if (s->audio_copy && cli->opus_only)
        return usage_error(err, errsize,
                           "--%s is an Opus option; --audio-codec copy keeps the input's audio as "
                           "it is",
                           cli->opus_only);
    if (cli->output && s->container != RX_CONTAINER_AUTO &&
        rx_container_of_name(cli->output) != RX_CONTAINER_AUTO &&
        (int)rx_container_of_name(cli->output) != s->container)
        return usage_error(err, errsize, "-o '%s' does not end in %s, which --container %s writes",
                           cli->output, rx_container_ext((RxContainer)s->container),
                           s->container == RX_CONTAINER_MKV ? "mkv" : "webm");
    return RX_CLI_OK;
}

/* A manifest's options make sense only together. */
static RxCliStatus check_manifest_options(const RxCli *cli, char *err, size_t errsize)
{
    if (cli->from_csv && cli->from_list)
        return usage_error(err, errsize, "give --from-csv or --from-list, not both");
    if (cli->from_csv && !cli->column)
        return usage_error(err, errsize, "--from-csv needs --column NAME (the column of paths)");
    if (!cli->from_csv && (cli->column || cli->id_column))
        return usage_error(err, errsize, "--%s goes with --from-csv",
                           cli->column ? "column" : "id-column");
    if (cli->nul && !cli->from_list)
        return usage_error(err, errsize, "-0 goes with --from-list");
    if (cli->results && !cli->from_csv && !cli->from_list)
        return usage_error(err, errsize, "--results needs --from-csv or --from-list");
    if (cli->results && cli->dry_run)
        return usage_error(err, errsize, "--results needs a real run, not --dry-run");
    /* Each shard knows only its own files: N shards would write N partial
     * results over one another. */
    if (cli->results && (cli->shard.count || cli->shard.from_env))
        return usage_error(err, errsize,
                           "--results cannot go with --shard (each shard sees only its files; "
                           "use 'status --json' on the merged journals)");
    if (!cli->n_roots && !cli->from_csv && !cli->from_list)
        return usage_error(err, errsize, "%s needs a DIR, --from-csv FILE or --from-list FILE",
                           cli->cmd == RX_CMD_LIST ? "list" : "run");
    return RX_CLI_OK;
}

static unsigned command_bit(RxCommand cmd)
{
    switch (cmd) {
    case RX_CMD_ENCODE:
        return FOR_ENCODE;
    case RX_CMD_LIST:
        return FOR_LIST;
    case RX_CMD_RUN:
        return FOR_RUN;
    case RX_CMD_VERIFY:
        return FOR_VERIFY;
    case RX_CMD_WATCH:
        return FOR_WATCH;
    default:
        return FOR_STATUS;
    }
}

static const char *command_name(RxCommand cmd)
{
    switch (cmd) {
    case RX_CMD_ENCODE:
        return "encode";
    case RX_CMD_LIST:
        return "list";
    case RX_CMD_RUN:
        return "run";
    case RX_CMD_JOURNAL_REPAIR:
        return "journal repair";
    case RX_CMD_VERIFY:
        return "verify";
    case RX_CMD_WATCH:
        return "watch";
    default:
        return "status";
    }
}

static RxCliStatus parse_operand(RxCli *cli, const char *a, char *err, size_t errsize)
{
    if (cli->cmd == RX_CMD_ENCODE) {
        if (cli->input)
            return usage_error(err, errsize, "unexpected argument '%s' (one INPUT per encode)", a);
        cli->input = a;
    } else {
        cli->roots[cli->n_roots++] = a;
    }
    return RX_CLI_OK;
}

static RxCliStatus parse_command(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize)
{
    unsigned bit = command_bit(cli->cmd);
    int only_operands = 0;

    int first = cli->cmd == RX_CMD_JOURNAL_REPAIR ? 3 : 2;

    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *name, *value = NULL;
        size_t k, namelen;
        RxCliStatus st;

        if (only_operands || a[0] != '-' || !a[1]) {
            if ((st = parse_operand(cli, a, err, errsize)) != RX_CLI_OK)
                return st;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_operands = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            name = a + 2;
            namelen = eq ? (size_t)(eq - name) : strlen(name);
            value = eq ? eq + 1 : NULL;
        } else {
            if (a[2])
                return usage_error(err, errsize, "unknown option '%s' (short options stand alone)",
                                   a);
            name = a + 1;
            namelen = 1;
        }
        for (k = 0; k < N_OPTIONS; k++) {
            if (namelen == 1 && a[1] != '-' ? options[k].short_name == name[0]
                                            : namelen == strlen(options[k].name) &&
                                                  !strncmp(name, options[k].name, namelen))
                break;
        }
        if (k == N_OPTIONS || !(options[k].cmds & bit))
            return usage_error(err, errsize,
                               "unknown option '%s' for %s (see 'reencode %s --help')", a,
                               command_name(cli->cmd), command_name(cli->cmd));
        if (!options[k].has_value && value)
            return usage_error(err, errsize, "option '--%s' takes no value", options[k].name);
        if (options[k].has_value && !value) {
            if (i + 1 >= argc)
                return usage_error(err, errsize, "option '%s' needs a value", a);
            value = argv[++i];
        }
        if ((st = apply(cli, options[k].id, value, err, errsize)) != RX_CLI_OK)
            return st;
        if (cli->cmd == RX_CMD_HELP)
            return RX_CLI_OK;
    }
    if (cli->cmd == RX_CMD_ENCODE && cli->images) {
        if (cli->input)
            return usage_error(err, errsize, "encode takes --images or an INPUT, not both");
        if (!cli->settings.fps_num)
            return usage_error(err, errsize, "--images needs --fps RATE (images per second)");
        if (!cli->output)
            return usage_error(err, errsize, "--images needs -o OUTPUT");
    } else if (cli->cmd == RX_CMD_ENCODE && !cli->input) {
        return usage_error(err, errsize, "encode needs an INPUT file");
    }
    /* Elided frames would shift every later frame number. */
    if (cli->settings.cfr && cli->settings.dedup == 1)
        return usage_error(err, errsize,
                           "--dedup on cannot go with --cfr or --fps: dropped frames would break "
                           "the frame numbering (leave --dedup auto)");
    if (cli->cmd == RX_CMD_LIST || cli->cmd == RX_CMD_RUN) {
        RxCliStatus st = check_manifest_options(cli, err, errsize);
        if (st != RX_CLI_OK)
            return st;
    }
    if ((cli->cmd == RX_CMD_STATUS || cli->cmd == RX_CMD_JOURNAL_REPAIR) &&
        (cli->n_roots > 1 || (!cli->n_roots && !cli->journal)))
        return usage_error(err, errsize, "%s takes one DIR or --journal PATH",
                           command_name(cli->cmd));
    if (cli->cmd == RX_CMD_WATCH && !cli->n_roots)
        return usage_error(err, errsize, "watch needs a DIR to watch");
    if (cli->cmd == RX_CMD_VERIFY && !cli->n_roots && !cli->journal)
        return usage_error(err, errsize, "verify takes a DIR, --journal PATH, or FILEs");
    if (cli->cmd == RX_CMD_ENCODE || cli->cmd == RX_CMD_RUN || cli->cmd == RX_CMD_WATCH) {
        RxCliStatus st = check_encoder_options(cli, err, errsize);
        if (st != RX_CLI_OK)
            return st;
        if (cli->crf_given && cli->settings.target_ssim > 0)
            return usage_error(err, errsize,
                               "--crf and --target-ssim exclude each other (the target "
                               "chooses the crf)");
        /* Not built: probe windows retimed to a constant rate start at their
         * own time 0, so they would be compared with the wrong source frames. */
        if (cli->settings.cfr && cli->settings.target_ssim > 0)
            return usage_error(err, errsize,
                               "--target-ssim cannot go with --cfr or --fps yet: choose a --crf");
        if (cli->images &&
            (cli->settings.measure || cli->settings.min_ssim > 0 || cli->settings.target_ssim > 0))
            return usage_error(err, errsize,
                               "--measure, --min-ssim and --target-ssim need a source video, "
                               "not --images");
    }
    if (cli->cmd == RX_CMD_RUN && cli->dry_run) /* --dry-run is the listing */
        cli->cmd = RX_CMD_LIST;
    return RX_CLI_OK;
}

RxCliStatus rx_cli_parse(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize)
{
    const char *cmd;

    memset(cli, 0, sizeof(*cli));
    rx_settings_default(&cli->settings);
    cli->log_level = RX_LOG_INFO;
    cli->progress = -1;
    cli->max_size_ratio = RX_BATCH_DEFAULT_SIZE_RATIO;
    cli->verify_mode = RX_VERIFY_FULL;
    cli->settle = RX_WATCH_DEFAULT_SETTLE;
    cli->rescan = RX_WATCH_DEFAULT_RESCAN;
    if (errsize)
        err[0] = '\0';

    if (argc < 2)
        return usage_error(err, errsize, "no command given (try 'reencode --help')");
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        cli->cmd = RX_CMD_HELP;
        cli->help_for = RX_CMD_NONE;
        if (argc > 2 && !strcmp(argv[2], "encode"))
            cli->help_for = RX_CMD_ENCODE;
        else if (argc > 2 && !strcmp(argv[2], "list"))
            cli->help_for = RX_CMD_LIST;
        else if (argc > 2 && !strcmp(argv[2], "run"))
            cli->help_for = RX_CMD_RUN;
        else if (argc > 2 && (!strcmp(argv[2], "status") || !strcmp(argv[2], "journal")))
            cli->help_for = RX_CMD_STATUS;
        else if (argc > 2 && !strcmp(argv[2], "--man"))
            cli->help_format = "man";
        else if (argc > 2 && !strcmp(argv[2], "--complete")) {
            if (argc < 4 || (strcmp(argv[3], "bash") && strcmp(argv[3], "zsh")))
                return usage_error(err, errsize, "--complete takes bash or zsh");
            cli->help_format = argv[3];
        } else if (argc > 2 && !strcmp(argv[2], "verify"))
            cli->help_for = RX_CMD_VERIFY;
        else if (argc > 2 && !strcmp(argv[2], "watch"))
            cli->help_for = RX_CMD_WATCH;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        cli->cmd = RX_CMD_VERSION;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "encode"))
        cli->cmd = RX_CMD_ENCODE;
    else if (!strcmp(cmd, "list"))
        cli->cmd = RX_CMD_LIST;
    else if (!strcmp(cmd, "run"))
        cli->cmd = RX_CMD_RUN;
    else if (!strcmp(cmd, "status"))
        cli->cmd = RX_CMD_STATUS;
    else if (!strcmp(cmd, "verify"))
        cli->cmd = RX_CMD_VERIFY;
    else if (!strcmp(cmd, "watch"))
        cli->cmd = RX_CMD_WATCH;
    else if (!strcmp(cmd, "journal") && argc > 2 && !strcmp(argv[2], "repair"))
        cli->cmd = RX_CMD_JOURNAL_REPAIR;
    else if (!strcmp(cmd, "journal"))
        return usage_error(err, errsize, "journal takes a subcommand: repair");
    else
        return usage_error(err, errsize, "unknown command '%s' (try 'reencode --help')", cmd);

    /* Operand and --match counts are bounded by argc: allocate once. */
    cli->roots = calloc((size_t)argc, sizeof(*cli->roots));
    cli->matches = calloc((size_t)argc, sizeof(*cli->matches));
    if (!cli->roots || !cli->matches)
        return usage_error(err, errsize, "out of memory");
    return parse_command(argc, argv, cli, err, errsize);
}

void rx_cli_free(RxCli *cli)
{
    free(cli->roots);
    free(cli->matches);
    cli->roots = NULL;
    cli->matches = NULL;
    cli->n_roots = cli->n_matches = 0;
}

int rx_cli_option(RxCommand cmd, size_t i, RxCliOption *out)
{
    unsigned bit = command_bit(cmd);

    for (size_t k = 0; k < N_OPTIONS; k++) {
        if (!(options[k].cmds & bit) || i--)
            continue;
        out->name = options[k].name;
        out->short_name = options[k].short_name;
        out->has_value = options[k].has_value;
        return 0;
    }
    return -1;
}
