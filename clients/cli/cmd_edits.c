/* codetracer edits: every edit a trajectory made, reconstructed, and where it stands in today's
 * files (docs/source-spans.md). */
#include "cli.h"
#include "ct/edits.h"
#include "ct/buf.h"
#include "ct/spans.h"

#include <stdlib.h>
#include <string.h>

#define MAX_MAPS 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: codetracer edits PATH [--workspace DIR] [--root PREFIX] [--map FROM=TO]...\n"
            "                        [--json] [--format NAME]\n"
            "\n"
            "Reconstruct each edit the agent made (str_replace/Edit, create/Write, ACI edit,\n"
            "patches, sed -i, cat/tee here-documents) and find where its new text stands in the\n"
            "files of DIR today, widened to the enclosing function or class.\n"
            "\n"
            "  --workspace DIR   the local checkout the run worked on (default: .)\n"
            "  --root PREFIX     the run's root inside its container (default: detected, e.g.\n"
            "                    /testbed: the prefix that leaves the longest existing suffix)\n"
            "  --map FROM=TO     map agent paths under FROM to the local directory TO (repeat)\n"
            "  --json            one JSON object per edit per line (0-based lines, byte columns)\n"
            "  --format NAME     force a loader (see `codetracer formats`)\n"
            "\n"
            "Status of an edit: found (exact | whitespace | fuzzy), moved_on (its text is no\n"
            "longer in the file), file_missing (deleted or renamed since), deleted (the run\n"
            "deleted it), unmapped, not_reconstructed (with the reason), too_large.\n"
            "\n"
            "exit status: 0 ok, 2 usage error, 3 input could not be loaded.\n");
}

static json_t *span_json(const ct_span *s)
{
    return json_pack("{s:[I,I],s:{s:i,s:i},s:{s:i,s:i}}", "bytes", (json_int_t)s->byte_start,
                     (json_int_t)s->byte_end, "start", "line", s->line_start, "byte_col",
                     s->col_start, "end", "line", s->line_end, "byte_col", s->col_end);
}

static void print_place(const ct_trajectory *t, const ct_edit_place *p, const char *ws, int json,
                        const unsigned char *broken)
{
    const ct_edit *e = p->edit;
    int brk =
        broken && e->step_id >= 1 && (size_t)e->step_id <= t->n_steps && broken[e->step_id - 1];
    const char *rel = p->file;
    size_t wl = strlen(ws);
    if (rel && strncmp(rel, ws, wl) == 0 && rel[wl] == '/') rel += wl + 1;
    if (json) {
        json_t *o =
            json_pack("{s:s,s:i,s:s,s:s?,s:s?,s:s}", "trajectory", t->id, "step", e->step_id, "via",
                      e->via, "path", e->path, "file", rel, "status", p->status);
        if (e->reason) json_object_set_new(o, "reason", json_string(e->reason));
        if (e->line_start) json_object_set_new(o, "edit_line", json_integer(e->line_start));
        if (strcmp(p->status, "found") == 0) {
            json_object_set_new(o, "match", json_string(ct_match_kind_name(p->match.kind)));
            json_object_set_new(o, "range", span_json(&p->match.span));
            if (p->match.n_exact > 1)
                json_object_set_new(o, "occurrences", json_integer((json_int_t)p->match.n_exact));
            if (p->match.kind == CT_MATCH_FUZZY)
                json_object_set_new(o, "score", json_real(p->match.score));
        }
        if (p->has_def) {
            json_t *d = json_pack("{s:s,s:s}", "kind", p->def.kind, "name", p->def.name);
            json_object_set_new(d, "range", span_json(&p->def.span));
            json_object_set_new(o, "definition", d);
        }
        json_object_set_new(o, "syntax_broken", json_boolean(brk));
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s) puts(s);
        free(s);
        json_decref(o);
        return;
    }
    printf("step %-4d %-12s %s", e->step_id, e->via, e->path ? e->path : "(no path)");
    if (rel && (!e->path || strcmp(rel, e->path) != 0)) printf(" -> %s", rel);
    if (strcmp(p->status, "found") == 0) {
        const ct_span *s = &p->match.span;
        printf(":%d:%d-%d:%d  %s", s->line_start + 1, s->col_start + 1, s->line_end + 1,
               s->col_end + 1, ct_match_kind_name(p->match.kind));
        if (p->has_def) printf("  in %s %s", p->def.kind, p->def.name);
    } else {
        printf("  %s", p->status);
        if (e->reason) printf(": %s", e->reason);
    }
    if (brk) printf("  [syntax broken by this step]");
    putchar('\n');
}

