/*
 * check_helpdoc.c - the option table as rx_cli_option() shows it agrees with
 * the parser, and the generated documents carry every option.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "checkrun.h"
#include "cli/cli.h"
#include "cli/helpdoc.h"

static RxCliStatus parse(RxCli *cli, int argc, char **argv)
{
    char err[256];

    return rx_cli_parse(argc, argv, cli, err, sizeof(err));
}

/* Every option listed for run is accepted by run; those not listed for
 * encode are refused by encode. */
START_TEST(options_listed_are_the_parsers)
{
    RxCliOption o, e;
    size_t n_run = 0, refused = 0;

    for (size_t i = 0; rx_cli_option(RX_CMD_RUN, i, &o) == 0; i++, n_run++) {
        char flag[64];
        char *argv[] = {"reencode", "run", flag, "dir", NULL};
        char *enc[] = {"reencode", "encode", flag, "x.mp4", NULL};
        int in_encode = 0;
        RxCli cli;

        snprintf(flag, sizeof(flag), "--%s", o.name);
        ck_assert_ptr_nonnull(o.name);
        /* -0 only means something with a list: give it one. */
        argv[3] = strcmp(o.name, "null") ? "dir" : "--from-list=l";
        if (!o.has_value) {
            ck_assert_msg(parse(&cli, 4, argv) == RX_CLI_OK, "run refuses %s", flag);
            rx_cli_free(&cli);
        }
        for (size_t k = 0; rx_cli_option(RX_CMD_ENCODE, k, &e) == 0; k++)
            in_encode |= !strcmp(e.name, o.name);
        if (!in_encode) {
            ck_assert_msg(parse(&cli, 4, enc) == RX_CLI_USAGE, "encode takes %s", flag);
            rx_cli_free(&cli);
            refused++;
        }
    }
    ck_assert_uint_ge(n_run, 20);
    ck_assert_uint_ge(refused, 5); /* -j, --journal, --originals... */
    ck_assert_int_eq(rx_cli_option(RX_CMD_RUN, n_run, &o), -1);
}
END_TEST

START_TEST(hidden_help_formats)
{
    char *man[] = {"reencode", "help", "--man", NULL};
    char *zsh[] = {"reencode", "help", "--complete", "zsh", NULL};
    char *fish[] = {"reencode", "help", "--complete", "fish", NULL};
    char *none[] = {"reencode", "help", "--complete", NULL};
    RxCli cli;

    ck_assert_int_eq(parse(&cli, 3, man), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_HELP);
    ck_assert_str_eq(cli.help_format, "man");
    rx_cli_free(&cli);
    ck_assert_int_eq(parse(&cli, 4, zsh), RX_CLI_OK);
    ck_assert_str_eq(cli.help_format, "zsh");
    ck_assert_int_eq(rx_helpdoc_format(cli.help_format), RX_HELPDOC_ZSH);
    rx_cli_free(&cli);
    ck_assert_int_eq(parse(&cli, 4, fish), RX_CLI_USAGE);
    rx_cli_free(&cli);
    ck_assert_int_eq(parse(&cli, 3, none), RX_CLI_USAGE);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_helpdoc_format("fish"), -1);
    ck_assert_int_eq(rx_helpdoc_format("bash"), RX_HELPDOC_BASH);
}
END_TEST

/* Each document names every option of every command, as its syntax has it. */
START_TEST(documents_carry_every_option)
{
    static const RxCommand cmds[] = {RX_CMD_ENCODE, RX_CMD_LIST,           RX_CMD_RUN,
                                     RX_CMD_STATUS, RX_CMD_JOURNAL_REPAIR, RX_CMD_VERIFY};

    for (int f = RX_HELPDOC_MAN; f <= RX_HELPDOC_ZSH; f++) {
        AVBPrint bp;

        av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
        rx_helpdoc_write(&bp, (RxHelpdocFormat)f);
        ck_assert(av_bprint_is_complete(&bp));
        for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
            RxCliOption o;
            for (size_t i = 0; rx_cli_option(cmds[c], i, &o) == 0; i++) {
                char name[64], want[128];
                size_t n = 0;

                snprintf(name, sizeof(name), "--%s", o.name);
                for (const char *p = name; *p && n + 3 < sizeof(want); p++) {
                    if (*p == '-' && f == RX_HELPDOC_MAN) /* roff's minus sign: "\-" */
                        want[n++] = '\\';
                    want[n++] = *p;
                }
                want[n] = '\0';
                ck_assert_msg(strstr(bp.str, want), "format %d lacks %s", f, want);
            }
        }
        av_bprint_finalize(&bp, NULL);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("helpdoc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, options_listed_are_the_parsers);
    tcase_add_test(tc, hidden_help_formats);
    tcase_add_test(tc, documents_carry_every_option);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
