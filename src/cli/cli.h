/*
 * cli.h - command line to options.
 *
 * The parser never prints and never exits: it returns RX_CLI_OK or
 * RX_CLI_USAGE with a one-line message, so it can be unit-tested and fuzzed.
 * Strings in RxCli are borrowed from argv; the arrays of roots and match
 * expressions are owned by the RxCli (rx_cli_free()).
 */
#ifndef RX_CLI_H
#define RX_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "reencode/log.h"
#include "reencode/settings.h"
#include "reencode/shard.h"

typedef enum RxCommand {
    RX_CMD_NONE = 0,
    RX_CMD_HELP,           /* reencode --help, or COMMAND --help */
    RX_CMD_VERSION,        /* reencode --version */
    RX_CMD_ENCODE,         /* reencode encode INPUT [-o OUTPUT] */
    RX_CMD_LIST,           /* reencode list DIR... (also run --dry-run); or a manifest */
    RX_CMD_RUN,            /* reencode run DIR... ; or a manifest */
    RX_CMD_STATUS,         /* reencode status [DIR] [--journal PATH] */
    RX_CMD_JOURNAL_REPAIR, /* reencode journal repair [DIR] [--journal PATH] */
    RX_CMD_VERIFY,         /* reencode verify [DIR | FILE...] [--journal PATH] */
    RX_CMD_WATCH,          /* reencode watch DIR... : run, again as files appear */
} RxCommand;

typedef enum RxCliStatus {
    RX_CLI_OK = 0,
    RX_CLI_USAGE = 2, /* also the process exit code for usage errors */
} RxCliStatus;

typedef struct RxCli {
    RxCommand cmd;
    RxCommand help_for; /* with RX_CMD_HELP: the command asked about */

    /* encode */
    const char *input;
    const char *output;
    const char *images;  /* --images LIST|GLOB: encode stills instead of INPUT */
    RxSettings settings; /* encode and run */
    /* Encoder options seen, checked once the whole line is read (the
     * encoder may be named last): explicit values survive the encoder's
     * defaults, and options of the other encoder are refused. */
    int crf_given, preset_given, cpu_used_given;
    unsigned encoder_opts; /* bit i: RxEncOpt i given (encoders/encoder.h) */
    const char *opus_only; /* first Opus-only option given, e.g. "audio-bitrate" */

    /* list and run */
    const char **roots; /* DIR operands, in order */
    size_t n_roots;
    const char **matches; /* --match expressions, in order */
    size_t n_matches;
    int all;                /* --all: every file with a video stream */
    const char *extensions; /* --ext, NULL = "mp4" */
    int follow_symlinks;
    int one_file_system;
    int json;
    int dry_run;

    /* run (and status / journal repair: the journal) */
    int jobs;            /* -j; 0 = derived from the cores */
    const char *journal; /* --journal PATH */
    int wait_lock;       /* --wait */
    int retry_failed;
    int no_supervisor; /* --no-supervisor: run's encodes in this process */
    int originals;     /* RxOriginals */
    double max_size_ratio;
    const char *output_dir;
    int accept_truncated;
    const char *log_path;   /* --log FILE */
    const char *stats_path; /* --stats FILE */
    RxShard shard;          /* --shard K/N | auto[/N] (list, run, status, journal repair) */

    /* watch (and run's options above) */
    double settle;   /* --settle SECONDS [30] */
    double rescan;   /* --rescan SECONDS [300]; 0 = only on file system events */
    int rescan_only; /* --rescan-only: no inotify */

    int verify_mode; /* verify: RX_VERIFY_FULL (default) or --quick */
    /* list and run: a manifest (manifest.h) */
    const char *from_csv;  /* --from-csv FILE ("-" = stdin) */
    const char *column;    /* --column NAME */
    const char *id_column; /* --id-column NAME */
    const char *from_list; /* --from-list FILE ("-" = stdin) */
    int nul;               /* -0: the list is NUL-separated */
    const char *results;   /* run --results FILE */

    RxLogLevel log_level;
    int progress; /* -1 auto (on a terminal), 0 off, 1 on */

    /* Hidden, for packaging: "help --man" / "help --complete bash|zsh" ->
     * "man", "bash", "zsh" (docs/reencode.1, scripts/completions/). */
    const char *help_format;
} RxCli;

/* Parse argv. On RX_CLI_USAGE err holds one line. Call rx_cli_free() after
 * either result. */
RxCliStatus rx_cli_parse(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize);

void rx_cli_free(RxCli *cli);

/* Help text for a command (RX_CMD_NONE: the overview), as NULL-terminated
 * pieces to print one after the other (ISO C caps a string literal at 4095
 * bytes). Static storage. */
const char *const *rx_cli_help(RxCommand cmd);

/* One row of the option table, for documents generated from it (helpdoc.h). */
typedef struct RxCliOption {
    const char *name; /* long name, without "--" */
    char short_name;  /* 0: none */
    int has_value;
} RxCliOption;

/* The i-th option (from 0, in the table's order) that cmd accepts: 0 and
 * *out filled, or -1 past the last. */
int rx_cli_option(RxCommand cmd, size_t i, RxCliOption *out);

/* Parse a bitrate: "32000", "32k", "1.5M". Returns 0 or AVERROR(EINVAL). */
int rx_cli_parse_bitrate(const char *s, int64_t *out);

#endif
