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

#include "reencode/cli.h"

static const char help_main[] =
    "usage: reencode COMMAND [OPTIONS] ...\n"
    "\n"
    "Re-encode screen recordings (Xbox Game Bar and the like: near-lossless H.264\n"
    "MP4) to AV1 video + Opus audio in WebM, tuned for screen content: 50-170x\n"
    "smaller with slide text still sharp.\n"
    "\n"
    "Commands:\n"
    "  encode INPUT [-o OUTPUT]   re-encode one file\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text; 'reencode COMMAND --help' for a command\n"
    "  -V, --version   print version and library versions\n"
    "\n"
    "Exit codes: 0 success, 1 the work failed, 2 usage error, 130/143 interrupted\n"
    "by SIGINT/SIGTERM.\n";

static const char help_encode[] =
    "usage: reencode encode [OPTIONS] INPUT [-o OUTPUT]\n"
    "\n"
    "Re-encode INPUT to AV1 + Opus WebM, in process. The output is written to\n"
    "OUTPUT.part and renamed to OUTPUT only once complete and synced to disk: an\n"
    "error, Ctrl-C or a crash never leaves a half-written file under OUTPUT. The\n"
    "input is only read. An existing OUTPUT is never replaced without --overwrite.\n"
    "\n"
    "Output:\n"
    "  -o, --output FILE          default: INPUT with its extension replaced by .webm\n"
    "      --overwrite            replace an existing OUTPUT\n"
    "\n"
    "Video (libaom AV1; defaults are the reference screen-content settings):\n"
    "      --crf N                constant quality 0-63, lower is better [32]\n"
    "      --cpu-used N           libaom speed 0-10, higher is faster [5]\n"
    "      --usage MODE           realtime | good | allintra [realtime]\n"
    "      --lag-in-frames N      look-ahead; no effect with realtime [32]\n"
    "      --aom-params K=V:...   raw libaom options, applied last (so they win);\n"
    "                             default: row-mt=1:tune-content=screen:deltaq-mode=0:\n"
    "                             enable-chroma-deltaq=1:enable-qm=1:quant-b-adapt=1:\n"
    "                             sharpness=3:arnr-strength=1:arnr-maxframes=4:\n"
    "                             disable-trellis-quant=0   ('' for none)\n"
    "      --keyint SECONDS       a keyframe at least this often, by time [10];\n"
    "                             0 leaves it to the encoder (one per file)\n"
    "      --threads N            thread budget of the job, decoder and encoder\n"
    "                             each capped by it; 0 = all cores [0]\n"
    "\n"
    "Audio (Opus, one track per input audio track, 48 kHz):\n"
    "      --audio-bitrate RATE   per track, e.g. 32k, 64000 [32k]\n"
    "      --opus-application A   voip | audio | lowdelay [voip]\n"
    "\n"
    "Metadata: title = the input's file name without extension; the recorder's\n"
    "artist tag 'Microsoft Game DVR' is dropped; the recorder's own title (the\n"
    "captured application) is kept as RECORDED_TITLE; creation time is kept.\n"
    "\n"
    "Messages:\n"
    "  -q, --quiet                errors only, no progress\n"
    "  -v, --verbose              more detail, libav's own messages too\n"
    "      --progress / --no-progress   force the progress line on or off\n"
    "                             (default: on when stderr is a terminal)\n"
    "\n"
    "Exit codes: 0 written, 1 failed (one line on stderr names the file and the\n"
    "step), 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).\n"
    "\n"
    "Example:\n"
    "  reencode encode --crf 36 'lecture 1.mp4' -o lecture1.webm\n";

const char *rx_cli_help(RxCommand cmd)
{
    return cmd == RX_CMD_ENCODE ? help_encode : help_main;
}

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...) RX_PRINTF(3, 4);

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
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

/* Options of `encode` that take a value. */
enum {
    OPT_OUTPUT = 1,
    OPT_CRF,
    OPT_CPU_USED,
    OPT_USAGE,
    OPT_LAG,
    OPT_AOM_PARAMS,
    OPT_KEYINT,
    OPT_THREADS,
    OPT_AUDIO_BITRATE,
    OPT_OPUS_APP,
};

static const struct {
    const char *name;
    char short_name;
    int id;
} value_opts[] = {
    {"output", 'o', OPT_OUTPUT},
    {"crf", 0, OPT_CRF},
    {"cpu-used", 0, OPT_CPU_USED},
    {"usage", 0, OPT_USAGE},
    {"lag-in-frames", 0, OPT_LAG},
    {"aom-params", 0, OPT_AOM_PARAMS},
    {"keyint", 0, OPT_KEYINT},
    {"threads", 0, OPT_THREADS},
    {"audio-bitrate", 0, OPT_AUDIO_BITRATE},
    {"opus-application", 0, OPT_OPUS_APP},
};

static int one_of(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(v, *list))
            return 1;
    return 0;
}