int cmd_edits(int argc, char **argv)
{
    const char *path = NULL, *ws = ".", *root = NULL, *format = NULL;
    int json = 0;
    ct_path_map maps[MAX_MAPS];
    char *map_buf[MAX_MAPS];
    size_t n_maps = 0;
    int rc = CT_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            goto out;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if ((strcmp(a, "--workspace") == 0 || strcmp(a, "-w") == 0) && i + 1 < argc) {
            ws = argv[++i];
        } else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(a, "--map") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            const char *eq = strchr(m, '=');
            if (!eq || eq == m || !eq[1] || n_maps == MAX_MAPS) {
                fprintf(stderr, "codetracer edits: --map wants FROM=TO (at most %d)\n", MAX_MAPS);
                rc = CT_EXIT_USAGE;
                goto out;
            }
            map_buf[n_maps] = strdup(m);
            map_buf[n_maps][eq - m] = 0;
            maps[n_maps].from = map_buf[n_maps];
            maps[n_maps].to = map_buf[n_maps] + (eq - m) + 1;
            n_maps++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "codetracer edits: unknown option '%s'\n", a);
            usage(stderr);
            rc = CT_EXIT_USAGE;
            goto out;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "codetracer edits: one PATH only\n");
            rc = CT_EXIT_USAGE;
            goto out;
        }
    }
    if (!path) {
        usage(stderr);
        rc = CT_EXIT_USAGE;
        goto out;
    }
    ct_load_opts lo = {0};
    lo.format = format;
    ct_traj_list tl = {0};
    ct_error err;
    ct_error_clear(&err);
    int lrc = ct_load_path(path, &lo, &tl, cli_warn, NULL, &err);
    if (lrc != CT_OK) {
        cli_print_error(&err);
        rc = cli_exit_for(lrc);
        ct_traj_list_free(&tl);
        goto out;
    }
    for (size_t k = 0; k < tl.n && rc == CT_EXIT_OK; k++) {
        ct_trajectory *t = tl.items[k];
        ct_edit_list el = {0};
        ct_edits_from_traj(t, &el, NULL);
        ct_spans_opts so = {0};
        so.workspace = ws;
        so.root = root;
        so.maps = maps;
        so.n_maps = n_maps;
        ct_edit_place *pl = NULL;
        char detected[1024];
        ct_error_clear(&err);
        if (ct_spans_place_edits(&el, &so, &pl, detected, sizeof detected, &err) != CT_OK) {
            cli_print_error(&err);
            rc = CT_EXIT_USAGE;
        } else {
            unsigned char *broken = ct_xcalloc(t->n_steps ? t->n_steps : 1, 1);
            ct_spans_syntax_scan(t, broken, NULL);
            if (!json)
                printf("%s: %zu edit%s; container root %s%s%s -> %s\n", t->id, el.n,
                       el.n == 1 ? "" : "s", root || *detected ? "\"" : "",
                       root        ? root
                       : *detected ? detected
                                   : "(none detected)",
                       root || *detected ? "\"" : "", ws);
            for (size_t i = 0; i < el.n; i++)
                print_place(t, &pl[i], ws, json, broken);
            free(broken);
        }
        ct_spans_places_free(pl, el.n);
        ct_edits_free(&el);
    }
    ct_traj_list_free(&tl);
out:
    for (size_t i = 0; i < n_maps; i++)
        free(map_buf[i]);
    return rc;
}
