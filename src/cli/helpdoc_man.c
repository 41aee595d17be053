/*
 * helpdoc_man.c - reencode.1 from the help texts (helpdoc.h).
 */
#include "cli/helpdoc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/helpdoc_int.h"
#include "version.h"

/* ---- man page ---- */

/* Sections of the man page that no help text holds. */
static const char man_tail[] =
    ".SH ENVIRONMENT\n"
    ".TP\n"
    ".B NO_COLOR\n"
    "when set, progress and messages are never coloured.\n"
    ".SH FILES\n"
    ".TP\n"
    ".I DIR/.reencode/journal\n"
    "the checkpoint journal of a batch: one checksummed line per change of a file's state\n"
    "(a shard's:\n"
    ".IR journal.K\\-of\\-N ).\n"
    ".TP\n"
    ".I DIR/.reencode/reencode\\-YYYY\\-MM\\-DD.log\n"
    "the log of each run, beside the journal.\n"
    ".TP\n"
    ".I NAME.webm.part\n"
    "an output being written; renamed to\n"
    ".I NAME.webm\n"
    "(or\n"
    ".I NAME.mkv\n"
    "when the codecs need Matroska) once complete and synced.\n"
    ".TP\n"
    ".I NAME.mp4.reencoded\n"
    "an original whose output is committed (\\fB\\-\\-originals rename\\fR).\n"
    ".TP\n"
    ".I /usr/share/doc/reencode/\n"
    "the design notes: the journal format, match expressions, cluster recipes, benchmarks.\n"
    ".SH SEE ALSO\n"
    ".BR ffmpeg (1),\n"
    ".BR mediainfo (1)\n";

static void roff_text(AVBPrint *bp, const char *s, int len, int line_start)
{
    for (int i = 0; i < len; i++) {
        if (i == 0 && line_start && (s[i] == '.' || s[i] == '\''))
            av_bprintf(bp, "\\&");
        if (s[i] == '\\')
            av_bprintf(bp, "\\e");
        else if (s[i] == '-')
            av_bprintf(bp, "\\-");
        else
            av_bprint_chars(bp, s[i], 1);
    }
}

/* "-o, --output FILE", "reencode run [OPTIONS] DIR...": options and command
 * words bold, placeholders italic, punctuation plain. */
static void roff_term(AVBPrint *bp, const char *s, int len)
{
    static const char punct[] = " ,/[]|";

    for (int i = 0, j; i < len; i = j) {
        if (strchr(punct, s[i])) {
            roff_text(bp, s + i, 1, 0);
            j = i + 1;
            continue;
        }
        for (j = i; j < len && !strchr(punct, s[j]); j++)
            ;
        av_bprintf(bp, s[i] == '-' || islower((unsigned char)s[i]) ? "\\fB" : "\\fI");
        roff_text(bp, s + i, j - i, 0);
        av_bprintf(bp, "\\fR");
    }
}

typedef enum Mode { MODE_NONE, MODE_PROSE, MODE_ITEM, MODE_VERBATIM } Mode;

static void set_mode(AVBPrint *bp, Mode *mode, Mode to)
{
    if (*mode == to)
        return;
    if (*mode == MODE_VERBATIM)
        av_bprintf(bp, ".fi\n.RE\n");
    if (to == MODE_PROSE)
        av_bprintf(bp, ".PP\n");
    else if (to == MODE_VERBATIM)
        av_bprintf(bp, ".PP\n.RS 2\n.nf\n");
    *mode = to;
}

/* A line of an item's text; one ending in ':' keeps its line break, as in
 * "default: row-mt=1:...:deltaq-mode=0:" followed by more of the value. */
static void roff_item_text(AVBPrint *bp, const char *s, int len)
{
    roff_text(bp, s, len, 1);
    av_bprintf(bp, len && s[len - 1] == ':' ? "\n.br\n" : "\n");
}

static void man_commands(AVBPrint *bp);

/* One help text. In the overview (top) headings are sections (.SH), the
 * "Exit codes:" paragraph is EXIT STATUS, and each command's help follows
 * the "Commands:" list; elsewhere headings are bold lines. */