static RxCliStatus set_value(RxCli *cli, int id, const char *name, const char *v, char *err,
                             size_t errsize)
{
    static const char *const usages[] = {"realtime", "good", "allintra", NULL};
    static const char *const apps[] = {"voip", "audio", "lowdelay", NULL};
    RxSettings *s = &cli->settings;
    long n;
    double d;

    switch (id) {
    case OPT_OUTPUT:
        if (!*v)
            return usage_error(err, errsize, "--%s needs a file name", name);
        cli->output = v;
        return RX_CLI_OK;
    case OPT_CRF:
        if (parse_int(v, 0, 63, &n))
            return usage_error(err, errsize, "--crf takes a whole number from 0 to 63, not '%s'",
                               v);
        s->crf = (int)n;
        return RX_CLI_OK;
    case OPT_CPU_USED:
        if (parse_int(v, 0, 10, &n))
            return usage_error(err, errsize,
                               "--cpu-used takes a whole number from 0 to 10, not '%s'", v);
        s->cpu_used = (int)n;
        return RX_CLI_OK;
    case OPT_USAGE:
        if (!one_of(v, usages))
            return usage_error(err, errsize, "--usage takes realtime, good or allintra, not '%s'",
                               v);
        rx_settings_set_str(s->usage, sizeof(s->usage), v);
        return RX_CLI_OK;
    case OPT_LAG:
        if (parse_int(v, 0, 70, &n))
            return usage_error(err, errsize,
                               "--lag-in-frames takes a whole number from 0 to 70, not '%s'", v);
        s->lag_in_frames = (int)n;
        return RX_CLI_OK;
    case OPT_AOM_PARAMS:
        if (rx_settings_set_str(s->aom_params, sizeof(s->aom_params), v) < 0)
            return usage_error(err, errsize, "--aom-params is too long (%s)", "max 511 bytes");
        return RX_CLI_OK;
    case OPT_KEYINT:
        if (parse_double(v, 0, 3600, &d))
            return usage_error(err, errsize, "--keyint takes seconds from 0 to 3600, not '%s'", v);
        s->keyint_seconds = d;
        return RX_CLI_OK;
    case OPT_THREADS:
        if (parse_int(v, 0, 64, &n))
            return usage_error(err, errsize,
                               "--threads takes a whole number from 0 to 64, not '%s'", v);
        s->threads = (int)n;
        return RX_CLI_OK;
    case OPT_AUDIO_BITRATE:
        if (rx_cli_parse_bitrate(v, &s->audio_bitrate) < 0)
            return usage_error(err, errsize,
                               "--audio-bitrate takes a rate such as 32k or 64000, not '%s'", v);
        return RX_CLI_OK;
    case OPT_OPUS_APP:
        if (!one_of(v, apps))
            return usage_error(err, errsize,
                               "--opus-application takes voip, audio or lowdelay, not '%s'", v);
        rx_settings_set_str(s->opus_application, sizeof(s->opus_application), v);
        return RX_CLI_OK;
    }
    return usage_error(err, errsize, "internal error parsing '%s'", name);
}

static RxCliStatus parse_encode(int argc, char *const *argv, int i, RxCli *cli, char *err,
                                size_t errsize)
{
    int only_operands = 0;

    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *name = NULL, *value = NULL;
        char short_buf[2] = {0};
        size_t k, namelen = 0;

        if (only_operands || a[0] != '-' || !a[1]) {
            if (cli->input)
                return usage_error(err, errsize, "unexpected argument '%s' (one INPUT per encode)",
                                   a);
            cli->input = a;
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
            short_buf[0] = a[1];
            name = short_buf;
            namelen = 1;
        }

#define IS(lit) (namelen == sizeof(lit) - 1 && !strncmp(name, lit, namelen))
        if (IS("help") || IS("h")) {
            cli->cmd = RX_CMD_HELP;
            cli->help_for = RX_CMD_ENCODE;
            return RX_CLI_OK;
        }
        if (IS("overwrite") || IS("quiet") || IS("q") || IS("verbose") || IS("v") ||
            IS("progress") || IS("no-progress")) {
            if (value)
                return usage_error(err, errsize, "option '%s' takes no value", a);
            if (IS("overwrite"))
                cli->settings.overwrite = 1;
            else if (IS("quiet") || IS("q"))
                cli->log_level = RX_LOG_ERROR, cli->progress = 0;
            else if (IS("verbose") || IS("v"))
                cli->log_level = RX_LOG_DEBUG;
            else
                cli->progress = IS("progress");
            continue;
        }
        for (k = 0; k < sizeof(value_opts) / sizeof(value_opts[0]); k++) {
            if ((namelen == 1 && value_opts[k].short_name == name[0]) ||
                (namelen == strlen(value_opts[k].name) &&
                 !strncmp(name, value_opts[k].name, namelen)))
                break;
        }
#undef IS
        if (k == sizeof(value_opts) / sizeof(value_opts[0]))
            return usage_error(err, errsize, "unknown option '%s' (see 'reencode encode --help')",
                               a);
        if (!value) {
            if (i + 1 >= argc)
                return usage_error(err, errsize, "option '%s' needs a value", a);
            value = argv[++i];
        }
        if (set_value(cli, value_opts[k].id, value_opts[k].name, value, err, errsize))
            return RX_CLI_USAGE;
    }
    if (!cli->input)
        return usage_error(err, errsize, "%s", "encode needs an INPUT file");
    return RX_CLI_OK;
}

RxCliStatus rx_cli_parse(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize)
{
    const char *cmd;

    memset(cli, 0, sizeof(*cli));
    rx_settings_default(&cli->settings);
    cli->log_level = RX_LOG_INFO;
    cli->progress = -1;
    if (errsize)
        err[0] = '\0';

    if (argc < 2)
        return usage_error(err, errsize, "%s", "no command given (try 'reencode --help')");
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        cli->cmd = RX_CMD_HELP;
        cli->help_for = RX_CMD_NONE;
        if (argc > 2 && !strcmp(argv[2], "encode"))
            cli->help_for = RX_CMD_ENCODE;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        cli->cmd = RX_CMD_VERSION;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "encode")) {
        cli->cmd = RX_CMD_ENCODE;
        return parse_encode(argc, argv, 2, cli, err, errsize);
    }
    return usage_error(err, errsize, "unknown command '%s' (try 'reencode --help')", cmd);
}
