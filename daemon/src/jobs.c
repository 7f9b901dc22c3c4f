/* jobs.c — analyses run on the libuv thread pool, never on the loop: one job per document at a
 * time (a newer version supersedes the running one and runs after it), results installed and
 * published on the loop thread, $/progress for large inputs. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void publish(ct_server *s, const char *uri, int version, json_t *diags_new)
{
    json_t *p = json_pack("{s:s,s:o}", "uri", uri, "diagnostics", diags_new);
    if (version >= 0) json_object_set_new(p, "version", json_integer(version));
    if (json_array_size(diags_new))
        json_object_set_new(s->published, uri, json_true());
    else
        json_object_del(s->published, uri);
    srv_notify(s, "textDocument/publishDiagnostics", p);
}

void job_cancel(ct_job *j, int user_cancel)
{
    atomic_store(&j->cancelled, 1);
    if (user_cancel) j->user_cancelled = 1;
}

static char *progress_title(const ct_job *j)
{
    const char *slash = strrchr(j->path, '/');
    return ct_xasprintf("codetracer: analyzing %s", slash ? slash + 1 : j->path);
}

void progress_notify(ct_server *s, const char *token, const char *kind, const char *title,
                     const char *msg, int cancellable)
{
    json_t *v = json_pack("{s:s}", "kind", kind);
    if (title) {
        json_object_set_new(v, "title", ct_json_text(title));
        json_object_set_new(v, "cancellable", json_boolean(cancellable));
    }
    if (msg) json_object_set_new(v, "message", ct_json_text(msg));
    srv_notify(s, "$/progress", json_pack("{s:s,s:o}", "token", token, "value", v));
}

static void progress_send(ct_server *s, ct_job *j, const char *kind, const char *msg)
{
    char *title = strcmp(kind, "begin") == 0 ? progress_title(j) : NULL;
    progress_notify(s, j->progress_token, kind, title, msg, 0);
    free(title);
}

static const char *stage_msg(int st)
{
    return st == 1 ? "loading" : st == 2 ? "analyzing" : st == 3 ? "placing diagnostics" : "queued";
}

void progress_end_late(ct_server *s, const char *token, const char *title, const char *end,
                       int cancellable)
{
    if (!s->progress_late) s->progress_late = json_object();
    if (json_object_size(s->progress_late) >= 256) json_object_clear(s->progress_late);
    json_object_set_new(s->progress_late, token,
                        json_pack("{s:o,s:o,s:b}", "title", ct_json_text(title), "end",
                                  ct_json_text(end), "cancellable", cancellable));
}

int progress_flush_late(ct_server *s, const char *token, int ok)
{
    /* A job that ended before this answer: its whole progress (begin, end) goes now, so a client
     * always sees every analysis it was told about, however fast. */
    json_t *late = s->progress_late ? json_object_get(s->progress_late, token) : NULL;
    if (!late) return 0;
    if (ok) {
        int canc = json_is_true(json_object_get(late, "cancellable"));
        progress_notify(s, token, "begin", json_string_value(json_object_get(late, "title")),
                        "queued", canc);
        progress_notify(s, token, "end", NULL, json_string_value(json_object_get(late, "end")),
                        canc);
    }
    json_object_del(s->progress_late, token);
    return 1;
}

void jobs_on_progress_created(ct_server *s, const char *token, int ok)
{
    if (progress_flush_late(s, token, ok)) return;
    for (ct_job *j = s->jobs; j; j = j->next) {
        if (!j->progress_token || j->progress_begun || strcmp(j->progress_token, token) != 0)
            continue;
        if (!ok) {
            free(j->progress_token); /* refused: this job shows no progress */
            j->progress_token = NULL;
            return;
        }
        j->progress_begun = 1;
        progress_send(s, j, "begin", "queued");
        int st = atomic_load(&j->stage);
        if (st) {
            j->stage_sent = st;
            progress_send(s, j, "report", stage_msg(st));
        }
        return;
    }
}

void jobs_on_wake(uv_async_t *a)
{
    ct_server *s = a->data;
    for (ct_job *j = s->jobs; j; j = j->next) {
        if (!j->early_sent && atomic_load(&j->early_ready)) {
            j->early_sent = 1;
            /* Only for the document this text is still the version of, never after a close
             * (j->doc is NULL then), a cancellation or a newer version. */
            if (j->early && j->doc && !atomic_load(&j->cancelled) &&
                j->version == j->doc->version) {
                publish(s, j->uri, j->version, json_incref(j->early));
                srv_log(s, 4, "%s: remembered diagnostics published %.1f ms after the open",
                        j->path, (double)(uv_hrtime() - j->t0) / 1e6);
            }
        }
        int st = atomic_load(&j->stage);
        if (!j->progress_begun || st == j->stage_sent) continue;
        j->stage_sent = st;
        progress_send(s, j, "report", stage_msg(st));
    }
}

