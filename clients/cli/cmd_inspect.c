/* codetracer inspect: the steps of a trajectory, readable on a terminal or as JSON lines. */
#include "cli.h"
#include "ct/index.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int json;
    int step;     /* -s N, 0 = unset */
    int from, to; /* --from A / --to B, 0 = unset */
    int color;
    int full; /* --full: no shortening */
    int tree; /* --tree: the change/explore tree (tree.md) instead of the steps */
} inspect_opts;

static const char *c_on(const inspect_opts *o, const char *code)
{
    return o->color ? code : "";
}
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"
#define RESET "\033[0m"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: codetracer inspect PATH [-s N | --from A --to B] [--json] [--full] [--format "
        "NAME]\n"
        "\n"
        "Show the steps of the trajectories at PATH (a file, a run/job directory, an archive, or\n"
        "PATH#K for the K-th trajectory found there).\n"
        "\n"
        "  -s, --step N      only step N (1-based)\n"
        "  --from A          first step to show (default 1)\n"
        "  --to B            last step to show, inclusive (default: the last step)\n"
        "  --json            one JSON object per trajectory per line, with the model's fields;\n"
        "                    with -s/--from/--to only the selected steps are in \"steps\"\n"
        "  --full            do not shorten thought, action and observation\n"
        "  --tree            the change/explore trace tree (tree.md format) instead of the\n"
        "                    steps; with --json it is the \"tree\" string\n"
        "  --format NAME     force a loader (see `codetracer formats`) instead of detecting\n"
        "\n"
        "On a terminal each step shows its id, kind, tool, exit code, thought, action and\n"
        "observation, shortened to a few lines; colour only when stdout is a terminal and\n"
        "NO_COLOR is unset.\n"
        "\n"
        "exit status: 0 ok, 2 usage error, 3 input could not be loaded or a selected step does\n"
        "not exist, 6 some trajectories could not be loaded or lack the selected step.\n");
}

/* Parse a positive step number; 0 when invalid. */
static int parse_step(const char *s)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno || v < 1 || v > INT_MAX) return 0;
    return (int)v;
}

/* Print text indented, at most max_lines lines and max_chars bytes (0 = unlimited); the cut is
 * said, never silent. Control characters other than tab/newline are shown as '?'. */
static void print_block(const char *label, const char *text, int max_lines, size_t max_chars,
                        const inspect_opts *o)
{
    printf("    %s%s:%s", c_on(o, DIM), label, c_on(o, RESET));
    if (!text) {
        printf(" %s(none)%s\n", c_on(o, DIM), c_on(o, RESET));
        return;
    }
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len == 0) {
        printf(" %s(empty)%s\n", c_on(o, DIM), c_on(o, RESET));
        return;
    }
    size_t total_lines = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') total_lines++;
    int single = total_lines == 1 && len <= 100;
    if (single)
        putchar(' ');
    else
        printf("\n      ");
    int lines = 1;
    size_t i = 0;
    /* cut on a character boundary, never inside a UTF-8 sequence */
    size_t limit = max_chars && max_chars < len ? max_chars : len;
    while (limit < len && limit > 0 && ((unsigned char)text[limit] & 0xC0) == 0x80)
        limit--;
    for (; i < len; i++) {
        if (i >= limit) break;
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            if (max_lines && lines >= max_lines) break;
            lines++;
            printf("\n      ");
            continue;
        }
        if (ch == '\r') continue;
        putchar(ch < 0x20 && ch != '\t' ? '?' : (int)ch);
    }
    if (i < len) {
        size_t left_lines = 0;
        for (size_t j = i; j < len; j++)
            if (text[j] == '\n') left_lines++;
        printf("%s … [%zu more byte%s, %zu more line%s; --full shows all]%s", c_on(o, DIM), len - i,
               len - i == 1 ? "" : "s", left_lines, left_lines == 1 ? "" : "s", c_on(o, RESET));
    }
    putchar('\n');
}

