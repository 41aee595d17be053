/*
 * fuzz_cli.c - parse arbitrary command lines.
 *
 * Input: the arguments after the program name, separated by NUL
 * ("run\0-j\0" "2\0DIR"); argv[0] is "reencode", an empty input gives no
 * more, and at most 64 arguments are taken. Each argument gets its own
 * allocation of exactly its size, so ASan catches a read past any of them.
 * Seeds: tests/fuzz/corpus/fuzz_cli.
 *
 * Properties checked besides memory safety (cli.h):
 * - the status is RX_CLI_OK or RX_CLI_USAGE, the latter with a one-line
 *   message without control characters (it quotes arguments); the result
 *   does not depend on the size of the message buffer (a small one holds a
 *   prefix of the message, a zero-sized one is never written);
 * - on RX_CLI_OK, roots and --match values are borrowed from argv and
 *   counted within argc, and settings are within their documented ranges;
 * - every command has a help text of NULL-terminated pieces, each under
 *   ISO C's 4095-byte string-literal limit.
 * What main does next with --match values (compile them) is done too.
 */
#include <string.h>

#include "fuzz.h"
#include "reencode/filter.h"
#include "cli/cli.h"

#define MAX_ARGS 64

/* p points into one of the argument strings. */
static int in_argv(const char *p, char *const *argv, int argc)
{
    for (int i = 0; i < argc; i++)
        if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
            return 1;
    return 0;
}

/* One line that no argument can break or use to drive the terminal: no C0
 * control, DEL or C1 control (UTF-8 c2 80..c2 9f). */
static void check_line(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
        FUZZ_CHECK(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
    }
}

static void check_help(RxCommand cmd)
{
    const char *const *help = rx_cli_help(cmd);
    size_t k;

    FUZZ_CHECK(help && help[0]);
    for (k = 0; help[k] && k < 16; k++)
        FUZZ_CHECK(strlen(help[k]) > 0 && strlen(help[k]) <= 4095);
    FUZZ_CHECK(!help[k]);
}

static void check_ok(const RxCli *cli, char *const *argv, int argc)
{
    FUZZ_CHECK(cli->cmd >= RX_CMD_HELP && cli->cmd <= RX_CMD_WATCH);
    FUZZ_CHECK(cli->help_for >= RX_CMD_NONE && cli->help_for <= RX_CMD_WATCH);
    FUZZ_CHECK(cli->n_roots <= (size_t)argc && cli->n_matches <= (size_t)argc);
    for (size_t i = 0; i < cli->n_roots; i++)
        FUZZ_CHECK(cli->roots[i] && in_argv(cli->roots[i], argv, argc));
    for (size_t i = 0; i < cli->n_matches; i++)
        FUZZ_CHECK(cli->matches[i] && in_argv(cli->matches[i], argv, argc));
    FUZZ_CHECK(!cli->input || in_argv(cli->input, argv, argc));
    FUZZ_CHECK(!cli->output || in_argv(cli->output, argv, argc));
    FUZZ_CHECK(!cli->journal || in_argv(cli->journal, argv, argc));
    /* Something to work on: an INPUT or --images; DIRs or a manifest. */
    if (cli->cmd == RX_CMD_ENCODE)
        FUZZ_CHECK(!!cli->input != !!cli->images);
    if (cli->cmd == RX_CMD_LIST || cli->cmd == RX_CMD_RUN)
        FUZZ_CHECK(cli->n_roots >= 1 || cli->from_csv || cli->from_list);
    FUZZ_CHECK(cli->jobs >= 0 && cli->jobs <= 32);
    FUZZ_CHECK(cli->max_size_ratio >= 0.01 && cli->max_size_ratio <= 100);
    /* rav1e's quantizer goes to 255; every other encoder's crf to 63. */
    FUZZ_CHECK(cli->settings.crf >= 0 &&
               cli->settings.crf <= (strcmp(cli->settings.video_encoder, "librav1e") ? 63 : 255));
    FUZZ_CHECK(cli->settings.threads >= 0 && cli->settings.threads <= 64);
    FUZZ_CHECK(cli->settings.keyint_seconds == RX_KEYINT_AUTO ||
               (cli->settings.keyint_seconds >= 0 && cli->settings.keyint_seconds <= 3600));
    FUZZ_CHECK(cli->originals >= 0 && cli->originals <= 2);
}

/* main compiles the --match expressions right after parsing. */
static void compile_matches(const RxCli *cli)
{
    unsigned flags = cli->all ? RX_FILTER_ALL : 0;
    RxFilter *f = NULL;
    RxFilterError err;

    if (rx_filter_compile(&f, cli->matches, cli->n_matches, flags, &err) == 0)
        rx_filter_free(&f);
    FUZZ_CHECK(!f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 2], err[256], small[8], none[1] = {'x'};
    size_t off = 0, k;
    int argc = 0;
    RxCli cli, cli2;
    RxCliStatus st, st2;
    int64_t rate;

    argv[argc++] = strdup("reencode");
    while (size && argc <= MAX_ARGS) {
        const uint8_t *nul = memchr(data + off, '\0', size - off);
        size_t len = nul ? (size_t)(nul - (data + off)) : size - off;
        char *a = malloc(len + 1);

        FUZZ_CHECK(a);
        memcpy(a, data + off, len);
        a[len] = '\0';
        argv[argc++] = a;
        if (!nul)
            break;
        off += len + 1; /* after a final NUL comes one more, empty, argument */
    }
    argv[argc] = NULL;
    FUZZ_CHECK(argv[0]);

    st = rx_cli_parse(argc, argv, &cli, err, sizeof(err));
    FUZZ_CHECK(st == RX_CLI_OK || st == RX_CLI_USAGE);
    FUZZ_CHECK(FUZZ_TERMINATED(err));
    if (st == RX_CLI_USAGE) {
        FUZZ_CHECK(err[0]);
        check_line(err);
    } else {
        check_ok(&cli, argv, argc);
        check_help(cli.help_for);
        compile_matches(&cli);
    }

    /* The message buffer changes nothing but how much of it is kept. */
    st2 = rx_cli_parse(argc, argv, &cli2, small, sizeof(small));
    FUZZ_CHECK(st2 == st && FUZZ_TERMINATED(small));
    k = strlen(small);
    if (k && (unsigned char)small[k - 1] == 0xc2) /* a C1 control cut in half stays */
        k--;
    FUZZ_CHECK(!strncmp(small, err, k));
    rx_cli_free(&cli2);
    st2 = rx_cli_parse(argc, argv, &cli2, none, 0);
    FUZZ_CHECK(st2 == st && none[0] == 'x');
    rx_cli_free(&cli2);

    rx_cli_free(&cli);
    FUZZ_CHECK(!cli.roots && !cli.matches && !cli.n_roots && !cli.n_matches);
    rx_cli_free(&cli); /* twice is harmless */

    for (RxCommand c = RX_CMD_NONE; c <= RX_CMD_JOURNAL_REPAIR; c++)
        check_help(c);
    for (int i = 1; i < argc; i++)
        if (rx_cli_parse_bitrate(argv[i], &rate) == 0)
            FUZZ_CHECK(rate >= 500 && rate <= 10000000);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return 0;
}
