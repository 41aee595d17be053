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
#include "version.h"

/* Commands as typed, in the overview's order. A new command: one row. */
static const struct {
    const char *name;
    RxCommand cmd;
} commands[] = {
    {"run", RX_CMD_RUN},
    {"list", RX_CMD_LIST},
    {"status", RX_CMD_STATUS},
    {"encode", RX_CMD_ENCODE},
    {"journal repair", RX_CMD_JOURNAL_REPAIR},
    {"verify", RX_CMD_VERIFY},
    {"watch", RX_CMD_WATCH},
};

#define N_COMMANDS   (sizeof(commands) / sizeof(commands[0]))
#define ITEM_TEXT_AT 20 /* continuation lines of an item are indented this much or more */

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

typedef struct Line {
    const char *s; /* from the first non-space */
    int len;       /* from s, without the newline */
    int indent;
} Line;

/* The line at *p, moving *p past it. 0 at the end of the text. */
static int read_line(const char **p, Line *l)
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

static int peek_line(const char *p, Line *l)
{
    return read_line(&p, l);
}

static int starts(const Line *l, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)l->len >= n && !strncmp(l->s, prefix, n);
}

static int is_usage(const Line *l)
{
    return (l->indent == 0 && starts(l, "usage: ")) || (l->indent == 7 && starts(l, "reencode "));
}

/* "Output:" followed by indented lines. */
static int is_heading(const Line *l, const char *rest)
{
    Line n;

    return l->indent == 0 && l->len > 1 && l->s[l->len - 1] == ':' && peek_line(rest, &n) &&
           n.len && n.indent;
}

static int is_command_word(const char *s, int len)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int w = (int)strcspn(commands[i].name, " ");
        if (len >= w && !strncmp(s, commands[i].name, (size_t)w) && (len == w || s[w] == ' '))
            return 1;
    }
    return 0;
}

/* An option line; with commands_too, a line of the overview's command list. */
static int is_item(const Line *l, int commands_too)
{
    if (l->len && l->s[0] == '-')
        return l->indent == 2 || l->indent == 6;
    return commands_too && l->indent == 2 && is_command_word(l->s, l->len);
}

