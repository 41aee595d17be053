/*
 * helpdoc_int.h - what helpdoc.c (the help texts read as lines),
 * helpdoc_man.c (the man page) and helpdoc_sh.c (bash and zsh completions)
 * share. Private to src/cli/.
 */
#ifndef RX_CLI_HELPDOC_INT_H
#define RX_CLI_HELPDOC_INT_H

#include <stddef.h>

#include <libavutil/bprint.h>

#include "cli/cli.h"

#define ITEM_TEXT_AT 20 /* continuation lines of an item are indented this much or more */

typedef struct HdCommand {
    const char *name;
    RxCommand cmd;
} HdCommand;

extern const HdCommand hd_commands[];
extern const size_t hd_n_commands;

typedef struct Line {
    const char *s; /* from the first non-space */
    int len;       /* from s, without the newline */
    int indent;
} Line;

int hd_read_line(const char **p, Line *l);
int hd_peek_line(const char *p, Line *l);
int hd_starts(const Line *l, const char *prefix);
int hd_is_usage(const Line *l);
int hd_is_heading(const Line *l, const char *rest);
int hd_is_command_word(const char *s, int len);
int hd_is_item(const Line *l, int commands_too);
void hd_split_item(const Line *l, int *term_len, const char **text, int *text_len);
void hd_help_text(RxCommand cmd, AVBPrint *bp);
int hd_first_with_its_help(size_t i);
void hd_write_man(AVBPrint *bp);
void hd_write_bash(AVBPrint *bp);
void hd_write_zsh(AVBPrint *bp);

#endif