static void print_step(const ct_step *s, const inspect_opts *o)
{
    printf("%s[%d]%s %s%s%s", c_on(o, BOLD), s->step_id, c_on(o, RESET), c_on(o, CYAN),
           ct_step_kind_name(s->kind), c_on(o, RESET));
    if (s->tool && *s->tool) printf("  tool=%s", s->tool);
    if (s->has_exit_code)
        printf("  %sexit %d%s", c_on(o, s->exit_code == 0 ? GREEN : RED), s->exit_code,
               c_on(o, RESET));
    if (s->bench_step_id != s->step_id) {
        if (s->bench_step_id > 0)
            printf("  bench_step=%d", s->bench_step_id);
        else
            printf("  bench_step=none");
    }
    if (s->parallel_group) printf("  parallel=%d", s->parallel_group);
    putchar('\n');
    int full = o->full;
    if (s->thought && *s->thought)
        print_block("thought", s->thought, full ? 0 : 3, full ? 0 : 300, o);
    print_block("action", s->action, full ? 0 : 8, full ? 0 : 600, o);
    for (size_t i = 0; i < s->n_files; i++)
        printf("    %sfile:%s %s %s\n", c_on(o, DIM), c_on(o, RESET),
               s->files[i].op ? s->files[i].op : "?", s->files[i].path ? s->files[i].path : "?");
    print_block("observation", s->observation, full ? 0 : 6, full ? 0 : 500, o);
}

static void print_header(const ct_trajectory *t, const inspect_opts *o)
{
    printf("%s%s%s\n", c_on(o, BOLD), t->id, c_on(o, RESET));
    printf("  format %s%s%s", t->format, t->format_version ? " " : "",
           t->format_version ? t->format_version : "");
    if (t->agent) printf(" · agent %s", t->agent);
    if (t->model) printf(" · model %s", t->model);
    printf(" · %zu step%s", t->n_steps, t->n_steps == 1 ? "" : "s");
    if (t->solved != CT_UNKNOWN) printf(" · %s", t->solved == CT_TRUE ? "solved" : "not solved");
    if (t->has_reward) printf(" · reward %g", t->reward);
    if (t->exit_status) printf(" · exit status %s", t->exit_status);
    putchar('\n');
    if (t->task) {
        printf("  task:");
        const char *p = t->task;
        while (*p && isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, "\n");
        printf(" %.*s%s\n", (int)(n > 160 ? 160 : n), p, n > 160 || p[n] ? " …" : "");
    }
    for (size_t i = 0; i < t->n_warnings; i++)
        printf("  %swarning:%s %s\n", c_on(o, YELLOW), c_on(o, RESET), t->warnings[i]);
}

/* Load warnings go to stderr and are counted: a root that failed to load makes the exit
 * status "partial". */
static void warn_count(void *ud, const ct_error *err)
{
    cli_warn(NULL, err);
    (*(int *)ud)++;
}

/* Resolve the selection for t into [a, b]; returns 0, or -1 with the error printed. */
static int select_range(const ct_trajectory *t, const inspect_opts *o, int *a, int *b)
{
    int n = t->n_steps > INT_MAX ? INT_MAX : (int)t->n_steps;
    if (o->step) {
        *a = *b = o->step;
    } else {
        *a = o->from ? o->from : 1;
        *b = o->to ? o->to : n;
    }
    if (!o->step && !o->from && !o->to) return 0; /* everything, even when empty */
    if (n == 0) {
        if (o->step)
            fprintf(stderr, "codetracer: %s: step %d not found (the trajectory has no steps)\n",
                    t->id, o->step);
        else
            fprintf(stderr, "codetracer: %s: steps %d-%d not found (the trajectory has no steps)\n",
                    t->id, *a, *b);
        return -1;
    }
    if (o->step && (o->step < 1 || o->step > n)) {
        fprintf(stderr, "codetracer: %s: step %d not found (range 1-%d)\n", t->id, o->step, n);
        return -1;
    }
    if (*a > n) {
        fprintf(stderr, "codetracer: %s: step %d not found (range 1-%d)\n", t->id, *a, n);
        return -1;
    }
    if (*b > n) *b = n;
    return 0;
}

