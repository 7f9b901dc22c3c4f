/* test_llm_agent.c — the agent loop against a scripted Chat Completions server on 127.0.0.1 (a
 * thread here): one bash block per reply is run in the sandbox and its observation sent back;
 * TRACER_FINAL_OUTPUT ends the run; replies without exactly one block get a format-error message
 * (and too many in a row stop the run); the step limit and the budget stop it without extra
 * calls. Every expected string is written from the scripted replies below. */
#include "check.h"
#include "httpd.h"
#include "ct/agent.h"
#include "ct/config.h"
#include "ct/sandbox.h"
#include "ct/trajectory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef test_httpd server;

/* A chat completion around an assistant text (the server's `wrap`). */
static char *reply_json(const char *text)
{
    json_t *o =
        json_pack("{s:s, s:[{s:{s:s, s:s}, s:s}], s:{s:i, s:i}}", "model", "gpt-4o-mini", "choices",
                  "message", "role", "assistant", "content", text, "finish_reason", "stop", "usage",
                  "prompt_tokens", 1000, "completion_tokens", 100);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void server_start(server *s)
{
    s->wrap = reply_json;
    CHECK(httpd_start(s) == 0);
}

static void server_stop(server *s)
{
    httpd_stop(s);
}

static ct_llm_client *client_for(server *s, double budget)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", s->port);
    json_t *cfg = ct_config_defaults();
    ct_config_set(cfg, "llm.api_base", json_string(base));
    ct_config_set(cfg, "llm.model_name", json_string("gpt-4o-mini"));
    ct_config_set(cfg, "llm.max_tokens", json_integer(100));
    ct_config_set(cfg, "trace.cost_limit", json_real(budget));
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    return c;
}

static char workdir[] = "/tmp/h8_agent_XXXXXX";
static int events[CT_AGENT_EV_USAGE + 1];

static void on_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    (void)ud, (void)step, (void)code, (void)text;
    events[k]++;
}

static ct_agent_opts opts(int step_limit)
{
    ct_agent_opts o;
    memset(&o, 0, sizeof o);
    o.system_prompt = "You are a test agent.";
    o.instance_prompt = "Inspect, then finish.";
    o.work_dir = workdir;
    o.step_limit = step_limit;
    o.command_timeout_s = 10;
    o.output_cap = 4096;
    o.sandbox_mode = CT_SANDBOX_AUTO;
    o.on_event = on_event;
    return o;
}

static void test_extract(void)
{
    char *cmd;
    CHECK_INT(ct_agent_extract_bash("THOUGHT: x\n```bash\n  ls -la \n```\n", &cmd), 1);
    CHECK_STR(cmd, "ls -la");
    free(cmd);
    CHECK_INT(ct_agent_extract_bash("```sh\r\necho a\r\n```", &cmd), 1);
    CHECK_STR(cmd, "echo a");
    free(cmd);
    CHECK_INT(ct_agent_extract_bash("no block here", &cmd), 0);
    CHECK(cmd == NULL);
    CHECK_INT(ct_agent_extract_bash("```bash\na\n```\n```bash\nb\n```", &cmd), 2);
    CHECK(cmd == NULL);
    /* other fences (and their contents) do not count */
    CHECK_INT(ct_agent_extract_bash("```python\nprint(1)\n```\n```bash\nid\n```", &cmd), 1);
    CHECK_STR(cmd, "id");
    free(cmd);
    CHECK_INT(ct_agent_extract_bash("```\nplain fence\n```", &cmd), 0);
    CHECK_INT(ct_agent_extract_bash("```bash\nunclosed", &cmd), 0);
    CHECK_INT(ct_agent_extract_bash("```bashful\nx\n```", &cmd), 0);
}

