/* cmd_llm.c — `codetracer llm check|config|price|diagnose`: try the configured LLM endpoint with
 * one tiny request, show the effective LLM settings (key redacted), look a model up in the price
 * table, run the diagnosis agent (ct_agent_analyze) on one trajectory. */
#include "cli.h"
#include "ct/agent.h"
#include "ct/config.h"
#include "ct/llm.h"
#include "ct/memory.h"
#include "ct/profiles.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: codetracer llm check  [options]   send one tiny request; print the model,\n"
        "                                         latency, tokens and cost\n"
        "       codetracer llm config [options]   print the effective llm/trace settings as\n"
        "                                         JSON (the key is shown as <redacted>)\n"
        "       codetracer llm price MODEL        the price-table entry for MODEL\n"
        "       codetracer llm diagnose PATH [--work-dir D] [--hybrid] [--output-dir D]\n"
        "                               [--memory DB] [--json] [options]\n"
        "                                         run the LLM diagnosis agent on one\n"
        "                                         trajectory (docs/llm.md)\n\n"
        "Settings come from, lowest first: built-in defaults < ~/.config/codetracer/config.yaml\n"
        "($XDG_CONFIG_HOME) < --config FILE < CODETRACER_API_BASE / CODETRACER_API_KEY /\n"
        "CODETRACER_MODEL (then OPENAI_BASE_URL, OPENAI_API_BASE, OPENAI_API_KEY, OPENAI_MODEL)\n"
        "< the flags below. There is no --api-key flag: a command line is visible to every\n"
        "user of the machine; put the key in the environment or a config file.\n\n"
        "options:\n"
        "  -c, --config FILE   a YAML config merged over the defaults\n"
        "  --api-base URL      OpenAI-compatible base URL (e.g. https://api.openai.com/v1)\n"
        "  --model NAME        model name\n"
        "  --cost-limit USD    budget cap; a call it cannot cover is not sent (0 = none)\n"
        "  --timeout S         seconds per HTTP request\n"
        "  --json              machine-readable output (check, diagnose)\n"
        "  --work-dir D        diagnose: the agent's scratch dir (default: a new one in\n"
        "                      $TMPDIR, kept and named on stderr)\n"
        "  --hybrid            diagnose: give the heuristic findings to the agent as\n"
        "                      candidates; merge (the agent wins on steps it inspected)\n"
        "  --output-dir D      diagnose: write the profile files and the agent's\n"
        "                      conversation (codetracer_analysis.traj.json) into D\n"
        "  --memory DB         diagnose: prior knowledge from and online insights into the\n"
        "                      memory database DB\n"
        "exit status: 0 ok, 2 usage or configuration error, 3 config file unreadable,\n"
        "5 the request failed (network, HTTP error, bad response, budget).\n");
}

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "codetracer: warning: %s\n", msg);
}

static int parse_number(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

static int do_check(json_t *cfg, int json)
{
    ct_error err;
    ct_error_clear(&err);
    ct_llm_client *c = ct_llm_client_new(cfg, &err);
    if (!c) {
        cli_print_error(&err);
        return err.code == CT_EINVAL ? CT_EXIT_USAGE : CT_EXIT_INPUT;
    }
    ct_llm_client_set_warn(c, on_warn, NULL);
    json_t *msgs =
        json_pack("[{s:s, s:s}]", "role", "user", "content", "Reply with the single word: pong");
    ct_llm_request req = {msgs, NULL, NULL, 16, 0.0, "check"};
    ct_llm_response r;
    int st = ct_llm_chat(c, &req, &r, &err);
    json_decref(msgs);
    if (st != CT_OK) {
        cli_print_error(&err);
        ct_llm_client_free(c);
        return CT_EXIT_INTERNAL;
    }
    if (json) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:f, s:i, s:I, s:I, s:b, s:f, s:s, s:s}", "endpoint",
                      ct_llm_client_url(c), "model", ct_llm_client_model(c), "response_model",
                      r.model, "latency_s", r.latency_s, "attempts", r.attempts, "prompt_tokens",
                      (json_int_t)r.usage.prompt_tokens, "completion_tokens",
                      (json_int_t)r.usage.completion_tokens, "priced", r.usage.priced, "cost_usd",
                      r.usage.cost_usd, "finish_reason", r.finish_reason, "reply", r.content);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("endpoint: %s\n", ct_llm_client_url(c));
        printf("model: %s", ct_llm_client_model(c));
        if (strcmp(r.model, ct_llm_client_model(c)) != 0) printf(" (answered by %s)", r.model);
        printf("\nlatency: %.3f s (%d attempt%s)\n", r.latency_s, r.attempts,
               r.attempts == 1 ? "" : "s");
        printf("tokens: %lld prompt, %lld completion\n", r.usage.prompt_tokens,
               r.usage.completion_tokens);
        if (r.usage.priced)
            printf("cost: $%.6f\n", r.usage.cost_usd);
        else
            printf("cost: unknown (no price for this model)\n");
        printf("reply: %.200s\n", r.content);
    }
    ct_llm_response_free(&r);
    ct_llm_client_free(c);
    return CT_EXIT_OK;
}