static void work_cb(uv_work_t *w)
{
    ct_job *j = w->data;
    analyze_run(j);
}

static void job_free(ct_job *j)
{
    if (atomic_load(&j->early_ready)) json_decref(j->early);
    blob_unref(j->text);
    free(j->path);
    free(j->uri);
    free(j->progress_token);
    if (j->req_id) json_decref(j->req_id);
    result_free(j->res);
    free(j);
}

static json_t *summary_of(const ct_result *r)
{
    size_t steps = 0, inc = 0, unu = 0;
    for (size_t i = 0; i < r->trajs.n; i++) {
        steps += r->trajs.items[i]->n_steps;
        for (size_t k = 0; k < r->an[i]->n_labels; k++) {
            inc += r->an[i]->labels[k].label == CT_LABEL_INCORRECT;
            unu += r->an[i]->labels[k].label == CT_LABEL_UNUSEFUL;
        }
    }
    json_t *files = json_array();
    const char *uri;
    json_t *v;
    json_object_foreach(r->diags, uri, v) json_array_append_new(files, json_string(uri));
    json_t *ids = json_array();
    for (size_t i = 0; i < r->trajs.n; i++)
        json_array_append_new(ids, ct_json_text(r->trajs.items[i]->id));
    return json_pack("{s:i,s:o,s:I,s:I,s:I,s:o,s:I,s:f,s:f,s:I}", "trajectories", (int)r->trajs.n,
                     "traj_ids", ids, "steps", (json_int_t)steps, "incorrect", (json_int_t)inc,
                     "unuseful", (json_int_t)unu, "files", files, "unplaced",
                     (json_int_t)r->n_skipped, "load_ms", r->ms_load, "analyze_ms", r->ms_analyze,
                     "cached", (json_int_t)r->n_cached);
}

static void error_text(const ct_error *e, char *buf, size_t n)
{
    ct_error_format(e, buf, n);
}

/* What the loaders want a user to know (a killed run, truncated data): to the log. */
static void log_warnings(ct_server *s, const ct_result *r)
{
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        for (size_t k = 0; k < t->n_warnings && k < 10; k++)
            srv_log(s, 2, "%s: %s", t->id, t->warnings[k]);
        if (t->n_warnings > 10) srv_log(s, 2, "%s: %zu more warnings", t->id, t->n_warnings - 10);
    }
    /* jsonranges.c: steps placed on their JSON objects, and those left on the loader's span */
    if (r->n_ranged || r->n_range_fallback)
        srv_log(s, r->n_range_fallback ? 3 : 4,
                "%s: step ranges: %zu from tree-sitter-json, %zu kept the loader's span, %.1f ms "
                "(placing waited %.1f ms for the parse)",
                r->path, r->n_ranged, r->n_range_fallback, r->ms_ranges, r->ms_ranges_wait);
}