static void test_complete_run(void)
{
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "THOUGHT: write a note\n```bash\necho hello > note.txt; cat note.txt; "
                   "echo \"key=${OPENAI_API_KEY:-none}\"\n```";
    s.replies[1] = "I will look twice\n```bash\nls\n```\n```bash\npwd\n```";
    s.replies[2] = "Done.\n```bash\necho TRACER_FINAL_OUTPUT; echo 'labels written'\n```";
    s.n_replies = 3;
    server_start(&s);
    setenv("OPENAI_API_KEY", "sk-agent-secret", 1);
    ct_llm_client *c = client_for(&s, 3.0);
    CHECK(c != NULL);
    ct_agent_opts o = opts(0);
    ct_agent_result r;
    ct_error e;
    ct_error_clear(&e);
    memset(events, 0, sizeof events);
    CHECK_INT(ct_agent_run(c, &o, &r, &e), CT_OK);
    CHECK_INT(r.status, CT_AGENT_COMPLETE);
    CHECK_STR(r.final_output, "labels written\n");
    CHECK_INT(r.llm_calls, 3);
    CHECK_INT(r.commands, 2);
    CHECK_INT(r.format_errors, 1);
    CHECK_INT(httpd_served(&s), 3);
    /* 3 calls × (1000·0.15 + 100·0.60)/1e6 = 3 × 0.00021 */
    CHECK(r.cost_usd > 0.00062999 && r.cost_usd < 0.00063001);
    /* the second request carries the first observation; the key never reached the command */
    CHECK(s.requests[1] &&
          strstr(s.requests[1], "<returncode>0</returncode>\\n<output>\\nhello\\nkey=none\\n"
                                "</output>") != NULL);
    CHECK(s.requests[1] && strstr(s.requests[1], "sk-agent-secret") == NULL);
    CHECK(s.requests[2] && strstr(s.requests[2], "exactly one ```bash block") != NULL);
    CHECK(s.requests[2] && strstr(s.requests[2], "found 2") != NULL);
    /* system, user, then assistant/user pairs; the final reply closes it */
    CHECK_INT(json_array_size(r.messages), 2 + 2 + 2 + 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(r.messages, 0), "role")), "system");
    CHECK_INT(events[CT_AGENT_EV_TOOL_EXEC], 2);
    CHECK_INT(events[CT_AGENT_EV_FORMAT_ERROR], 1);
    CHECK_INT(events[CT_AGENT_EV_DONE], 1);
    char note[300];
    snprintf(note, sizeof note, "%s/note.txt", workdir);
    CHECK(access(note, F_OK) == 0);
    unlink(note);
    ct_agent_result_free(&r);
    ct_llm_client_free(c);
    server_stop(&s);
    unsetenv("OPENAI_API_KEY");
}

static void test_limits(void)
{
    /* never finishes: the step limit stops it after exactly 2 calls */
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "```bash\necho again\n```";
    s.n_replies = 1;
    server_start(&s);
    ct_llm_client *c = client_for(&s, 3.0);
    ct_agent_opts o = opts(2);
    ct_agent_result r;
    ct_error e;
    CHECK_INT(ct_agent_run(c, &o, &r, &e), CT_OK);
    CHECK_INT(r.status, CT_AGENT_LIMIT_STEPS);
    CHECK_INT(r.llm_calls, 2);
    CHECK_INT(httpd_served(&s), 2);
    CHECK_STR(r.final_output, "");
    ct_agent_result_free(&r);
    ct_llm_client_free(c);
    server_stop(&s);

    /* replies with no block: stops after max_format_errors in a row */
    memset(&s, 0, sizeof s);
    s.replies[0] = "I think the bug is in step 3.";
    s.n_replies = 1;
    server_start(&s);
    c = client_for(&s, 3.0);
    o = opts(10);
    o.max_format_errors = 2;
    CHECK_INT(ct_agent_run(c, &o, &r, &e), CT_OK);
    CHECK_INT(r.status, CT_AGENT_FORMAT_ERRORS);
    CHECK_INT(httpd_served(&s), 2);
    CHECK_INT(r.commands, 0);
    ct_agent_result_free(&r);
    ct_llm_client_free(c);
    server_stop(&s);

    /* budget: a call costs (1000·0.15 + 100·0.60)/1e6 = $0.00021; before a call, up to 100
     * completion tokens ($0.00006) plus the prompt estimate are reserved. With $0.00022 the first
     * call fits; then $0.00001 is left and the second is refused without a request. */
    memset(&s, 0, sizeof s);
    s.replies[0] = "```bash\necho step\n```";
    s.n_replies = 1;
    server_start(&s);
    c = client_for(&s, 0.00022);
    o = opts(10);
    memset(events, 0, sizeof events);
    CHECK_INT(ct_agent_run(c, &o, &r, &e), CT_OK);
    CHECK_INT(r.status, CT_AGENT_LIMIT_BUDGET);
    CHECK_INT(r.llm_calls, 1);
    CHECK_INT(httpd_served(&s), 1);
    CHECK_INT(events[CT_AGENT_EV_BUDGET_WARNING], 0); /* refused before any notice is added */
    ct_agent_result_free(&r);
    ct_llm_client_free(c);
    server_stop(&s);
}