/* An item's term ("-o, --output FILE") and the text after the first gap. */
static void split_item(const Line *l, int *term_len, const char **text, int *text_len)
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
static void help_text(RxCommand cmd, AVBPrint *bp)
{
    av_bprint_init(bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (const char *const *h = rx_cli_help(cmd); *h; h++)
        av_bprintf(bp, "%s", *h);
}

/* Whether commands[i] is the first of the commands sharing its help text. */
static int first_with_its_help(size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (rx_cli_help(commands[k].cmd) == rx_cli_help(commands[i].cmd))
            return 0;
    return 1;
}

/* ---- man page ---- */

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

    while (read_line(&p, &l)) {
        const char *t;
        int term_len, text_len;

        if (!l.len) {
            set_mode(bp, &mode, MODE_NONE);
            continue;
        }
        if (is_usage(&l))
            continue;
        if (top && in_commands && l.indent == 0) {
            set_mode(bp, &mode, MODE_NONE);
            man_commands(bp);
            in_commands = 0;
        }
        if (is_heading(&l, p) && mode != MODE_PROSE) {
            set_mode(bp, &mode, MODE_NONE);
            if (top) {
                av_bprintf(bp, ".SH ");
                for (int i = 0; i + 1 < l.len; i++)
                    av_bprint_chars(bp, (char)toupper((unsigned char)l.s[i]), 1);
                av_bprintf(bp, "\n");
                in_commands = starts(&l, "Commands:");
            } else {
                av_bprintf(bp, ".PP\n.B \"");
                roff_text(bp, l.s, l.len, 0);
                av_bprintf(bp, "\"\n");
            }
        } else if (is_item(&l, top)) {
            set_mode(bp, &mode, MODE_ITEM);
            split_item(&l, &term_len, &t, &text_len);
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
        } else if (top && mode == MODE_NONE && starts(&l, "Exit codes: ")) {
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
    for (size_t i = 0; i < N_COMMANDS; i++) {
        AVBPrint text;
        const char *sep = "";

        if (!first_with_its_help(i))
            continue;
        av_bprintf(bp, ".SS \"");
        for (size_t k = i; k < N_COMMANDS; k++)
            if (rx_cli_help(commands[k].cmd) == rx_cli_help(commands[i].cmd)) {
                av_bprintf(bp, "%sreencode %s", sep, commands[k].name);
                sep = ", ";
            }
        av_bprintf(bp, "\"\n");
        help_text(commands[i].cmd, &text);
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
    for (size_t i = 0; i <= N_COMMANDS; i++) {
        AVBPrint text;
        const char *p;
        Line l;

        /* The overview's first, then each command's. */
        if (i > 0 && !first_with_its_help(i - 1))
            continue;
        help_text(i > 0 ? commands[i - 1].cmd : RX_CMD_NONE, &text);
        p = i > 0 ? text.str : overview;
        while (read_line(&p, &l)) {
            const char *u = l.indent ? l.s : l.s + 7; /* past "usage: " */
            int n = l.indent ? l.len : l.len - 7;

            if (!is_usage(&l))
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

static void write_man(AVBPrint *bp)
{
    AVBPrint overview;

    help_text(RX_CMD_NONE, &overview);
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

/* ---- completions ---- */

typedef struct OptionDoc {
    RxCliOption opt;
    char metavar[32];  /* "FILE"; "" when it takes no value */
    char choices[160]; /* "libaom-av1 libsvtav1" when the help lists them */
    char text[160];    /* the first line of its help */
} OptionDoc;

/* Words separated by '|', asides in parentheses skipped: "rename (NAME.mp4 ->
 * NAME.mp4.reencoded) | keep | delete [rename]". Two or more, or none. */
static void parse_choices(const char *s, char *out, size_t size)
{
    static const char word[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    size_t len = 0;
    int n = 0;

    out[0] = '\0';
    for (;;) {
        size_t w;

        s += strspn(s, " ");
        w = strspn(s, word);
        if (!w || len + w + 2 > size)
            break;
        len += (size_t)snprintf(out + len, size - len, "%s%.*s", n++ ? " " : "", (int)w, s);
        s += w + strspn(s + w, " ");
        if (*s == '(' && strchr(s, ')'))
            s = strchr(s, ')') + 1 + strspn(strchr(s, ')') + 1, " ");
        if (*s != '|')
            break;
        s++;
    }
    if (n < 2)
        out[0] = '\0';
}

/* A first line of help as a one-line description: without the start of a
 * "[...]" the next line ends, or the ';' ',' ':' that led to the next line. */
static void tidy_line(char *s)
{
    char *open = strrchr(s, '[');
    size_t n;

    if (open && !strchr(open, ']') && open > s)
        *open = '\0';
    n = strlen(s);
    while (n && strchr(" ;,:", s[n - 1]))
        s[--n] = '\0';
}

/* Fill d from the item of `text` that documents --name. 0, or -1 if none. */
static int find_option_doc(const char *text, OptionDoc *d)
{
    const char *p = text;
    char want[64];
    Line l, c;

    snprintf(want, sizeof(want), "--%s", d->opt.name);
    while (read_line(&p, &l)) {
        const char *t, *tok;
        int term_len, text_len, n;
        AVBPrint all;

        if (!is_item(&l, 0))
            continue;
        split_item(&l, &term_len, &t, &text_len);
        /* The term's words: "-o," "--output" "FILE"; "--progress" "/" ... */
        for (tok = l.s; tok < l.s + term_len; tok += n + 1) {
            n = (int)strcspn(tok, " ,");
            if (tok + n > l.s + term_len)
                n = (int)(l.s + term_len - tok);
            if (n == (int)strlen(want) && !strncmp(tok, want, (size_t)n))
                break;
            if (tok[n] == ',')
                n++;
        }
        if (tok >= l.s + term_len)
            continue;
        if (d->opt.has_value && tok[n] == ' ') {
            const char *m = tok + n + 1;
            int mlen = (int)strcspn(m, " ");
            if (m + mlen > l.s + term_len)
                mlen = (int)(l.s + term_len - m);
            snprintf(d->metavar, sizeof(d->metavar), "%.*s", mlen, m);
        }
        /* d->text: its first line of text, on the item's line or the next. */
        snprintf(d->text, sizeof(d->text), "%.*s", text_len, t);
        av_bprint_init(&all, 0, AV_BPRINT_SIZE_UNLIMITED);
        av_bprintf(&all, "%.*s", text_len, t);
        while (peek_line(p, &c) && c.indent >= ITEM_TEXT_AT && read_line(&p, &c)) {
            if (!d->text[0])
                snprintf(d->text, sizeof(d->text), "%.*s", c.len, c.s);
            av_bprintf(&all, "%s%.*s", all.len ? " " : "", c.len, c.s);
        }
        tidy_line(d->text);
        parse_choices(all.str, d->choices, sizeof(d->choices));
        av_bprint_finalize(&all, NULL);
        return 0;
    }
    return -1;
}

/* The options cmd takes, documented from its help, else from any help. */
static int option_doc(RxCommand cmd, size_t i, OptionDoc *d)
{
    memset(d, 0, sizeof(*d));
    if (rx_cli_option(cmd, i, &d->opt) < 0)
        return -1;
    for (size_t k = 0; k <= N_COMMANDS; k++) {
        AVBPrint text;
        int found;

        help_text(k == 0 ? cmd : k < N_COMMANDS ? commands[k].cmd : RX_CMD_NONE, &text);
        found = find_option_doc(text.str, d) == 0;
        av_bprint_finalize(&text, NULL);
        if (found)
            break;
    }
    if (!d->metavar[0] && d->opt.has_value)
        snprintf(d->metavar, sizeof(d->metavar), "VALUE");
    return 0;
}

typedef enum Operand { OPERAND_FILES, OPERAND_DIRS } Operand;

/* What a command's operands are, from its usage line: "INPUT", "DIR...".
 * *many: any number of them; *optional: "[DIR]". */
static Operand operand_of(size_t c, int *many, int *optional)
{
    AVBPrint text;
    const char *p;
    char want[64];
    Operand kind = OPERAND_FILES;
    Line l;

    *many = *optional = 0;
    snprintf(want, sizeof(want), "reencode %s ", commands[c].name);
    help_text(commands[c].cmd, &text);
    p = text.str;
    while (read_line(&p, &l)) {
        const char *u = strstr(l.s, want);

        if (!is_usage(&l) || !u || u >= l.s + l.len)
            continue;
        for (u += strlen(want); u < l.s + l.len; u += strcspn(u, " \n") + 1) {
            int n = (int)strcspn(u, " \n");
            if (u[0] == '-' || !strncmp(u, "[-", 2) || !strncmp(u, "[OPTIONS]", 9))
                continue;
            kind = !strncmp(u + (u[0] == '['), "DIR", 3) ? OPERAND_DIRS : OPERAND_FILES;
            *optional = u[0] == '[';
            *many = n > 3 && !strncmp(u + n - 3, "...", 3);
            break;
        }
        break;
    }
    av_bprint_finalize(&text, NULL);
    return kind;
}

static int is_path(const OptionDoc *d)
{
    return !strcmp(d->metavar, "FILE") || !strcmp(d->metavar, "PATH");
}

/* The overview's line for a command word: "run DIR...   re-encode ...". */
static void command_summary(const char *overview, const char *word, char *out, size_t size)
{
    const char *p = overview;
    size_t w = strlen(word);
    Line l;

    snprintf(out, size, "%s", word);
    while (read_line(&p, &l)) {
        const char *t;
        int term_len, text_len;

        if (!is_item(&l, 1) || strncmp(l.s, word, w) || (l.s[w] != ' ' && (int)w != l.len))
            continue;
        split_item(&l, &term_len, &t, &text_len);
        snprintf(out, size, "%.*s", text_len, t);
        return;
    }
}

/* First words of the commands, once each ("journal" for "journal repair"). */
static int first_word_seen_before(size_t i)
{
    size_t w = strcspn(commands[i].name, " ");

    for (size_t k = 0; k < i; k++)
        if (strcspn(commands[k].name, " ") == w && !strncmp(commands[k].name, commands[i].name, w))
            return 1;
    return 0;
}

/* The second words of the commands whose first word is commands[i]'s
 * ("repair" for "journal"), separated by spaces, the first after `first`. */
static void second_words(AVBPrint *bp, size_t i, const char *first)
{
    size_t w = strcspn(commands[i].name, " ") + 1;

    for (size_t k = i; k < N_COMMANDS; k++)
        if (!strncmp(commands[k].name, commands[i].name, w))
            av_bprintf(bp, "%s%s", k > i ? " " : first, commands[k].name + w);
}

static void bash_first_words(AVBPrint *bp)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!first_word_seen_before(i))
            av_bprintf(bp, "%s%.*s", i ? " " : "", (int)strcspn(commands[i].name, " "),
                       commands[i].name);
}

/* The case patterns of the options that take a value: with offer, one line
 * each for those with something to offer; without, the others as one pattern.
 * Each option once: the value it takes is the same whichever the command. */
static void bash_option_values(AVBPrint *bp, int offer)
{
    AVBPrint seen;
    OptionDoc d;

    av_bprint_init(&seen, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (size_t c = 0; c < N_COMMANDS; c++)
        for (size_t i = 0; option_doc(commands[c].cmd, i, &d) == 0; i++) {
            char key[64];
            int has_offer = d.choices[0] || is_path(&d) || !strcmp(d.metavar, "DIR");

            snprintf(key, sizeof(key), " %s ", d.opt.name);
            if (!d.opt.has_value || has_offer != offer || (seen.str && strstr(seen.str, key)))
                continue;
            av_bprintf(bp, !offer && seen.len ? " | " : "    ");
            av_bprintf(&seen, "%s", key);
            if (d.opt.short_name)
                av_bprintf(bp, "-%c | ", d.opt.short_name);
            av_bprintf(bp, "--%s", d.opt.name);
            if (!offer)
                continue;
            if (d.choices[0])
                av_bprintf(bp, ") _reencode_reply -W '%s'", d.choices);
            else
                av_bprintf(bp, ") _reencode_reply %s", is_path(&d) ? "-f" : "-d");
            av_bprintf(bp, "; return ;;\n");
        }
    if (!offer && seen.len)
        av_bprintf(bp, ")\n        return # nothing to offer\n        ;;\n");
    av_bprint_finalize(&seen, NULL);
}

static void write_bash(AVBPrint *bp)
{
    av_bprintf(bp, "# bash completion for reencode                           -*- shell-script -*-\n"
                   "# Generated by 'reencode help --complete bash' from the option table and\n"
                   "# help texts of src/cli/cli.c: do not edit; regenerate with\n"
                   "# 'cmake --build BUILD --target docs'.\n\n"
                   "# _reencode_reply COMPGEN-ARGS...: the matches of $cur, one a word\n"
                   "_reencode_reply()\n{\n"
                   "    mapfile -t COMPREPLY < <(compgen \"$@\" -- \"$cur\")\n}\n\n"
                   "_reencode()\n{\n"
                   "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
                   "    local cmd opts operand at=2\n"
                   "    # bash splits --option=value at '=' (COMP_WORDBREAKS)\n"
                   "    if [[ $cur == = ]]; then\n        cur=\n"
                   "    elif [[ $prev == = ]]; then\n"
                   "        prev=${COMP_WORDS[COMP_CWORD - 2]}\n    fi\n"
                   "    if ((COMP_CWORD == 1)); then\n"
                   "        _reencode_reply -W '");
    bash_first_words(bp);
    av_bprintf(bp, " help -h --help -V --version'\n        return\n    fi\n"
                   "    cmd=${COMP_WORDS[1]}\n    case $cmd in\n    help | -h | --help)\n"
                   "        ((COMP_CWORD == 2)) && _reencode_reply -W '");
    bash_first_words(bp);
    av_bprintf(bp, "'\n        return\n        ;;\n");
    /* Commands of two words: the second, then the command is both. */
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *sp = strchr(commands[i].name, ' ');
        if (!sp || first_word_seen_before(i))
            continue;
        av_bprintf(bp,
                   "    %.*s)\n        if ((COMP_CWORD == 2)); then\n"
                   "            _reencode_reply -W '",
                   (int)(sp - commands[i].name), commands[i].name);
        second_words(bp, i, "");
        av_bprintf(bp, "'\n            return\n        fi\n"
                       "        cmd=\"$cmd ${COMP_WORDS[2]}\" at=3\n        ;;\n");
    }
    av_bprintf(bp, "    esac\n\n    # The value of an option\n    case $prev in\n");
    bash_option_values(bp, 1);
    bash_option_values(bp, 0);
    av_bprintf(bp,
               "    esac\n\n    # The options and operands of each command\n    case $cmd in\n");
    for (size_t c = 0; c < N_COMMANDS; c++) {
        OptionDoc d;
        int many, optional;
        Operand kind = operand_of(c, &many, &optional);

        av_bprintf(bp, "    '%s')\n        opts='", commands[c].name);
        for (size_t i = 0; option_doc(commands[c].cmd, i, &d) == 0; i++) {
            av_bprintf(bp, "%s", i ? " " : "");
            if (d.opt.short_name)
                av_bprintf(bp, "-%c ", d.opt.short_name);
            av_bprintf(bp, "--%s", d.opt.name);
        }
        av_bprintf(bp, "'\n        operand=%s\n        ;;\n", kind == OPERAND_DIRS ? "-d" : "-f");
    }
    av_bprintf(bp, "    *)\n        return\n        ;;\n    esac\n"
                   "    if [[ $cur == -* ]]; then\n"
                   "        _reencode_reply -W \"$opts\"\n"
                   "    elif ((COMP_CWORD >= at)); then\n"
                   "        _reencode_reply \"$operand\"\n    fi\n}\n\n"
                   "complete -o filenames -F _reencode reencode\n");
}

/* Text inside '...' of a shell word, and inside [...] of an _arguments spec. */
static void zsh_quoted(AVBPrint *bp, const char *s, int brackets)
{
    for (; *s; s++) {
        if (*s == '\'')
            av_bprintf(bp, "'\\''");
        else if (brackets && (*s == '[' || *s == ']' || *s == '\\'))
            av_bprintf(bp, "\\%c", *s);
        else
            av_bprint_chars(bp, *s, 1);
    }
}

static void zsh_describe_commands(AVBPrint *bp, const char *overview)
{
    char summary[160], word[64];

    av_bprintf(bp, "    local -a commands=(\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (first_word_seen_before(i))
            continue;
        snprintf(word, sizeof(word), "%.*s", (int)strcspn(commands[i].name, " "), commands[i].name);
        command_summary(overview, word, summary, sizeof(summary));
        av_bprintf(bp, "        '%s:", word);
        zsh_quoted(bp, summary, 0);
        av_bprintf(bp, "'\n");
    }
    av_bprintf(bp, "        'help:the help of a command'\n    )\n");
}

static void write_zsh(AVBPrint *bp)
{
    AVBPrint overview;

    help_text(RX_CMD_NONE, &overview);
    av_bprintf(bp, "#compdef reencode\n"
                   "# zsh completion for reencode. Generated by 'reencode help --complete zsh'\n"
                   "# from the option table and help texts of src/cli/cli.c: do not edit;\n"
                   "# regenerate with 'cmake --build BUILD --target docs'.\n\n"
                   "_reencode() {\n");
    zsh_describe_commands(bp, overview.str);
    av_bprintf(bp, "    if ((CURRENT == 2)); then\n"
                   "        if [[ $PREFIX == -* ]]; then\n"
                   "            compadd -- -h --help -V --version\n"
                   "        else\n"
                   "            _describe -t commands 'reencode command' commands\n"
                   "        fi\n        return\n    fi\n"
                   "    local cmd=$words[2]\n"
                   "    shift words\n    ((CURRENT--))\n"
                   "    case $cmd in\n    help | -h | --help)\n"
                   "        ((CURRENT == 2)) && _describe -t commands 'reencode command' commands\n"
                   "        return\n        ;;\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *sp = strchr(commands[i].name, ' ');
        if (!sp || first_word_seen_before(i))
            continue;
        av_bprintf(bp, "    %.*s)\n        if ((CURRENT == 2)); then\n            compadd --",
                   (int)(sp - commands[i].name), commands[i].name);
        second_words(bp, i, " ");
        av_bprintf(bp,
                   "\n            return\n        fi\n"
                   "        cmd=\"$cmd $words[2]\"\n        shift words\n        ((CURRENT--))\n"
                   "        ;;\n");
    }
    av_bprintf(bp, "    esac\n    case $cmd in\n");
    for (size_t c = 0; c < N_COMMANDS; c++) {
        OptionDoc d;
        int many, optional;
        Operand kind = operand_of(c, &many, &optional);

        av_bprintf(bp, "    '%s')\n        _arguments -S : \\\n", commands[c].name);
        for (size_t i = 0; option_doc(commands[c].cmd, i, &d) == 0; i++) {
            const char *eq = d.opt.has_value ? "=" : "";

            /* Options may be repeated (the last wins; --match adds). */
            if (d.opt.short_name)
                av_bprintf(bp, "            '*'{-%c,--%s%s}'[", d.opt.short_name, d.opt.name, eq);
            else
                av_bprintf(bp, "            '*--%s%s[", d.opt.name, eq);
            zsh_quoted(bp, d.text, 1);
            av_bprintf(bp, "]");
            if (d.opt.has_value) {
                av_bprintf(bp, ":");
                for (const char *m = d.metavar; *m; m++) /* "K=V:..." */
                    av_bprintf(bp, *m == ':' ? "\\:" : "%c", *m);
                av_bprintf(bp, ":");
                if (d.choices[0])
                    av_bprintf(bp, "(%s)", d.choices);
                else if (is_path(&d))
                    av_bprintf(bp, "_files");
                else if (!strcmp(d.metavar, "DIR"))
                    av_bprintf(bp, "_files -/");
            }
            av_bprintf(bp, "' \\\n");
        }
        av_bprintf(bp, "            '%s:%s:%s'\n        ;;\n",
                   many       ? "*"
                   : optional ? ":"
                              : "",
                   kind == OPERAND_DIRS ? "DIR" : "INPUT",
                   kind == OPERAND_DIRS ? "_files -/" : "_files");
    }
    av_bprintf(bp, "    esac\n}\n\n_reencode \"$@\"\n");
    av_bprint_finalize(&overview, NULL);
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
        write_man(bp);
        break;
    case RX_HELPDOC_BASH:
        write_bash(bp);
        break;
    case RX_HELPDOC_ZSH:
        write_zsh(bp);
        break;
    }
}