static int emit(ct_trajectory *t, const inspect_opts *o)
{
    int a = 1, b = (int)t->n_steps;
    if (select_range(t, o, &a, &b) != 0) return -1;
    if (o->json) {
        json_t *j = ct_traj_to_json(t, 1);
        if (o->step || o->from || o->to) {
            json_t *sel = json_array();
            for (int k = a; k <= b; k++)
                json_array_append_new(sel, ct_step_to_json(&t->steps[k - 1]));
            json_object_set_new(j, "steps", sel);
            json_object_set_new(j, "selected", json_pack("{s:i, s:i}", "from", a, "to", b));
        }
        if (o->tree) {
            ct_buf tb = CT_BUF_INIT;
            ct_tree_render(t, &tb);
            json_object_set_new(j, "tree", json_string(tb.data));
            ct_buf_free(&tb);
        }
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(j);
        if (!s) return -2;
        puts(s);
        free(s);
        return 0;
    }
    print_header(t, o);
    if (o->tree) {
        ct_buf tb = CT_BUF_INIT;
        ct_tree_render(t, &tb);
        fputs(tb.data, stdout);
        ct_buf_free(&tb);
        return 0;
    }
    if (t->n_steps == 0) {
        printf("  %s(no steps: nothing the agent did could be recovered from this trajectory)%s\n",
               c_on(o, DIM), c_on(o, RESET));
        return 0;
    }
    for (int k = a; k <= b; k++)
        print_step(&t->steps[k - 1], o);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    inspect_opts o = {0};
    const char *path = NULL;
    ct_load_opts lo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            return CT_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--full") == 0) {
            o.full = 1;
        } else if (strcmp(a, "--tree") == 0) {
            o.tree = 1;
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--step") == 0 || strcmp(a, "--from") == 0 ||
                   strcmp(a, "--to") == 0) {
            int v = parse_step(val);
            if (!v) {
                fprintf(stderr, "codetracer inspect: %s needs a step number >= 1%s%s%s\n", a,
                        val ? " (got '" : "", val ? val : "", val ? "')" : "");
                return CT_EXIT_USAGE;
            }
            if (a[1] == 's' || strcmp(a, "--step") == 0)
                o.step = v;
            else if (strcmp(a, "--from") == 0)
                o.from = v;
            else
                o.to = v;
            i++;
        } else if (strcmp(a, "--format") == 0) {
            if (!val) {
                fprintf(stderr,
                        "codetracer inspect: --format needs a name (see `codetracer formats`)\n");
                return CT_EXIT_USAGE;
            }
            lo.format = val;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "codetracer inspect: unknown option '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr,
                    "codetracer inspect: only one PATH (use PATH#K to pick a trajectory)\n");
            return CT_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "codetracer inspect: missing PATH (see --help)\n");
        return CT_EXIT_USAGE;
    }
    if (o.step && (o.from || o.to)) {
        fprintf(stderr, "codetracer inspect: use either -s N or --from/--to, not both\n");
        return CT_EXIT_USAGE;
    }
    if (o.from && o.to && o.from > o.to) {
        fprintf(stderr, "codetracer inspect: --from %d is after --to %d\n", o.from, o.to);
        return CT_EXIT_USAGE;
    }
    o.color = !o.json && cli_use_color(stdout);

    ct_traj_list l = {0};
    ct_error err;
    ct_error_clear(&err);
    int n_warn = 0;
    int rc = ct_load_path(path, &lo, &l, warn_count, &n_warn, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        return cli_exit_for(rc);
    }
    size_t failed = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!o.json && i) putchar('\n');
        int r = emit(l.items[i], &o);
        if (r == -2) {
            ct_traj_list_free(&l);
            fprintf(stderr, "codetracer: could not write JSON output\n");
            return CT_EXIT_OUTPUT;
        }
        if (r) failed++;
    }
    size_t n = l.n;
    ct_traj_list_free(&l);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "codetracer: could not write to stdout\n");
        return CT_EXIT_OUTPUT;
    }
    if (failed == n) return CT_EXIT_INPUT;
    if (failed || n_warn) return CT_EXIT_PARTIAL;
    return CT_EXIT_OK;
}