static void finish_doc(ct_server *s, ct_job *j)
{
    ct_doc *d = j->doc;
    d->job = NULL;
    int cancelled = atomic_load(&j->cancelled);
    if (j->user_cancelled) {
        publish(s, d->uri, d->version, json_array());
        result_free(d->res);
        d->res = NULL;
    } else if (!cancelled && j->version == d->version) {
        if (j->rc == CT_OK && j->res) {
            json_t *arr = json_object_get(j->res->diags, d->uri);
            uint64_t t0 = uv_hrtime();
            publish(s, d->uri, d->version, arr ? json_incref(arr) : json_array());
            double ms_pub = (double)(uv_hrtime() - t0) / 1e6;
            result_free(d->res);
            d->res = j->res;
            j->res = NULL;
            log_warnings(s, d->res);
            srv_log(s, 4,
                    "%s: %zu trajector%s (%zu from the cache), load %.1f ms, analysis %.1f ms, "
                    "placing %.1f ms, publishing %.1f ms, open to published %.1f ms",
                    d->path, d->res->trajs.n, d->res->trajs.n == 1 ? "y" : "ies", d->res->n_cached,
                    d->res->ms_load, d->res->ms_analyze, d->res->ms_place, ms_pub,
                    (double)(uv_hrtime() - j->t0) / 1e6);
            if (j->req_id) {
                srv_reply(s, j->req_id, summary_of(d->res));
                json_decref(j->req_id);
                j->req_id = NULL;
            }
        } else {
            char buf[1536];
            error_text(&j->err, buf, sizeof buf);
            /* A source file an analysed run edited is not a trajectory: no error pop-up, and
             * no empty set (sources_refresh publishes its edits right after this). */
            int src =
                (s->src_diags && json_object_get(s->src_diags, d->uri)) || sources_is_target(s, d);
            /* Nor is one file of a run analysed with codetracer.analyze (a step-JSONL
             * step_N.jsonl, an OpenHands event): the run's diagnostics on it stay. */
            int run_file = !src && !d->res && ext_holds_uri(s, d->uri);
            if (!src && !run_file) publish(s, d->uri, d->version, json_array());
            result_free(d->res);
            d->res = NULL;
            if (run_file && !j->req_id)
                srv_log(s, 4, "%s is not a trajectory alone (a file of an analysed run)", d->path);
            else if (src && !j->req_id)
                srv_log(s, 4, "%s is not a trajectory (a source file edited by a run)", d->path);
            else
                srv_show(s, 1, "cannot analyze %s", buf);
            if (j->req_id) {
                srv_reply_error(s, j->req_id, CT_RPC_REQUEST_FAILED, "%s", buf);
                json_decref(j->req_id);
                j->req_id = NULL;
            }
        }
    }
    /* A superseded job's request goes to the analysis that replaces it. */
    if (j->req_id && !d->pending_req) {
        d->pending_req = j->req_id;
        j->req_id = NULL;
    }
    if (d->rerun) {
        d->rerun = 0;
        job_start_doc(s, d);
    }
}

static void finish_path(ct_server *s, ct_job *j)
{
    /* A newer analysis of the same path replaced this one: leave everything to it (nothing
     * stale is published, and the newer result is not removed). */
    if (j->superseded) return;
    /* The previous analysis of the same path is replaced (or cleared when cancelled). */
    ext_result **pp = &s->ext, *old = NULL;
    while (*pp && strcmp((*pp)->res->path, j->path) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        old = *pp;
        *pp = old->next;
    }
    int ok = !atomic_load(&j->cancelled) && j->rc == CT_OK && j->res;
    if (old) {
        const char *uri;
        json_t *v;
        json_object_foreach(old->res->diags, uri, v)
        {
            if (!ok || !json_object_get(j->res->diags, uri)) publish(s, uri, -1, json_array());
        }
        result_free(old->res);
        free(old);
    }
    if (atomic_load(&j->cancelled)) return;
    if (!ok) {
        char buf[1536];
        error_text(&j->err, buf, sizeof buf);
        srv_show(s, 1, "cannot analyze %s", buf);
        if (j->req_id) srv_reply_error(s, j->req_id, CT_RPC_REQUEST_FAILED, "%s", buf);
        json_decref(j->req_id);
        j->req_id = NULL;
        return;
    }
    const char *uri;
    json_t *arr;
    json_object_foreach(j->res->diags, uri, arr) publish(s, uri, -1, json_incref(arr));
    log_warnings(s, j->res);
    if (j->req_id) srv_reply(s, j->req_id, summary_of(j->res));
    json_decref(j->req_id);
    j->req_id = NULL;
    ext_result *e = ct_xcalloc(1, sizeof *e);
    e->res = j->res;
    j->res = NULL;
    e->next = s->ext;
    s->ext = e;
}

static void after_cb(uv_work_t *w, int status)
{
    ct_job *j = w->data;
    ct_server *s = j->srv;
    (void)status; /* UV_ECANCELED: the work never ran; j->rc says so */
    if (j->res && j->res->text) blob_ref(j->res->text); /* refcounts are loop-thread only */
    ct_job **pp = &s->jobs;
    while (*pp != j)
        pp = &(*pp)->next;
    *pp = j->next;
    const char *end_msg = atomic_load(&j->cancelled) ? "cancelled" : "done";
    if (j->progress_begun) {
        progress_send(s, j, "end", end_msg);
    } else if (j->progress_token) {
        /* window/workDoneProgress/create is not answered yet: send begin and end with the answer */
        char *title = progress_title(j);
        progress_end_late(s, j->progress_token, title, end_msg, 0);
        free(title);
    }
    if (j->mem_failed && !s->mem_broken) {
        /* One warning, then the daemon works without memory (no cache, no feedback). */
        char buf[1536];
        s->mem_broken = 1;
        srv_show(s, 2,
                 "codetracer: the memory database cannot be used (%s); analyses go on without "
                 "the cache and feedback",
                 ct_error_format(&j->mem_err, buf, sizeof buf));
    }
    if (!s->exiting) {
        /* sources: nothing to re-place when a document that is no trajectory stays none */
        int had_res = j->doc && j->doc->res;
        if (j->doc)
            finish_doc(s, j);
        else if (!j->uri)
            finish_path(s, j);
        if (!(j->doc && !had_res && !j->doc->res))
            sources_refresh(s); /* edits of the trajectories onto the source files */
    } else if (j->doc) {
        j->doc->job = NULL;
    }
    if (j->req_id) srv_reply_error(s, j->req_id, CT_RPC_REQUEST_CANCELLED, "analysis cancelled");
    job_free(j);
    if (s->exiting && !s->jobs && !llm_busy(s) && s->wake_open) {
        uv_close((uv_handle_t *)&s->wake, NULL);
        s->wake_open = 0;
    }
}