static void man_body(AVBPrint *bp, const char *text, int top)
{
    const char *p = text;
    Mode mode = MODE_NONE;
    int in_commands = 0;
    Line l;

    while (hd_read_line(&p, &l)) {
        const char *t;
        int term_len, text_len;

        if (!l.len) {
            set_mode(bp, &mode, MODE_NONE);
            continue;
        }
        if (hd_is_usage(&l))
            continue;
        if (top && in_commands && l.indent == 0) {
            set_mode(bp, &mode, MODE_NONE);
            man_commands(bp);
            in_commands = 0;
        }
        if (hd_is_heading(&l, p) && mode != MODE_PROSE) {
            set_mode(bp, &mode, MODE_NONE);
            if (top) {
                av_bprintf(bp, ".SH ");
                for (int i = 0; i + 1 < l.len; i++)
                    av_bprint_chars(bp, (char)toupper((unsigned char)l.s[i]), 1);
                av_bprintf(bp, "\n");
                in_commands = hd_starts(&l, "Commands:");
            } else {
                av_bprintf(bp, ".PP\n.B \"");
                roff_text(bp, l.s, l.len, 0);
                av_bprintf(bp, "\"\n");
            }
        } else if (hd_is_item(&l, top)) {
            set_mode(bp, &mode, MODE_ITEM);
            hd_split_item(&l, &term_len, &t, &text_len);
            av_bprintf(bp, ".TP\n");
            roff_term(bp, l.s, term_len);
            av_bprintf(bp, "\n");
            if (text_len)
                roff_item_text(bp, t, text_len);
        } else if (mode == MODE_ITEM && l.indent >= ITEM_TEXT_AT) {
            /* "libaom-av1: ...", "auto: ...": a case of its own, its own line. */
            int w =
                (int)strspn(l.s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
            if (w && w + 1 < l.len && l.s[w] == ':' && l.s[w + 1] == ' ')
                av_bprintf(bp, ".br\n");
            roff_item_text(bp, l.s, l.len);
        } else if (l.indent) {
            set_mode(bp, &mode, MODE_VERBATIM);
            av_bprintf(bp, "%*s", l.indent - 2, "");
            roff_text(bp, l.s, l.len, l.indent == 2);
            av_bprintf(bp, "\n");
        } else if (top && mode == MODE_NONE && hd_starts(&l, "Exit codes: ")) {
            av_bprintf(bp, ".SH \"EXIT STATUS\"\n");
            set_mode(bp, &mode, MODE_PROSE);
            roff_text(bp, l.s + 12, l.len - 12, 1);
            av_bprintf(bp, "\n");
        } else {
            set_mode(bp, &mode, MODE_PROSE);
            roff_text(bp, l.s, l.len, 1);
            av_bprintf(bp, "\n");
        }
    }
    set_mode(bp, &mode, MODE_NONE);
    if (in_commands)
        man_commands(bp);
}

/* Each command's whole help, as a subsection of COMMANDS. */
static void man_commands(AVBPrint *bp)
{
    for (size_t i = 0; i < hd_n_commands; i++) {
        AVBPrint text;
        const char *sep = "";

        if (!hd_first_with_its_help(i))
            continue;
        av_bprintf(bp, ".SS \"");
        for (size_t k = i; k < hd_n_commands; k++)
            if (rx_cli_help(hd_commands[k].cmd) == rx_cli_help(hd_commands[i].cmd)) {
                av_bprintf(bp, "%sreencode %s", sep, hd_commands[k].name);
                sep = ", ";
            }
        av_bprintf(bp, "\"\n");
        hd_help_text(hd_commands[i].cmd, &text);
        man_body(bp, text.str, 0);
        av_bprint_finalize(&text, NULL);
    }
}

/* The usage lines of every help text, once each. */
static void man_synopsis(AVBPrint *bp, const char *overview)
{
    AVBPrint seen;

    av_bprint_init(&seen, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(bp, ".SH SYNOPSIS\n.nf\n");
    for (size_t i = 0; i <= hd_n_commands; i++) {
        AVBPrint text;
        const char *p;
        Line l;

        /* The overview's first, then each command's. */
        if (i > 0 && !hd_first_with_its_help(i - 1))
            continue;
        hd_help_text(i > 0 ? hd_commands[i - 1].cmd : RX_CMD_NONE, &text);
        p = i > 0 ? text.str : overview;
        while (hd_read_line(&p, &l)) {
            const char *u = l.indent ? l.s : l.s + 7; /* past "usage: " */
            int n = l.indent ? l.len : l.len - 7;

            if (!hd_is_usage(&l))
                continue;
            /* Each line once: "run --dry-run" is both in list's and run's. */
            char key[256];
            snprintf(key, sizeof(key), "\n%.*s\n", n, u);
            if (seen.str && strstr(seen.str, key))
                continue;
            av_bprintf(&seen, "%s", key);
            roff_term(bp, u, n);
            av_bprintf(bp, "\n");
        }
        av_bprint_finalize(&text, NULL);
    }
    av_bprintf(bp, ".fi\n");
    av_bprint_finalize(&seen, NULL);
}

void hd_write_man(AVBPrint *bp)
{
    AVBPrint overview;

    hd_help_text(RX_CMD_NONE, &overview);
    av_bprintf(bp,
               ".\\\" Generated by 'reencode help --man' from the help texts of src/cli/cli.c:\n"
               ".\\\" do not edit; regenerate with 'cmake --build BUILD --target docs'.\n"
               ".TH REENCODE 1 \"\" \"reencode %s\" \"User Commands\"\n"
               ".nh\n.ad l\n"
               ".SH NAME\nreencode \\- %c",
               RX_VERSION, tolower((unsigned char)RX_DESCRIPTION[0]));
    roff_text(bp, &RX_DESCRIPTION[1], (int)strlen(&RX_DESCRIPTION[1]), 0);
    av_bprintf(bp, "\n");
    man_synopsis(bp, overview.str);
    av_bprintf(bp, ".SH DESCRIPTION\n");
    man_body(bp, overview.str, 1);
    av_bprintf(bp, "%s", man_tail);
    av_bprint_finalize(&overview, NULL);
}
