/*
 * helpdoc.h - the man page and shell completions, generated from --help.
 *
 * One source: the help texts (rx_cli_help()) and the option table
 * (rx_cli_option()) of cli.c. The man page is every help text rendered as
 * roff: the overview's prose is the DESCRIPTION, its headed blocks become
 * sections (Commands:, Options:, Exit codes:), each command's help a
 * subsection of COMMANDS, option lines ("  -o, --output FILE   text")
 * tagged paragraphs, other indented lines (examples, tables) kept as they
 * are. The completions offer, per command, the options the parser accepts,
 * the values listed in the help ("libaom-av1 | libsvtav1"), files where the
 * help names a FILE or PATH and directories where it names a DIR.
 *
 * The outputs are committed (docs/reencode.1, scripts/completions/) and a
 * test regenerates them, so --help, the man page and the completions cannot
 * disagree. Output depends on nothing but the texts: no dates.
 *
 * A new command needs one row in helpdoc.c's `commands` table (and its help
 * text, its line in the overview's "Commands:" and its options' bit in
 * cli.c, which it needs anyway).
 */
#ifndef RX_HELPDOC_H
#define RX_HELPDOC_H

#include <libavutil/bprint.h>

typedef enum RxHelpdocFormat {
    RX_HELPDOC_MAN = 0, /* roff for man(7) */
    RX_HELPDOC_BASH,    /* a bash completion script (complete -F) */
    RX_HELPDOC_ZSH,     /* a zsh completion function (#compdef) */
} RxHelpdocFormat;

/* "man", "bash", "zsh" to its format; -1 for anything else. */
int rx_helpdoc_format(const char *name);

/* Append the whole document to bp. Check av_bprint_is_complete() for out of
 * memory. */
void rx_helpdoc_write(AVBPrint *bp, RxHelpdocFormat fmt);

#endif