void job_init(ct_server *s, ct_job *j, const char *analyzer)
{
    j->srv = s;
    j->enc = s->enc;
    j->opts.sev_incorrect = s->set.sev_incorrect;
    j->opts.sev_unuseful = s->set.sev_unuseful;
    j->opts.related = s->cap_related;
    snprintf(j->docs_url, sizeof j->docs_url, "%s", s->set.docs_url);
    j->opts.docs_url = *j->docs_url ? j->docs_url : NULL;
    snprintf(j->analyzer, sizeof j->analyzer, "%s", analyzer);
    snprintf(j->memory_db, sizeof j->memory_db, "%s", s->set.memory_db);
    j->use_feedback = s->set.use_feedback;
    j->use_cache = s->set.use_cache;
    j->create_db = s->set.create_db;
    j->no_memory = s->mem_broken;
    atomic_init(&j->cancelled, 0);
    atomic_init(&j->stage, 0);
    atomic_init(&j->early_ready, 0);
    j->t0 = uv_hrtime();
}

static ct_job *job_new(ct_server *s)
{
    ct_job *j = ct_xcalloc(1, sizeof *j);
    job_init(s, j, s->set.analyzer);
    j->work.data = j;
    return j;
}

static void job_queue(ct_server *s, ct_job *j, size_t size, const char *token)
{
    j->next = s->jobs;
    s->jobs = j;
    if (token) {
        j->progress_token = ct_xstrdup(token);
        j->progress_begun = 1;
        progress_send(s, j, "begin", "queued");
    } else if (s->cap_progress && size >= s->set.progress_min) {
        char tok[48];
        snprintf(tok, sizeof tok, "codetracer-%lld", ++s->next_token);
        j->progress_token = ct_xstrdup(tok);
        char purpose[64];
        snprintf(purpose, sizeof purpose, "progress:%s", tok);
        /* The token may be used once the client has answered (LSP 3.17): begin is sent by
         * jobs_on_progress_created; a refusal, or a job that ends first, means no progress. */
        srv_request(s, "window/workDoneProgress/create", json_pack("{s:s}", "token", tok), purpose);
    }
    int rc = uv_queue_work(s->loop, &j->work, work_cb, after_cb);
    if (rc != 0) {
        /* Cannot happen with a live loop; keep the promise that every job ends. */
        j->rc = ct_error_set(&j->err, CT_EINVAL, "cannot queue the analysis: %s", uv_strerror(rc));
        after_cb(&j->work, rc);
    }
}

void job_start_doc(ct_server *s, ct_doc *d)
{
    if (d->timer) uv_timer_stop(d->timer);
    if (d->job) {
        job_cancel(d->job, 0);
        d->job->superseded = 1;
        d->rerun = 1;
        return;
    }
    ct_job *j = job_new(s);
    j->doc = d;
    j->text = blob_ref(d->text);
    j->path = ct_xstrdup(d->path);
    j->uri = ct_xstrdup(d->uri);
    j->version = d->version;
    j->req_id = d->pending_req;
    d->pending_req = NULL;
    /* Remembered diagnostics only when the document shows none of its own yet: a re-analysis
     * (feedback, settings) must not flash the labels it is replacing. */
    j->memo_lookup = d->res == NULL;
    d->job = j;
    job_queue(s, j, d->text->len, NULL);
}

void job_start_path(ct_server *s, const char *path, json_t *req_id, const char *token)
{
    for (ct_job *o = s->jobs; o; o = o->next)
        if (!o->doc && !o->uri && !o->superseded && strcmp(o->path, path) == 0) {
            job_cancel(o, 0);
            o->superseded = 1;
        }
    ct_job *j = job_new(s);
    j->path = ct_xstrdup(path);
    j->req_id = req_id ? json_incref(req_id) : NULL;
    job_queue(s, j, (size_t)-1, token);
}
