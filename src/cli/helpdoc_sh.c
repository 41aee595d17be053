/*
 * helpdoc_sh.c - bash and zsh completions from the help texts (helpdoc.h).
 */
#include "cli/helpdoc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/helpdoc_int.h"
#include "version.h"

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
    while (hd_read_line(&p, &l)) {
        const char *t, *tok;
        int term_len, text_len, n;
        AVBPrint all;

        if (!hd_is_item(&l, 0))
            continue;
        hd_split_item(&l, &term_len, &t, &text_len);
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
        while (hd_peek_line(p, &c) && c.indent >= ITEM_TEXT_AT && hd_read_line(&p, &c)) {
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
    for (size_t k = 0; k <= hd_n_commands; k++) {
        AVBPrint text;
        int found;

        hd_help_text(k == 0 ? cmd : k < hd_n_commands ? hd_commands[k].cmd : RX_CMD_NONE, &text);
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
    snprintf(want, sizeof(want), "reencode %s ", hd_commands[c].name);
    hd_help_text(hd_commands[c].cmd, &text);
    p = text.str;
    while (hd_read_line(&p, &l)) {
        const char *u = strstr(l.s, want);

        if (!hd_is_usage(&l) || !u || u >= l.s + l.len)
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
    while (hd_read_line(&p, &l)) {
        const char *t;
        int term_len, text_len;

        if (!hd_is_item(&l, 1) || strncmp(l.s, word, w) || (l.s[w] != ' ' && (int)w != l.len))
            continue;
        hd_split_item(&l, &term_len, &t, &text_len);
        snprintf(out, size, "%.*s", text_len, t);
        return;
    }
}

/* First words of the commands, once each ("journal" for "journal repair"). */
static int first_word_seen_before(size_t i)
{
    size_t w = strcspn(hd_commands[i].name, " ");

    for (size_t k = 0; k < i; k++)
        if (strcspn(hd_commands[k].name, " ") == w &&
            !strncmp(hd_commands[k].name, hd_commands[i].name, w))
            return 1;
    return 0;
}

/* The second words of the commands whose first word is hd_commands[i]'s
 * ("repair" for "journal"), separated by spaces, the first after `first`. */
static void second_words(AVBPrint *bp, size_t i, const char *first)
{
    size_t w = strcspn(hd_commands[i].name, " ") + 1;

    for (size_t k = i; k < hd_n_commands; k++)
        if (!strncmp(hd_commands[k].name, hd_commands[i].name, w))
            av_bprintf(bp, "%s%s", k > i ? " " : first, hd_commands[k].name + w);
}

static void bash_first_words(AVBPrint *bp)
{
    for (size_t i = 0; i < hd_n_commands; i++)
        if (!first_word_seen_before(i))
            av_bprintf(bp, "%s%.*s", i ? " " : "", (int)strcspn(hd_commands[i].name, " "),
                       hd_commands[i].name);
}

/* The case patterns of the options that take a value: with offer, one line
 * each for those with something to offer; without, the others as one pattern.
 * Each option once: the value it takes is the same whichever the command. */
static void bash_option_values(AVBPrint *bp, int offer)
{
    AVBPrint seen;
    OptionDoc d;

    av_bprint_init(&seen, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (size_t c = 0; c < hd_n_commands; c++)
        for (size_t i = 0; option_doc(hd_commands[c].cmd, i, &d) == 0; i++) {
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

void hd_write_bash(AVBPrint *bp)
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
    for (size_t i = 0; i < hd_n_commands; i++) {
        const char *sp = strchr(hd_commands[i].name, ' ');
        if (!sp || first_word_seen_before(i))
            continue;
        av_bprintf(bp,
                   "    %.*s)\n        if ((COMP_CWORD == 2)); then\n"
                   "            _reencode_reply -W '",
                   (int)(sp - hd_commands[i].name), hd_commands[i].name);
        second_words(bp, i, "");
        av_bprintf(bp, "'\n            return\n        fi\n"
                       "        cmd=\"$cmd ${COMP_WORDS[2]}\" at=3\n        ;;\n");
    }
    av_bprintf(bp, "    esac\n\n    # The value of an option\n    case $prev in\n");
    bash_option_values(bp, 1);
    bash_option_values(bp, 0);
    av_bprintf(bp,
               "    esac\n\n    # The options and operands of each command\n    case $cmd in\n");
    for (size_t c = 0; c < hd_n_commands; c++) {
        OptionDoc d;
        int many, optional;
        Operand kind = operand_of(c, &many, &optional);

        av_bprintf(bp, "    '%s')\n        opts='", hd_commands[c].name);
        for (size_t i = 0; option_doc(hd_commands[c].cmd, i, &d) == 0; i++) {
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
    for (size_t i = 0; i < hd_n_commands; i++) {
        if (first_word_seen_before(i))
            continue;
        snprintf(word, sizeof(word), "%.*s", (int)strcspn(hd_commands[i].name, " "),
                 hd_commands[i].name);
        command_summary(overview, word, summary, sizeof(summary));
        av_bprintf(bp, "        '%s:", word);
        zsh_quoted(bp, summary, 0);
        av_bprintf(bp, "'\n");
    }
    av_bprintf(bp, "        'help:the help of a command'\n    )\n");
}

void hd_write_zsh(AVBPrint *bp)
{
    AVBPrint overview;

    hd_help_text(RX_CMD_NONE, &overview);
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
    for (size_t i = 0; i < hd_n_commands; i++) {
        const char *sp = strchr(hd_commands[i].name, ' ');
        if (!sp || first_word_seen_before(i))
            continue;
        av_bprintf(bp, "    %.*s)\n        if ((CURRENT == 2)); then\n            compadd --",
                   (int)(sp - hd_commands[i].name), hd_commands[i].name);
        second_words(bp, i, " ");
        av_bprintf(bp,
                   "\n            return\n        fi\n"
                   "        cmd=\"$cmd $words[2]\"\n        shift words\n        ((CURRENT--))\n"
                   "        ;;\n");
    }
    av_bprintf(bp, "    esac\n    case $cmd in\n");
    for (size_t c = 0; c < hd_n_commands; c++) {
        OptionDoc d;
        int many, optional;
        Operand kind = operand_of(c, &many, &optional);

        av_bprintf(bp, "    '%s')\n        _arguments -S : \\\n", hd_commands[c].name);
        for (size_t i = 0; option_doc(hd_commands[c].cmd, i, &d) == 0; i++) {
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