static void test_compaction(void)
{
    /* every command prints 800 bytes (≈ 200 tokens per observation); with a 400-token window the
     * oldest turns go, the system and instance messages stay, and a note says so */
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "```bash\nhead -c 800 /dev/zero | tr '\\0' o\n```";
    s.n_replies = 1;
    server_start(&s);
    ct_llm_client *c = client_for(&s, 3.0);
    ct_agent_opts o = opts(5);
    o.context_tokens = 400;
    ct_agent_result r;
    ct_error e;
    memset(events, 0, sizeof events);
    CHECK_INT(ct_agent_run(c, &o, &r, &e), CT_OK);
    CHECK_INT(r.status, CT_AGENT_LIMIT_STEPS);
    CHECK_INT(httpd_served(&s), 5);
    CHECK(events[CT_AGENT_EV_COMPACT] >= 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(r.messages, 0), "content")),
              "You are a test agent.");
    CHECK_STR(json_string_value(json_object_get(json_array_get(r.messages, 1), "content")),
              "Inspect, then finish.");
    const char *note = json_string_value(json_object_get(json_array_get(r.messages, 2), "content"));
    CHECK(note && strstr(note, "earlier messages were dropped") != NULL);
    /* without compaction there would be 2 + 2·5 messages */
    CHECK(json_array_size(r.messages) < 12);
    /* what the last request carried stayed under the window (plus the current exchange) */
    CHECK(s.requests[4] && strstr(s.requests[4], "You are a test agent.") != NULL);
    CHECK(s.requests[4] && strstr(s.requests[4], "earlier messages were dropped") != NULL);
    CHECK(s.requests[4] && strlen(s.requests[4]) < 4000);
    ct_agent_result_free(&r);
    ct_llm_client_free(c);
    server_stop(&s);
}

static int warn_events;
static char warn_text[4][512];

static void on_diag_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    (void)ud, (void)step, (void)code;
    if (k == CT_AGENT_EV_WARNING) {
        if (warn_events < 4) snprintf(warn_text[warn_events], sizeof warn_text[0], "%s", text);
        warn_events++;
    }
}