/* Live progress: on a terminal one status line ("turn N · step K · 12.3k tok · $0.0123")
 * rewritten in place, cleared before any other line; otherwise one line per turn. */
static atomic_int status_open;

static void status_clear(void)
{
    if (atomic_exchange(&status_open, 0)) fputs("\r\033[K", stderr);
}

static void agent_usage(int turn, int step, const char *text)
{
    long long in = 0, out = 0;
    double usd = 0;
    if (!text || sscanf(text, "%lld %lld %lf", &in, &out, &usd) != 3) return;
    char tok[32], where[32] = "";
    long long n = in + out;
    if (n >= 1000)
        snprintf(tok, sizeof tok, "%.1fk", (double)n / 1000.0);
    else
        snprintf(tok, sizeof tok, "%lld", n);
    if (step > 0) snprintf(where, sizeof where, " · step %d", step);
    if (isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r\033[Kturn %d%s · %s tok · $%.4f", turn, where, tok, usd);
        atomic_store(&status_open, 1);
    } else {
        fprintf(stderr, "agent turn %d%s · %s tok · $%.4f\n", turn, where, tok, usd);
    }
    fflush(stderr);
}

void cli_agent_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    (void)ud;
    if (k == CT_AGENT_EV_USAGE) {
        agent_usage(step, code, text);
        return;
    }
    if (k != CT_AGENT_EV_STEP_START && k != CT_AGENT_EV_LLM_RESPONSE &&
        k != CT_AGENT_EV_OBSERVATION)
        status_clear();
    switch (k) {
    case CT_AGENT_EV_TOOL_EXEC:
        fprintf(stderr, "agent step %d: $ %.200s\n", step, text);
        break;
    case CT_AGENT_EV_FORMAT_ERROR:
        fprintf(stderr, "agent step %d: reply had %d bash blocks, asked again\n", step, code);
        break;
    case CT_AGENT_EV_BUDGET_WARNING:
        fprintf(stderr, "agent step %d: %s\n", step, text);
        break;
    case CT_AGENT_EV_WARNING:
        fprintf(stderr, "codetracer: warning: %s\n", text);
        break;
    case CT_AGENT_EV_COMPACT:
        fprintf(stderr, "agent step %d: context compacted (%d earlier messages)\n", step, code);
        break;
    case CT_AGENT_EV_DONE:
        fprintf(stderr, "agent: %s after %d LLM calls\n", text, step);
        break;
    default:
        break;
    }
}

typedef struct diag_args {
    const char *work_dir, *output_dir, *memory;
    int hybrid;
} diag_args;

