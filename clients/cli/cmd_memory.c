/* codetracer memory — see and curate the memory database: insights, cache, feedback. */
#include "cli.h"
#include "ct/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: codetracer memory <action> [options] [--db FILE] [--json]\n\n"
        "  list   [--kind K] [--agent A] [--model M] [--limit N]   insights, newest first\n"
        "  search QUERY [--agent A] [--model M] [--limit N] [--budget CHARS] [--no-bump]\n"
        "                                     insights ranked by relevance (bm25)\n"
        "  show   ID                          one insight with the trajectories it came from\n"
        "  add    TEXT --kind K [--agent A] [--model M] [--source HASH]\n"
        "                                     add an insight (near-duplicates merge)\n"
        "  forget ID | --cache [HASH] | --feedback HASH [--step N]\n"
        "                                     delete an insight, cached analyses or feedback\n"
        "  export [--merge-analysis] [-o FILE] feedback as CodeTraceBench manifest rows (JSONL)\n"
        "  stats                              what the database holds\n\n"
        "K is failure_pattern, strategy or pitfall. The database is --db FILE, else\n"
        "$CODETRACER_DB, else $XDG_DATA_HOME/codetracer/codetracer.db.\n");
}

typedef struct opts {
    const char *db, *kind, *agent, *model, *source, *out, *hash_arg;
    long long limit, budget, step;
    int json, no_bump, merge, cache, feedback;
    const char *pos[4];
    int n_pos;
} opts;

static int parse_num(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0) return -1;
    *out = v;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->limit = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int nx = i + 1 < argc;
        const char **sv = NULL;
        long long *nv = NULL;
        if (strcmp(a, "--db") == 0)
            sv = &o->db;
        else if (strcmp(a, "--kind") == 0)
            sv = &o->kind;
        else if (strcmp(a, "--agent") == 0)
            sv = &o->agent;
        else if (strcmp(a, "--model") == 0)
            sv = &o->model;
        else if (strcmp(a, "--source") == 0)
            sv = &o->source;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            sv = &o->out;
        else if (strcmp(a, "--limit") == 0)
            nv = &o->limit;
        else if (strcmp(a, "--budget") == 0)
            nv = &o->budget;
        else if (strcmp(a, "--step") == 0)
            nv = &o->step;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--no-bump") == 0)
            o->no_bump = 1;
        else if (strcmp(a, "--merge-analysis") == 0)
            o->merge = 1;
        else if (strcmp(a, "--cache") == 0)
            o->cache = 1;
        else if (strcmp(a, "--feedback") == 0)
            o->feedback = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "codetracer memory: unknown option '%s' (see --help)\n", a);
            return -1;
        } else if (o->n_pos < 4) {
            o->pos[o->n_pos++] = a;
        } else {
            fprintf(stderr, "codetracer memory: too many arguments\n");
            return -1;
        }
        if ((sv || nv) && !nx) {
            fprintf(stderr, "codetracer memory: %s needs a value\n", a);
            return -1;
        }
        if (sv) *sv = argv[++i];
        if (nv && parse_num(argv[++i], nv) != 0) {
            fprintf(stderr, "codetracer memory: %s needs a number >= 0, got '%s'\n", a, argv[i]);
            return -1;
        }
    }
    return 0;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    puts(s);
    free(s);
    json_decref(o);
}

static json_t *insight_json(const ct_insight *e)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)e->id,
                  "kind", ct_insight_kind_name(e->kind), "agent", e->agent, "model", e->model,
                  "text", e->text, "use_count", (json_int_t)e->use_count, "hits",
                  (json_int_t)e->hits, "created_at", (json_int_t)e->created_at, "updated_at",
                  (json_int_t)e->updated_at, "last_used_at", (json_int_t)e->last_used_at);
    if (e->score != 0) json_object_set_new(o, "score", json_real(e->score));
    if (e->sources) {
        json_t *src = json_array();
        for (size_t i = 0; i < e->n_sources; i++)
            json_array_append_new(src, json_string(e->sources[i]));
        json_object_set_new(o, "sources", src);
    }
    return o;
}

