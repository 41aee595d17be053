/*
 * helpdoc.c - the man page and shell completions, from --help (see helpdoc.h).
 *
 * The help texts are read as lines of a few shapes, the ones cli.c's texts
 * are written in:
 *     usage: reencode ...            usage lines (the SYNOPSIS)
 *     Heading:                       one unindented line ending in ':', then
 *                                    indented lines
 *       -o, --output FILE   text     an item: an option, or in the overview
 *       run DIR...          text     a command; text after the first gap of
 *                               text continuation lines (indented 20 or more)
 *       reencode run ...             any other indented line: kept as typed
 *     Unindented text.               prose, filled
 * Blank lines separate blocks.
 */
#include "cli/helpdoc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/helpdoc_int.h"
#include "version.h"

/* Commands as typed, in the overview's order. A new command: one row. */
const HdCommand hd_commands[] = {
    {"run", RX_CMD_RUN},
    {"list", RX_CMD_LIST},
    {"status", RX_CMD_STATUS},
    {"encode", RX_CMD_ENCODE},
    {"journal repair", RX_CMD_JOURNAL_REPAIR},
    {"verify", RX_CMD_VERIFY},
    {"watch", RX_CMD_WATCH},
};

const size_t hd_n_commands = sizeof(hd_commands) / sizeof(hd_commands[0]);

/* The line at *p, moving *p past it. 0 at the end of the text. */
int hd_read_line(const char **p, Line *l)
{
    const char *q = *p, *e;

    if (!*q)
        return 0;
    e = q + strcspn(q, "\n");
    l->indent = (int)strspn(q, " ");
    l->s = q + l->indent;
    l->len = (int)(e - l->s);
    *p = *e ? e + 1 : e;
    return 1;
}

int hd_peek_line(const char *p, Line *l)
{
    return hd_read_line(&p, l);
}

int hd_starts(const Line *l, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)l->len >= n && !strncmp(l->s, prefix, n);
}

int hd_is_usage(const Line *l)
{
    return (l->indent == 0 && hd_starts(l, "usage: ")) ||
           (l->indent == 7 && hd_starts(l, "reencode "));
}

/* "Output:" followed by indented lines. */
int hd_is_heading(const Line *l, const char *rest)
{
    Line n;

    return l->indent == 0 && l->len > 1 && l->s[l->len - 1] == ':' && hd_peek_line(rest, &n) &&
           n.len && n.indent;
}

int hd_is_command_word(const char *s, int len)
{
    for (size_t i = 0; i < hd_n_commands; i++) {
        int w = (int)strcspn(hd_commands[i].name, " ");
        if (len >= w && !strncmp(s, hd_commands[i].name, (size_t)w) && (len == w || s[w] == ' '))
            return 1;
    }
    return 0;
}

/* An option line; with commands_too, a line of the overview's command list. */
int hd_is_item(const Line *l, int commands_too)
{
    if (l->len && l->s[0] == '-')
        return l->indent == 2 || l->indent == 6;
    return commands_too && l->indent == 2 && hd_is_command_word(l->s, l->len);
}

/* An item's term ("-o, --output FILE") and the text after the first gap. */
void hd_split_item(const Line *l, int *term_len, const char **text, int *text_len)
{
    const char *gap = NULL;

    for (int i = 0; i + 1 < l->len; i++)
        if (l->s[i] == ' ' && l->s[i + 1] == ' ') {
            gap = l->s + i;
            break;
        }
    *term_len = gap ? (int)(gap - l->s) : l->len;
    *text = gap ? gap + strspn(gap, " ") : l->s + l->len;
    *text_len = (int)(l->s + l->len - *text);
}

/* A help text in one piece (they come as pieces of at most 4095 bytes). */
void hd_help_text(RxCommand cmd, AVBPrint *bp)
{
    av_bprint_init(bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (const char *const *h = rx_cli_help(cmd); *h; h++)
        av_bprintf(bp, "%s", *h);
}

/* Whether hd_commands[i] is the first of the commands sharing its help text. */
int hd_first_with_its_help(size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (rx_cli_help(hd_commands[k].cmd) == rx_cli_help(hd_commands[i].cmd))
            return 0;
    return 1;
}

int rx_helpdoc_format(const char *name)
{
    static const char *const names[] = {"man", "bash", "zsh"};

    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

void rx_helpdoc_write(AVBPrint *bp, RxHelpdocFormat fmt)
{
    switch (fmt) {
    case RX_HELPDOC_MAN:
        hd_write_man(bp);
        break;
    case RX_HELPDOC_BASH:
        hd_write_bash(bp);
        break;
    case RX_HELPDOC_ZSH:
        hd_write_zsh(bp);
        break;
    }
}