static void test_diagnose(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem://traj");
    t->task = "Fix the off-by-one in range_sum";
    const char *actions[] = {"grep -n range_sum src/*.py", "sed -i 's/n+1/n/' src/other.py",
                             "cat src/other.py", "pytest -q"};
    for (int i = 0; i < 4; i++) {
        ct_step *st = ct_traj_add_step(t);
        st->kind = CT_KIND_BASH;
        st->action = actions[i];
        st->has_exit_code = 1;
        st->exit_code = i == 3 ? 1 : 0;
    }
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "Look at the edit.\n```bash\ncat steps/2.json\n```";
    s.replies[1] = "Overview.\n```bash\ncat index.md\n```";
    s.replies[2] = "Write.\n```bash\nprintf '%s\\n' '{\"labels\": [{\"step_id\": 2, \"label\": "
                   "\"incorrect\", \"reasoning\": \"edited other.py, not the file with "
                   "range_sum\", \"evidence\": [1]}, {\"step_id\": 3, \"label\": \"unuseful\", "
                   "\"reasoning\": \"guess\"}, {\"step_id\": 9, \"label\": \"incorrect\"}], "
                   "\"root_cause_chain\": [\"wrong file edited\"], \"summary\": \"one bad "
                   "edit\"}' > labels.json\n```";
    s.replies[3] = "Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```";
    s.n_replies = 4;
    server_start(&s);
    ct_llm_client *c = client_for(&s, 3.0);
    json_t *cfg = ct_config_defaults();
    char dir[] = "/tmp/h8_diag_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ct_error e;
    ct_error_clear(&e);
    warn_events = 0;
    ct_analysis *a = ct_agent_diagnose(c, t, cfg, dir, on_diag_event, NULL, &e);
    CHECK(a != NULL);
    if (a) {
        CHECK_INT(a->n_labels, 4);
        CHECK_INT(a->labels[1].label, CT_LABEL_INCORRECT);
        CHECK_STR(a->labels[1].rule, "llm");
        CHECK_STR(a->labels[1].reasoning, "edited other.py, not the file with range_sum");
        CHECK_INT(a->labels[1].n_evidence, 1);
        CHECK_INT(a->labels[2].label, CT_LABEL_CORRECT); /* never inspected: dropped */
        CHECK_INT(a->labels[0].label, CT_LABEL_CORRECT);
        CHECK_INT(a->n_root_cause, 1);
        CHECK_STR(a->root_cause_chain[0], "wrong file edited");
        CHECK_STR(a->summary, "one bad edit");
        /* the repair turn did not fix labels.json: the valid part is kept, marked partial */
        CHECK_INT(a->partial, 1);
        CHECK_STR(a->stop_reason, "invalid_output");
        CHECK_STR(a->model, "gpt-4o-mini");
        /* only step 2 was inspected: finishing is refused twice for too few steps (the last
         * reply repeats), once more for the output (labels of an uninspected and an unknown
         * step: the one repair turn), then accepted: 7 calls × 0.00021 */
        CHECK_INT(a->tokens_in, 7000);
        CHECK(a->cost_usd > 0.00146999 && a->cost_usd < 0.00147001);
        ct_analysis_free(a);
    }
    CHECK_INT(warn_events, 5);
    CHECK(strstr(warn_text[0], "inspect at least 3 distinct steps") != NULL);
    CHECK(strstr(warn_text[0], "you have inspected 1") != NULL);
    CHECK(strstr(warn_text[2], "Output refused: labels.json has 2 problems") != NULL);
    CHECK(strstr(warn_text[2], "step 3: label dropped") != NULL);
    CHECK(strstr(warn_text[2], "labels[2]: step_id is not a step") != NULL);
    CHECK(strstr(warn_text[2], "opened so far: 2)") != NULL);
    CHECK(strstr(warn_text[3], "step 3: label dropped") != NULL);
    CHECK_INT(httpd_served(&s), 7);
    CHECK(s.requests[6] && strstr(s.requests[6], "Output refused") != NULL);
    CHECK(s.requests[4] && strstr(s.requests[4], "Not finished: inspect at least 3") != NULL);
    /* the first request carried the rendered prompts: task and index lines */
    CHECK(s.requests[0] && strstr(s.requests[0], "Fix the off-by-one in range_sum") != NULL);
    CHECK(s.requests[0] && strstr(s.requests[0], "2. [bash] sed -i 's/n+1/n/' src/other.py "
                                                 "(exit 0)") != NULL);
    CHECK(s.requests[0] && strstr(s.requests[0], "{{") == NULL);
    /* the second request: step 2's JSON as the observation */
    CHECK(s.requests[1] && strstr(s.requests[1], "src/other.py") != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/steps/4.json", dir);
    CHECK(access(path, F_OK) == 0);
    server_stop(&s);

    /* a run that never writes labels and hits the step limit: partial, all correct */
    memset(&s, 0, sizeof s);
    s.replies[0] = "```bash\ncat steps/1.json\n```";
    s.n_replies = 1;
    server_start(&s);
    ct_llm_client_free(c);
    c = client_for(&s, 3.0); /* the new server's port */
    ct_config_set(cfg, "trace.step_limit", json_integer(2));
    warn_events = 0;
    a = ct_agent_diagnose(c, t, cfg, dir, on_diag_event, NULL, &e);
    CHECK(a != NULL);
    if (!a) fprintf(stderr, "diagnose: %s\n", e.msg);
    if (a) {
        CHECK_INT(a->partial, 1);
        CHECK_STR(a->stop_reason, "step_limit");
        CHECK_INT(a->labels[1].label, CT_LABEL_CORRECT); /* the old labels.json was removed */
        ct_analysis_free(a);
    }
    CHECK_INT(warn_events, 1);
    CHECK_INT(httpd_served(&s), 2);
    server_stop(&s);

    /* template errors are reported, nothing is sent */
    ct_config_set(cfg, "trace.instance_template", json_string("{{nope}}"));
    CHECK(ct_agent_diagnose(c, t, cfg, dir, NULL, NULL, &e) == NULL);
    CHECK(strstr(e.msg, "{{nope}}") != NULL);
    char *out;
    json_t *vars = json_pack("{s:s, s:i}", "a", "x", "n", 3);
    CHECK_INT(ct_agent_render("[{{a}}|{{ n }}]", vars, &out, &e), CT_OK);
    CHECK_STR(out, "[x|3]");
    free(out);
    CHECK_INT(ct_agent_render("{{a", vars, &out, &e), CT_EINVAL);
    json_decref(vars);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    json_decref(cfg);
    ct_llm_client_free(c);
    ct_traj_free(t);
}

/* ct_agent_analyze, the entry point `analyze --analyzer llm|hybrid` uses: the client made from
 * the config, a temporary work dir (removed afterwards), the conversation saved with its
 * token/cost summary, and the key never in it. */
static void test_analyze_entry(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem://traj2");
    t->task = "Make greet() say hello";
    const char *actions[] = {"cat greet.py", "sed -i 's/bye/hello/' greet.py", "python greet.py"};
    for (int i = 0; i < 3; i++) {
        ct_step *st = ct_traj_add_step(t);
        st->kind = CT_KIND_BASH;
        st->action = actions[i];
    }
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "```bash\ncat steps/1.json steps/2.json steps/3.json\n```";
    s.replies[1] =
        "```bash\nprintf '%s\\n' '{\"labels\": [{\"step_id\": 3, \"label\": \"unuseful\", "
        "\"reasoning\": \"ran it without checking the output\"}]}' > labels.json\n```";
    s.replies[2] = "```bash\necho TRACER_FINAL_OUTPUT\n```";
    s.n_replies = 3;
    server_start(&s);
    char base[64], tmp[] = "/tmp/h13_analyze_XXXXXX";
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", s.port);
    CHECK(mkdtemp(tmp) != NULL);
    json_t *cfg = ct_config_defaults();
    ct_config_set(cfg, "llm.api_base", json_string(base));
    ct_config_set(cfg, "llm.model_name", json_string("gpt-4o-mini"));
    ct_config_set(cfg, "llm.api_key", json_string("sk-unit-SECRET-77"));
    ct_config_set(cfg, "llm.max_tokens", json_integer(100));
    char traj_path[300];
    snprintf(traj_path, sizeof traj_path, "%s/codetracer_analysis.traj.json", tmp);
    const char *old_tmpdir = getenv("TMPDIR");
    char *saved = old_tmpdir ? strdup(old_tmpdir) : NULL;
    setenv("TMPDIR", tmp, 1);
    ct_agent_analyze_opts o;
    memset(&o, 0, sizeof o);
    o.traj_path = traj_path;
    ct_analysis *a = NULL;
    ct_error e;
    ct_error_clear(&e);
    CHECK_INT(ct_agent_analyze(t, cfg, &o, &a, &e), CT_OK);
    if (saved) {
        setenv("TMPDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TMPDIR");
    }
    CHECK(a != NULL);
    if (a) {
        CHECK_STR(a->analyzer, "llm");
        CHECK_STR(a->model, "gpt-4o-mini");
        CHECK_INT(a->partial, 0);
        CHECK(a->stop_reason == NULL);
        CHECK_INT(a->labels[2].label, CT_LABEL_UNUSEFUL);
        CHECK_STR(a->labels[2].reasoning, "ran it without checking the output");
        CHECK_INT(a->tokens_in, 3000); /* 3 calls × 1000 */
        CHECK_INT(a->tokens_out, 300);
        ct_analysis_free(a);
    }
    CHECK_INT(httpd_served(&s), 3);
    /* the key went in the header only */
    for (int i = 0; i < 3; i++)
        CHECK(s.requests[i] && strstr(s.requests[i], "sk-unit-SECRET-77") == NULL);
    json_error_t je;
    json_t *tj = json_load_file(traj_path, 0, &je);
    CHECK(tj != NULL);
    CHECK_INT(json_integer_value(json_object_get(tj, "n_calls")), 3);
    CHECK_INT(json_integer_value(json_object_get(tj, "total_prompt_tokens")), 3000);
    CHECK_STR(json_string_value(json_object_get(tj, "stop_reason")), "complete");
    CHECK_INT(json_array_size(json_object_get(tj, "messages")), 2 + 3 * 2 - 1);
    char *dump = tj ? json_dumps(tj, 0) : NULL;
    CHECK(dump && strstr(dump, "sk-unit-SECRET-77") == NULL);
    free(dump);
    json_decref(tj);
    /* the temporary work dir is gone: only the saved conversation is left in TMPDIR */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = codetracer_analysis.traj.json", tmp);
    CHECK(system(cmd) == 0);
    /* a bad mode is an error value, nothing is sent */
    o.mode = "oracle";
    CHECK_INT(ct_agent_analyze(t, cfg, &o, &a, &e), CT_EINVAL);
    CHECK(a == NULL);
    CHECK(strstr(e.msg, "oracle") != NULL);
    CHECK_INT(httpd_served(&s), 3);
    server_stop(&s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    json_decref(cfg);
    ct_traj_free(t);
}

int main(void)
{
    if (!mkdtemp(workdir)) return 1;
    test_extract();
    test_complete_run();
    test_limits();
    test_diagnose();
    test_compaction();
    test_analyze_entry();
    rmdir(workdir);
    return check_report();
}