static int do_diagnose(json_t *cfg, const char *path, const diag_args *da, int json)
{
    const char *work_dir = da->work_dir;
    ct_error err;
    ct_error_clear(&err);
    ct_traj_list list = {0};
    if (ct_load_path(path, NULL, &list, cli_warn, NULL, &err) != CT_OK) {
        cli_print_error(&err);
        ct_traj_list_free(&list);
        return cli_exit_for(err.code);
    }
    if (list.n != 1) {
        fprintf(stderr,
                "codetracer llm diagnose: %s holds %zu trajectories; pick one with PATH#K\n", path,
                list.n);
        ct_traj_list_free(&list);
        return CT_EXIT_USAGE;
    }
    char dir[4096];
    if (work_dir) {
        snprintf(dir, sizeof dir, "%s", work_dir);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "codetracer: %s: cannot create the work dir: %s\n", dir,
                    strerror(errno));
            ct_traj_list_free(&list);
            return CT_EXIT_OUTPUT;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/codetracer-agent-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "codetracer: cannot create a work dir in %s\n", tmp ? tmp : "/tmp");
            ct_traj_list_free(&list);
            return CT_EXIT_OUTPUT;
        }
        fprintf(stderr, "agent work dir: %s\n", dir);
    }
    ct_llm_client *c = ct_llm_client_new(cfg, &err);
    if (!c) {
        cli_print_error(&err);
        ct_traj_list_free(&list);
        return err.code == CT_EINVAL ? CT_EXIT_USAGE : CT_EXIT_INPUT;
    }
    ct_llm_client_set_warn(c, on_warn, NULL);
    char traj_path[4096] = "";
    if (da->output_dir) {
        if (mkdir(da->output_dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "codetracer: %s: cannot create the output dir: %s\n", da->output_dir,
                    strerror(errno));
            ct_llm_client_free(c);
            ct_traj_list_free(&list);
            return CT_EXIT_OUTPUT;
        }
        snprintf(traj_path, sizeof traj_path, "%s/codetracer_analysis.traj.json", da->output_dir);
    }
    ct_memory *mem = NULL;
    if (da->memory && ct_memory_open(da->memory, &mem, &err) != CT_OK) {
        cli_print_error(&err);
        ct_llm_client_free(c);
        ct_traj_list_free(&list);
        return CT_EXIT_INPUT;
    }
    ct_agent_analyze_opts ao;
    memset(&ao, 0, sizeof ao);
    ao.mode = da->hybrid ? "hybrid" : "llm";
    ao.work_dir = dir;
    ao.traj_path = traj_path[0] ? traj_path : NULL;
    ao.llm = c;
    ao.memory = mem;
    ao.on_event = cli_agent_event;
    ct_analysis *a = NULL;
    int st = ct_agent_analyze(list.items[0], cfg, &ao, &a, &err);
    if (mem) ct_memory_close(mem);
    int rc = CT_EXIT_OK;
    if (st != CT_OK || !a) {
        cli_print_error(&err);
        rc = CT_EXIT_INTERNAL;
    } else if (da->output_dir &&
               ct_profile_write(da->output_dir, CT_PROFILE_ALL, a, &err) != CT_OK) {
        cli_print_error(&err);
        rc = CT_EXIT_OUTPUT;
    }
    if (a && json) {
        json_t *j = ct_analysis_to_json(a);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(j);
    } else if (a) {
        for (size_t i = 0; i < a->n_labels; i++)
            if (a->labels[i].label != CT_LABEL_CORRECT)
                printf("step %d: %s: %s\n", a->labels[i].step_id, ct_label_name(a->labels[i].label),
                       a->labels[i].reasoning ? a->labels[i].reasoning : "");
        for (size_t i = 0; i < a->n_root_cause; i++)
            printf("root cause %zu: %s\n", i + 1, a->root_cause_chain[i]);
        if (a->summary) printf("summary: %s\n", a->summary);
        if (a->partial) printf("partial: stopped by %s\n", a->stop_reason);
        printf("cost: $%.6f (%lld prompt, %lld completion tokens)\n", a->cost_usd, a->tokens_in,
               a->tokens_out);
    }
    ct_analysis_free(a);
    ct_llm_client_free(c);
    ct_traj_list_free(&list);
    return rc;
}

static int do_config(const json_t *cfg)
{
    json_t *red = ct_config_redacted(cfg);
    /* a password in the endpoint URL (https://user:secret@host/v1) is not shown either */
    char *base = ct_llm_url_redact(ct_config_str(red, "llm.api_base", ""));
    if (*base) ct_config_set(red, "llm.api_base", json_string(base));
    free(base);
    json_t *o = json_object();
    json_object_set(o, "llm", json_object_get(red, "llm"));
    json_object_set(o, "trace", json_object_get(red, "trace"));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s) puts(s);
    free(s);
    json_decref(o);
    json_decref(red);
    return CT_EXIT_OK;
}

