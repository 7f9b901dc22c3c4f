/* formats/oneshot.c — one-shot ("naive", single-episode) agents in a terminal-bench trial.
 *
 * agent-logs/response.json = {"commands": ["<shell>", ...], "explanation": str}: the model's one
 * answer; agent-logs/prompt.txt = what it was asked; agent-logs/debug.json = the LiteLLM call
 * (model name). One step per command, the explanation as the first step's thought, no
 * observation (the harness ran the commands without recording each output). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000

static int response_ok(ct_fs *fs, const char *path)
{
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fs_is_file(fs, path) && ct_fmt_head(fs, path, &b, 4096) == 0 && b.data &&
              ct_memstr(b.data, b.len, "\"commands\"") && ct_memstr(b.data, b.len, "{");
    ct_buf_free(&b);
    return yes;
}

/* The dir holding agent-logs/ for rel: rel itself (trial dir) or its parent (agent-logs dir). */
static int locate(ct_fs *fs, const char *rel, int is_dir, char **logs, char **trial)
{
    *logs = *trial = NULL;
    if (!is_dir) {
        if (!ct_str_ends(rel, "response.json")) return 0;
        char *parent = ct_path_parent(rel);
        char *base = ct_path_base(parent);
        if (strcmp(base, "agent-logs") == 0 || !*parent) {
            *logs = parent;
            *trial = !*parent ? ct_xstrdup("..") : ct_path_parent(parent);
        } else {
            free(parent);
        }
        free(base);
        return *logs != NULL;
    }
    char *base = ct_path_base(rel);
    if (strcmp(base, "agent-logs") == 0) {
        *logs = ct_xstrdup(rel);
        *trial = ct_path_parent(rel);
    } else {
        *logs = ct_path_join(rel, "agent-logs");
        *trial = ct_xstrdup(rel);
    }
    free(base);
    return 1;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    char *logs, *trial;
    if (!locate(fs, rel, is_dir, &logs, &trial)) return CT_DETECT_NO;
    char *resp = ct_path_join(logs, "response.json");
    char *prompt = ct_path_join(logs, "prompt.txt");
    char *ep = ct_path_join(logs, "episode-0");
    int score = CT_DETECT_NO;
    /* episode-N dirs are Terminus, not a one-shot agent. */
    if (!ct_fs_is_dir(fs, ep) && response_ok(fs, resp)) {
        if (is_dir && strcmp(logs, rel) != 0)
            score = CT_DETECT_SURE; /* trial dir */
        else
            score = ct_fs_is_file(fs, prompt) ? CT_DETECT_LIKELY : CT_DETECT_WEAK;
    }
    free(resp);
    free(prompt);
    free(ep);
    free(logs);
    free(trial);
    return score;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    char *logs, *trial;
    if (!locate(fs, rel, is_dir, &logs, &trial)) {
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                             "expected agent-logs/response.json of a one-shot agent");
    }
    char *resp = ct_path_join(logs, "response.json");
    char *rdisplay = ct_xstrdup(ct_fs_display(fs, resp));
    ct_buf raw = CT_BUF_INIT;
    json_t *root = NULL;
    int rc = ct_fmt_read_json(fs, resp, &raw, &root, err);
    ct_trajectory *t = NULL;
    if (rc != CT_OK) goto done;
    json_t *cmds = json_object_get(root, "commands");
    if (!json_is_object(root) || !json_is_array(cmds)) {
        rc = ct_error_setf(
            err, CT_EFORMAT, rdisplay, -1, 0,
            "expected {\"commands\": [...], \"explanation\": ...} in a one-shot response");
        goto done;
    }
    t = ct_traj_new("one-shot", ct_fs_display(fs, rel));
    t->agent = "one-shot agent";
    if (ct_fmt_is_tb_trial(fs, trial)) ct_fmt_tb_trial_fill(fs, trial, t);
    if (!t->task) {
        char *pp = ct_path_join(logs, "prompt.txt");
        ct_buf pb = CT_BUF_INIT;
        if (ct_fs_is_file(fs, pp) && ct_fs_read(fs, pp, &pb, 16 << 20, NULL) == CT_OK && pb.len)
            t->task = ct_traj_strndup(t, pb.data, pb.len);
        ct_buf_free(&pb);
        free(pp);
    }
    {
        char *dp = ct_path_join(logs, "debug.json");
        ct_buf db = CT_BUF_INIT;
        json_t *dj = NULL;
        if (ct_fs_is_file(fs, dp) && ct_fmt_read_json(fs, dp, &db, &dj, NULL) == CT_OK) {
            const char *m = ct_fmt_str(dj, "model");
            if (m) t->model = ct_traj_strdup(t, m);
        }
        json_decref(dj);
        ct_buf_free(&db);
        free(dp);
    }
    const char *expl = ct_fmt_jstr(t, json_object_get(root, "explanation"));
    if (expl) json_object_set_new(t->metadata, "explanation", json_string(expl));

    ct_lines li;
    ct_lines_build(&li, raw.data, raw.len);
    ct_span sa;
    ct_span *spans = NULL;
    long ns = -1;
    static const char *const path[] = {"commands"};
    if (ct_json_find(raw.data, raw.len, 0, path, 1, &sa) == 0)
        ns = ct_json_array_spans(raw.data, raw.len, sa.start, &spans);
    size_t i;
    json_t *c;
    int skipped = 0;
    json_array_foreach(cmds, i, c)
    {
        const char *cmd = ct_fmt_jstr(t, c);
        if (!cmd && json_is_object(c)) cmd = ct_fmt_jstr(t, json_object_get(c, "keystrokes"));
        if (!cmd) {
            skipped++;
            continue;
        }
        if (t->n_steps >= MAX_STEPS) break;
        ct_step *s = ct_traj_add_step(t);
        s->tool = "shell";
        s->action = cmd;
        s->kind = ct_fmt_kind_from_shell(cmd);
        if (s->kind == CT_KIND_SUBMIT || s->kind == CT_KIND_CREATE || s->kind == CT_KIND_EDIT)
            s->kind = CT_KIND_BASH;
        if (t->n_steps == 1) s->thought = expl;
        if (ns > (long)i) ct_fmt_set_src(t, &s->src, rdisplay, &li, spans[i].start, spans[i].end);
    }
    free(spans);
    ct_lines_free(&li);
    if (skipped)
        ct_traj_warn(t, "%d command%s not text, skipped", skipped, skipped == 1 ? " is" : "s are");
    if (t->n_steps == 0)
        ct_traj_warn(t, "the one-shot response has no commands: zero steps");
    else
        ct_traj_warn(t, "one-shot agent: the commands ran without per-command output, so steps "
                        "have no observation");
    ct_traj_list_push(out, t);
    t = NULL;
    rc = CT_OK;
done:
    ct_traj_free(t);
    json_decref(root);
    ct_buf_free(&raw);
    free(rdisplay);
    free(resp);
    free(logs);
    free(trial);
    return rc;
}

const ct_loader ct_loader_oneshot = {
    .name = "one-shot",
    .agent = "one-shot agent",
    .summary = "single-episode agents: agent-logs/response.json {commands, explanation} (+ "
               "prompt.txt, debug.json)",
    .detection = "agent-logs/response.json with a \"commands\" list and no episode-N dirs",
    .detect = detect,
    .load = load,
};