static void print_insights(const ct_insight *v, size_t n, int json)
{
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, insight_json(&v[i]));
        print_json(arr);
        return;
    }
    for (size_t i = 0; i < n; i++)
        printf("%lld  %-15s %s%s%s%s  (hits %lld, used %lld)\n    %s\n", v[i].id,
               ct_insight_kind_name(v[i].kind), *v[i].agent ? v[i].agent : "any agent",
               *v[i].model ? " / " : "", v[i].model, "", v[i].hits, v[i].use_count, v[i].text);
    if (!n) printf("(no insights)\n");
}

static int kind_opt(const char *name, int *out)
{
    ct_insight_kind k;
    if (!name) {
        *out = -1;
        return 0;
    }
    if (ct_insight_kind_from_name(name, &k) != 0) {
        fprintf(
            stderr,
            "codetracer memory: --kind must be failure_pattern, strategy or pitfall, got '%s'\n",
            name);
        return -1;
    }
    *out = (int)k;
    return 0;
}

static int fail(ct_memory *m, const ct_error *err, int rc)
{
    cli_print_error(err);
    ct_memory_close(m);
    if (rc == CT_ENOTFOUND) return CT_EXIT_INPUT;
    if (rc == CT_EINVAL || rc == CT_ELIMIT) return CT_EXIT_USAGE;
    return CT_EXIT_INTERNAL;
}