static int do_price(const json_t *cfg, const char *model)
{
    ct_error err;
    ct_error_clear(&err);
    json_t *t = ct_llm_prices_load(ct_config_str(cfg, "llm.prices_file", ""), &err);
    if (!t) {
        cli_print_error(&err);
        return CT_EXIT_INPUT;
    }
    ct_llm_price p;
    int found = ct_llm_price_lookup(t, model, &p);
    json_decref(t);
    if (!found) {
        printf("%s: no price (tokens are counted, cost is not)\n", model);
        return CT_EXIT_OK;
    }
    printf("%s: $%.2f input, $%.2f output per 1M tokens\n", model, p.input, p.output);
    return CT_EXIT_OK;
}

int cmd_llm(int argc, char **argv)
{
    const char *sub = NULL, *config = NULL, *api_base = NULL, *model = NULL, *arg = NULL;
    diag_args da = {NULL, NULL, NULL, 0};
    double cost = -1, timeout = -1;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return CT_EXIT_OK;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && has_next) {
            config = argv[++i];
        } else if (strcmp(a, "--api-base") == 0 && has_next) {
            api_base = argv[++i];
        } else if (strcmp(a, "--model") == 0 && has_next) {
            model = argv[++i];
        } else if (strcmp(a, "--cost-limit") == 0 && has_next) {
            if (parse_number(argv[++i], &cost) != 0) {
                fprintf(stderr, "codetracer llm: --cost-limit needs a number of USD >= 0\n");
                return CT_EXIT_USAGE;
            }
        } else if (strcmp(a, "--timeout") == 0 && has_next) {
            if (parse_number(argv[++i], &timeout) != 0 || timeout <= 0) {
                fprintf(stderr, "codetracer llm: --timeout needs a number of seconds > 0\n");
                return CT_EXIT_USAGE;
            }
        } else if (strcmp(a, "--work-dir") == 0 && has_next) {
            da.work_dir = argv[++i];
        } else if (strcmp(a, "--output-dir") == 0 && has_next) {
            da.output_dir = argv[++i];
        } else if (strcmp(a, "--memory") == 0 && has_next) {
            da.memory = argv[++i];
        } else if (strcmp(a, "--hybrid") == 0) {
            da.hybrid = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--api-key") == 0) {
            fprintf(stderr, "codetracer llm: there is no --api-key flag (a command line is "
                            "visible to other users); set CODETRACER_API_KEY or llm.api_key in "
                            "a config file\n");
            return CT_EXIT_USAGE;
        } else if (a[0] == '-') {
            fprintf(stderr, "codetracer llm: unknown option or missing value '%s'\n", a);
            return CT_EXIT_USAGE;
        } else if (!sub) {
            sub = a;
        } else if (!arg) {
            arg = a;
        } else {
            fprintf(stderr, "codetracer llm: unexpected argument '%s'\n", a);
            return CT_EXIT_USAGE;
        }
    }
    int takes_arg = sub && (strcmp(sub, "price") == 0 || strcmp(sub, "diagnose") == 0);
    if (!sub || (strcmp(sub, "check") != 0 && strcmp(sub, "config") != 0 && !takes_arg) ||
        takes_arg != (arg != NULL)) {
        usage(stderr);
        return CT_EXIT_USAGE;
    }
    ct_error err;
    ct_error_clear(&err);
    json_t *cfg = ct_config_load_layered(config, &err);
    if (!cfg) {
        cli_print_error(&err);
        return CT_EXIT_INPUT;
    }
    if (api_base) ct_config_set(cfg, "llm.api_base", json_string(api_base));
    if (model) ct_config_set(cfg, "llm.model_name", json_string(model));
    if (cost >= 0) ct_config_set(cfg, "trace.cost_limit", json_real(cost));
    if (timeout > 0) ct_config_set(cfg, "llm.timeout", json_real(timeout));
    int rc;
    if (strcmp(sub, "check") == 0)
        rc = do_check(cfg, json);
    else if (strcmp(sub, "config") == 0)
        rc = do_config(cfg);
    else if (strcmp(sub, "diagnose") == 0)
        rc = do_diagnose(cfg, arg, &da, json);
    else
        rc = do_price(cfg, arg);
    json_decref(cfg);
    return rc;
}