int cmd_memory(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CT_EXIT_USAGE : CT_EXIT_OK;
    }
    const char *action = argv[1];
    static const char *const actions[] = {"list",   "search", "show",  "add",
                                          "forget", "export", "stats", NULL};
    int known = 0;
    for (int i = 0; actions[i]; i++)
        known |= strcmp(action, actions[i]) == 0;
    if (!known) {
        fprintf(stderr, "codetracer memory: unknown action '%s'\n\n", action);
        usage(stderr);
        return CT_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CT_EXIT_OK;
        }
    opts o;
    if (parse(argc, argv, &o) != 0) return CT_EXIT_USAGE;
    int kind;
    if (kind_opt(o.kind, &kind) != 0) return CT_EXIT_USAGE;

    /* Check the arguments before touching the database. */
    long long id = 0;
    if (strcmp(action, "show") == 0 || (strcmp(action, "forget") == 0 && !o.cache && !o.feedback)) {
        if (o.n_pos != 1 || parse_num(o.pos[0], &id) != 0) {
            fprintf(stderr,
                    "codetracer memory %s: needs an insight ID (a number; see 'memory list')\n",
                    action);
            return CT_EXIT_USAGE;
        }
    }
    if (strcmp(action, "forget") == 0 && o.feedback && o.n_pos != 1) {
        fprintf(stderr, "codetracer memory forget --feedback: needs the trajectory HASH\n");
        return CT_EXIT_USAGE;
    }
    if (strcmp(action, "add") == 0 && (o.n_pos != 1 || kind < 0)) {
        fprintf(stderr,
                "codetracer memory add: needs TEXT and --kind failure_pattern|strategy|pitfall\n");
        return CT_EXIT_USAGE;
    }
    if (strcmp(action, "search") == 0 && o.n_pos != 1) {
        fprintf(stderr, "codetracer memory search: needs one QUERY (quote it)\n");
        return CT_EXIT_USAGE;
    }

    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    int rc = ct_memory_open(o.db, &m, &err);
    if (rc != CT_OK) return fail(NULL, &err, rc);

    if (strcmp(action, "list") == 0 || strcmp(action, "search") == 0) {
        ct_insight *v = NULL;
        size_t n = 0;
        if (action[0] == 'l')
            rc = ct_memory_insight_list(m, kind, o.agent, o.model,
                                        o.limit < 0 ? 0 : (size_t)o.limit, &v, &n, &err);
        else
            rc = ct_memory_insight_search(m, o.pos[0], o.agent, o.model,
                                          o.limit < 0 ? 5 : (size_t)o.limit, (size_t)o.budget,
                                          o.no_bump, &v, &n, &err);
        if (rc != CT_OK) return fail(m, &err, rc);
        print_insights(v, n, o.json);
        ct_memory_insights_free(v, n);
    } else if (strcmp(action, "show") == 0) {
        ct_insight *e = NULL;
        rc = ct_memory_insight_get(m, id, &e, &err);
        if (rc != CT_OK) return fail(m, &err, rc);
        if (o.json) {
            print_json(insight_json(e));
        } else {
            print_insights(e, 1, 0);
            printf("    learnt from %zu trajector%s\n", e->n_sources,
                   e->n_sources == 1 ? "y" : "ies");
            for (size_t i = 0; i < e->n_sources; i++)
                printf("      %s\n", e->sources[i]);
        }
        ct_memory_insights_free(e, 1);
    } else if (strcmp(action, "add") == 0) {
        long long nid = 0;
        int merged = 0;
        rc = ct_memory_insight_add(m, (ct_insight_kind)kind, o.agent, o.model, o.pos[0], o.source,
                                   &nid, &merged, &err);
        if (rc != CT_OK) return fail(m, &err, rc);
        if (o.json)
            print_json(json_pack("{s:I, s:b}", "id", (json_int_t)nid, "merged", merged));
        else
            printf("%s insight %lld\n", merged ? "merged into" : "added", nid);
    } else if (strcmp(action, "forget") == 0) {
        long long n = 0;
        if (o.cache)
            rc = ct_memory_cache_forget(m, o.n_pos ? o.pos[0] : NULL, &n, &err);
        else if (o.feedback)
            rc = ct_memory_feedback_forget(m, o.pos[0], (int)o.step, &n, &err);
        else {
            rc = ct_memory_insight_forget(m, id, &err);
            n = 1;
        }
        if (rc != CT_OK) return fail(m, &err, rc);
        if (o.json)
            print_json(json_pack("{s:I}", "removed", (json_int_t)n));
        else
            printf("removed %lld %s\n", n,
                   o.cache      ? "cached analyses"
                   : o.feedback ? "feedback rows"
                                : "insight");
    } else if (strcmp(action, "export") == 0) {
        char *text = NULL;
        size_t rows = 0;
        rc = ct_memory_export(m, o.merge, &text, &rows, &err);
        if (rc != CT_OK) return fail(m, &err, rc);
        FILE *f = o.out ? fopen(o.out, "w") : stdout;
        int bad = !f || fputs(text, f) < 0;
        if (f && f != stdout) bad |= fclose(f) != 0;
        free(text);
        if (bad) {
            fprintf(stderr, "codetracer memory export: cannot write %s: %s\n",
                    o.out ? o.out : "stdout", strerror(errno));
            ct_memory_close(m);
            return CT_EXIT_OUTPUT;
        }
        if (o.out) fprintf(stderr, "codetracer: exported %zu trajectories to %s\n", rows, o.out);
    } else { /* stats */
        ct_memory_stats s;
        rc = ct_memory_stats_get(m, &s, &err);
        if (rc != CT_OK) return fail(m, &err, rc);
        if (o.json) {
            print_json(json_pack(
                "{s:s, s:i, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I}", "db", ct_memory_path(m),
                "schema_version", s.schema_version, "trajectories", (json_int_t)s.trajectories,
                "analyses", (json_int_t)s.analyses, "feedback", (json_int_t)s.feedback, "insights",
                (json_int_t)s.insights, "insights_by_kind", "failure_pattern",
                (json_int_t)s.insights_by_kind[0], "strategy", (json_int_t)s.insights_by_kind[1],
                "pitfall", (json_int_t)s.insights_by_kind[2], "bytes", (json_int_t)s.bytes));
        } else {
            printf("database      %s (schema v%d, %lld bytes)\n", ct_memory_path(m),
                   s.schema_version, s.bytes);
            printf("trajectories  %lld\nanalyses      %lld\nfeedback      %lld\n", s.trajectories,
                   s.analyses, s.feedback);
            printf("insights      %lld (failure_pattern %lld, strategy %lld, pitfall %lld)\n",
                   s.insights, s.insights_by_kind[0], s.insights_by_kind[1], s.insights_by_kind[2]);
        }
    }
    ct_memory_close(m);
    return CT_EXIT_OK;
}
