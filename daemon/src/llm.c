/* llm.c — LLM analyses in the editor daemon: codetracer.analyze {analyzer: "llm"|"hybrid"} and the
 * "Diagnose with LLM" code action.
 *
 * Threads. A job runs analyze_run (load, ct_agent_analyze per trajectory, diagnostics) on its own
 * thread, never on the libuv pool, which stays free for heuristic analyses; at most
 * llm.maxConcurrent (setting, default 4, 1..64) run at once, the rest wait in order. The agent's
 * HTTP does not block that thread on a socket: the client's performer hook hands each easy handle
 * to the loop (under the job's mutex, then uv_async_send) and waits on the job's condition
 * variable; the loop adds it to ONE curl multi handle driven by libuv (CURLMOPT_SOCKETFUNCTION →
 * uv_poll, CURLMOPT_TIMERFUNCTION → uv_timer, curl_multi_socket_action) and wakes the thread when
 * the transfer is done. A cancellation sets the job's flag, and the loop removes the transfer in
 * flight at once: the thread sees CT_ECANCELED, the agent stops (CT_AGENT_CANCELLED) and the
 * labels written so far are published marked partial.
 *
 * Secrets. The key comes from the daemon's environment or the config file (ct_config_load_layered),
 * never from settings, and lives in the job's config and client only: nothing here prints either.
 *
 * Ownership. The server owns its llm_state; the state owns its jobs; a job owns its config,
 * client, result and request id. A job is freed on the loop thread after its thread was joined. */
#include "server.h"

#include "ct/agent.h"
#include "ct/batch.h"
#include "ct/config.h"
#include "ct/llm.h"
#include "ct/memory.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLM_DEFAULT_RUNNING 4 /* setting codetracer.llm.maxConcurrent, 1..LLM_MAX_RUNNING */
#define LLM_MAX_RUNNING 64
#define LLM_MAX_JOBS 64
#define LLM_MAX_WARNINGS 32

enum { X_IDLE, X_SUBMITTED, X_ACTIVE, X_DONE };

typedef struct llm_state llm_state;

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    llm_state *L;
    struct sock_ctx *next, *prev;
} sock_ctx;

typedef struct llm_job {
    struct llm_job *next;
    llm_state *L;
    ct_job job; /* analyze_run's inputs and outputs; job.llm points back here */
    char mode[16];
    json_t *cfg; /* the effective configuration: holds the key, never printed */
    ct_llm_client *client;
    uv_thread_t thread;
    int started;
    int no_thread;  /* the thread could not be created */
    int cache_only; /* serve from the analysis cache or show nothing: never call the LLM */
    int discard;    /* cleared or shut down: publish nothing */
    int cancelled;  /* loop-side copy of `cancel` */
    atomic_int cancel;
    atomic_int finished;
    json_t *req_id;
    char *token;
    int progress_begun;
    char *target; /* the uri or path the request named */
    char model[256];
    /* the analysis-cache key (llm_cache_key): the CLI's for the same analyzer and settings */
    char key_model[256];
    int has_key_model;
    char cfg_hash[65];
    /* shared with the job's thread, under mu */
    uv_mutex_t mu;
    uv_cond_t cv;
    CURL *easy;
    int xfer;
    int curl_rc;
    int turn, step, dirty;
    long long tokens;
    double cost;
    int n_ok, n_failed;
    ct_error agent_err;
    json_t *warnings; /* strings for the log */
} llm_job;

struct llm_state {
    ct_server *srv;
    int open; /* the handles below exist */
    CURLM *multi;
    uv_timer_t timer;
    uv_async_t async;
    sock_ctx *socks;
    llm_job *jobs; /* running and waiting, oldest first */
    int closing;
    /* settings */
    char api_base[2048];
    char model[256];
    char config[1024];
    double budget;   /* < 0: not set */
    int max_running; /* analyses running at once (maxConcurrent); the rest wait in order */
    int configured;  /* -1: not computed since the last settings change */
};

static llm_state *state(ct_server *s)
{
    if (!s->llm) {
        s->llm = ct_xcalloc(1, sizeof *s->llm);
        s->llm->srv = s;
        s->llm->budget = -1;
        s->llm->configured = -1;
        s->llm->max_running = LLM_DEFAULT_RUNNING;
    }
    return s->llm;
}

/* ---- settings --------------------------------------------------------------------------- */

static void copy_setting(ct_server *s, json_t *o, const char *key, char *dst, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (!v) return;
    if (!json_is_string(v) || json_string_length(v) >= n) {
        srv_log(s, 2, "setting llm.%s must be a string shorter than %zu bytes (ignored)", key, n);
        return;
    }
    snprintf(dst, n, "%s", json_string_value(v));
}

void llm_settings(ct_server *s, json_t *section)
{
    json_t *o = json_object_get(section, "llm");
    if (!o) return;
    llm_state *L = state(s);
    L->configured = -1;
    if (!json_is_object(o)) {
        srv_log(s, 2,
                "setting llm must be an object {apiBase, model, budgetUsd, config, maxConcurrent}");
        return;
    }
    copy_setting(s, o, "apiBase", L->api_base, sizeof L->api_base);
    copy_setting(s, o, "model", L->model, sizeof L->model);
    copy_setting(s, o, "config", L->config, sizeof L->config);
    json_t *b = json_object_get(o, "budgetUsd");
    if (b && json_is_number(b) && json_number_value(b) >= 0)
        L->budget = json_number_value(b);
    else if (b)
        srv_log(s, 2, "setting llm.budgetUsd must be a number >= 0 (ignored)");
    json_t *mc = json_object_get(o, "maxConcurrent");
    if (mc && json_is_integer(mc) && json_integer_value(mc) >= 1 &&
        json_integer_value(mc) <= LLM_MAX_RUNNING) {
        L->max_running = (int)json_integer_value(mc);
        if (L->open) uv_async_send(&L->async); /* a higher limit starts waiting jobs now */
    } else if (mc) {
        srv_log(s, 2, "setting llm.maxConcurrent must be an integer 1..%d (kept %d)",
                LLM_MAX_RUNNING, L->max_running);
    }
    if (json_object_get(o, "apiKey") || json_object_get(o, "api_key"))
        srv_show(s, 2,
                 "codetracer: the API key is not read from editor settings (they are not a "
                 "secret store); set CODETRACER_API_KEY in the daemon's environment or "
                 "llm.api_key in the config file");
}

/* The configuration of an LLM analysis: defaults < user file < llm.config < environment <
 * settings (apiBase, model, budgetUsd). NULL with err. */
static json_t *effective_config(llm_state *L, ct_error *err)
{
    json_t *cfg = ct_config_load_layered(*L->config ? L->config : NULL, err);
    if (!cfg) return NULL;
    if (*L->api_base) ct_config_set(cfg, "llm.api_base", json_string(L->api_base));
    if (*L->model) ct_config_set(cfg, "llm.model_name", json_string(L->model));
    if (L->budget >= 0) ct_config_set(cfg, "trace.cost_limit", json_real(L->budget));
    return cfg;
}

int llm_configured(ct_server *s)
{
    llm_state *L = state(s);
    if (L->configured >= 0) return L->configured;
    ct_error e;
    ct_error_clear(&e);
    json_t *cfg = effective_config(L, &e);
    if (!cfg) {
        char buf[1536];
        srv_log(s, 2, "LLM configuration: %s", ct_error_format(&e, buf, sizeof buf));
        L->configured = 0;
        return 0;
    }
    L->configured =
        *ct_config_str(cfg, "llm.api_base", "") && *ct_config_str(cfg, "llm.model_name", "");
    json_decref(cfg);
    return L->configured;
}

void llm_code_actions(ct_server *s, ct_doc *d, json_t *out)
{
    if (!d->res || !d->res->trajs.n || !llm_configured(s)) return;
    static const char *const modes[] = {"llm", "hybrid"};
    static const char *const titles[] = {"Diagnose with LLM", "Diagnose with LLM (hybrid)"};
    for (int i = 0; i < 2; i++) {
        json_t *args = json_pack("[{s:s,s:s}]", "uri", d->uri, "analyzer", modes[i]);
        json_array_append_new(out, json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "title", titles[i],
                                             "kind", "quickfix", "command", "title", titles[i],
                                             "command", "codetracer.analyze", "arguments", args));
    }
}

/* ---- curl multi on the loop ----------------------------------------------------------- */

static void check_done(llm_state *L)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(L->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result; /* msg is invalid after the removal */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        llm_job *lj = (llm_job *)(void *)priv;
        curl_multi_remove_handle(L->multi, e);
        if (!lj) continue;
        uv_mutex_lock(&lj->mu);
        if (lj->xfer == X_ACTIVE && lj->easy == e) {
            lj->curl_rc = (int)rc;
            lj->xfer = X_DONE;
            uv_cond_broadcast(&lj->cv);
        }
        uv_mutex_unlock(&lj->mu);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *c = p->data;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running;
    llm_state *L = c->L; /* c may be closed by the call below */
    curl_multi_socket_action(L->multi, c->fd, flags, &running);
    check_done(L);
}

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sock_close(llm_state *L, sock_ctx *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        L->socks = c->next;
    if (c->next) c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, sock_closed);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    llm_state *L = userp;
    sock_ctx *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(L->multi, fd, NULL);
            sock_close(L, c);
        }
        return 0;
    }
    if (!c) {
        c = ct_xcalloc(1, sizeof *c);
        c->fd = fd;
        c->L = L;
        if (uv_poll_init_socket(L->srv->loop, &c->poll, fd) != 0) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        c->next = L->socks;
        if (L->socks) L->socks->prev = c;
        L->socks = c;
        curl_multi_assign(L->multi, fd, c);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    llm_state *L = t->data;
    int running;
    curl_multi_socket_action(L->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(L);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    llm_state *L = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&L->timer);
    else
        uv_timer_start(&L->timer, on_timeout, timeout_ms ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

/* ---- the job's thread ----------------------------------------------------------------- */

/* The performer (ct/llm.h), on the job's thread. */
static int perform(void *ud, void *easy, long delay_ms)
{
    llm_job *lj = ud;
    if (!easy) { /* a retry's back-off: a wait a cancellation ends */
        uint64_t end = uv_hrtime() + (uint64_t)(delay_ms > 0 ? delay_ms : 0) * 1000000u;
        uv_mutex_lock(&lj->mu);
        for (;;) {
            uint64_t now = uv_hrtime();
            if (atomic_load(&lj->cancel) || now >= end) break;
            uv_cond_timedwait(&lj->cv, &lj->mu, end - now);
        }
        uv_mutex_unlock(&lj->mu);
        return atomic_load(&lj->cancel) ? 1 : 0;
    }
    uv_mutex_lock(&lj->mu);
    if (atomic_load(&lj->cancel)) {
        uv_mutex_unlock(&lj->mu);
        return CURLE_ABORTED_BY_CALLBACK;
    }
    lj->easy = easy;
    lj->xfer = X_SUBMITTED;
    uv_mutex_unlock(&lj->mu);
    uv_async_send(&lj->L->async);
    uv_mutex_lock(&lj->mu);
    while (lj->xfer != X_DONE)
        uv_cond_wait(&lj->cv, &lj->mu);
    int rc = lj->curl_rc;
    lj->xfer = X_IDLE;
    lj->easy = NULL;
    uv_mutex_unlock(&lj->mu);
    return rc;
}

static void on_agent_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    (void)step;
    llm_job *lj = ud;
    if (k == CT_AGENT_EV_USAGE) {
        ct_llm_totals t; /* the client is this thread's: totals over every trajectory */
        ct_llm_client_totals(lj->client, &t);
        uv_mutex_lock(&lj->mu);
        lj->turn++;
        if (code > 0) lj->step = code;
        lj->tokens = t.prompt_tokens + t.completion_tokens;
        lj->cost = t.cost_usd;
        lj->dirty = 1;
        uv_mutex_unlock(&lj->mu);
        uv_async_send(&lj->L->async);
    } else if (k == CT_AGENT_EV_WARNING && text) {
        uv_mutex_lock(&lj->mu);
        if (json_array_size(lj->warnings) < LLM_MAX_WARNINGS)
            json_array_append_new(lj->warnings, ct_json_text(text));
        uv_mutex_unlock(&lj->mu);
    }
}

void llm_cache_key(const ct_job *j, const char **analyzer, const char **model,
                   const char **config_hash)
{
    const llm_job *lj = j->llm;
    *analyzer = lj->mode;
    *model = lj->has_key_model ? lj->key_model : NULL;
    *config_hash = lj->cfg_hash;
}

int llm_analyze_one(ct_job *j, ct_memory *m, const ct_trajectory *t, ct_analysis **out,
                    ct_error *err)
{
    llm_job *lj = j->llm;
    *out = NULL;
    if (atomic_load(&lj->cancel)) { /* cancelled before this trajectory began */
        ct_analysis *a = ct_analysis_new(t, lj->mode);
        a->partial = 1;
        a->stop_reason = ct_analysis_strdup(a, "cancelled");
        a->model = ct_analysis_strdup(a, lj->model);
        *out = a;
        return CT_OK;
    }
    if (lj->cache_only) /* analysis_of found no cached analysis: no LLM call is made */
        return ct_error_set(err, CT_ENOTFOUND, "the LLM analysis of %s is not in the cache", t->id);
    ct_agent_analyze_opts o;
    memset(&o, 0, sizeof o);
    o.mode = lj->mode;
    o.llm = lj->client;
    o.on_event = on_agent_event;
    o.ud = lj;
    o.cancel = &lj->cancel;
    o.memory = m; /* prior knowledge in the prompt, insights written back (this thread's) */
    ct_error e;
    ct_error_clear(&e);
    int rc = ct_agent_analyze(t, lj->cfg, &o, out, &e);
    uv_mutex_lock(&lj->mu);
    if (rc == CT_OK && *out)
        lj->n_ok++;
    else {
        lj->n_failed++;
        lj->agent_err = e;
    }
    uv_mutex_unlock(&lj->mu);
    if (rc != CT_OK && err) *err = e;
    return rc;
}

static void thread_main(void *arg)
{
    llm_job *lj = arg;
    analyze_run(&lj->job);
    atomic_store(&lj->finished, 1);
    uv_async_send(&lj->L->async);
}

/* ---- progress ----------------------------------------------------------------------------- */

static void progress(ct_server *s, const char *token, const char *kind, const char *title,
                     const char *msg)
{
    progress_notify(s, token, kind, title, msg, 1);
}

static char *job_title(const llm_job *lj)
{
    const char *slash = strrchr(lj->job.path, '/');
    return ct_xasprintf("codetracer: LLM diagnosis of %s", slash ? slash + 1 : lj->job.path);
}

static void fmt_tokens(long long n, char *buf, size_t size)
{
    if (n >= 1000)
        snprintf(buf, size, "%.1fk", (double)n / 1000.0);
    else
        snprintf(buf, size, "%lld", n);
}

static void report_turn(llm_state *L, llm_job *lj)
{
    uv_mutex_lock(&lj->mu);
    int dirty = lj->dirty, turn = lj->turn, step = lj->step;
    long long tokens = lj->tokens;
    double cost = lj->cost;
    lj->dirty = 0;
    json_t *warn = lj->warnings;
    lj->warnings = json_array();
    uv_mutex_unlock(&lj->mu);
    size_t i;
    json_t *w;
    json_array_foreach(warn, i, w)
        srv_log(L->srv, 4, "%s: LLM agent: %s", lj->job.path, json_string_value(w));
    json_decref(warn);
    if (!dirty || !lj->progress_begun) return;
    char tok[32], msg[160];
    fmt_tokens(tokens, tok, sizeof tok);
    if (step > 0)
        snprintf(msg, sizeof msg, "turn %d · inspecting step %d · %s tokens · $%.4f", turn, step,
                 tok, cost);
    else
        snprintf(msg, sizeof msg, "turn %d · %s tokens · $%.4f", turn, tok, cost);
    progress(L->srv, lj->token, "report", NULL, msg);
}

void llm_on_progress_created(ct_server *s, const char *token, int ok)
{
    llm_state *L = state(s);
    if (progress_flush_late(s, token, ok)) return;
    for (llm_job *lj = L->jobs; lj; lj = lj->next) {
        if (!lj->token || lj->progress_begun || strcmp(lj->token, token) != 0) continue;
        if (!ok) {
            free(lj->token);
            lj->token = NULL;
            return;
        }
        lj->progress_begun = 1;
        char *title = job_title(lj);
        progress(s, token, "begin", title, lj->started ? "running" : "queued");
        free(title);
        uv_mutex_lock(&lj->mu);
        lj->dirty = lj->turn > 0;
        uv_mutex_unlock(&lj->mu);
        report_turn(L, lj);
        return;
    }
}

static void progress_end(llm_state *L, llm_job *lj, const char *msg)
{
    if (!lj->token) return;
    if (lj->progress_begun) {
        progress(L->srv, lj->token, "end", NULL, msg);
        return;
    }
    char *title = job_title(lj);
    progress_end_late(L->srv, lj->token, title, msg, 1);
    free(title);
}

/* ---- the end of a job ------------------------------------------------------------------ */

static void job_free(llm_job *lj)
{
    ct_job *j = &lj->job;
    result_free(j->res);
    blob_unref(j->text);
    free(j->path);
    free(j->uri);
    json_decref(lj->cfg);
    ct_llm_client_free(lj->client);
    json_decref(lj->req_id);
    json_decref(lj->warnings);
    free(lj->token);
    free(lj->target);
    uv_cond_destroy(&lj->cv);
    uv_mutex_destroy(&lj->mu);
    free(lj);
}

/* Mark every diagnostic as this analyzer's: message and data. */
static void mark_diags(const llm_job *lj, json_t *diags, const char *partial_reason)
{
    const char *uri;
    json_t *arr;
    json_object_foreach(diags, uri, arr)
    {
        size_t i;
        json_t *d;
        json_array_foreach(arr, i, d)
        {
            const char *m = jstr(d, "message");
            char *msg =
                ct_xasprintf("%s [LLM%s%s%s]%s%s%s", m ? m : "",
                             strcmp(lj->mode, "hybrid") == 0 ? " hybrid" : "",
                             *lj->model ? ": " : "", lj->model, partial_reason ? " (partial: " : "",
                             partial_reason ? partial_reason : "", partial_reason ? ")" : "");
            json_object_set_new(d, "message", ct_json_text(msg));
            free(msg);
            json_t *data = jobj(d, "data");
            if (!data) {
                data = json_object();
                json_object_set_new(d, "data", data);
            }
            json_object_set_new(data, "analyzer", json_string(lj->mode));
            if (partial_reason) {
                json_object_set_new(data, "partial", json_true());
                json_object_set_new(data, "stop_reason", ct_json_text(partial_reason));
            }
        }
    }
}

static json_t *summary(const llm_job *lj, const ct_result *r, const char *partial_reason, int stale)
{
    json_t *labels = json_array();
    long long steps = 0, inc = 0, unu = 0, tin = 0, tout = 0;
    double cost = 0;
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        const ct_analysis *a = r->an[i];
        steps += (long long)t->n_steps;
        cost += a->cost_usd;
        tin += a->tokens_in;
        tout += a->tokens_out;
        for (size_t k = 0; k < a->n_labels; k++) {
            const ct_step_label *l = &a->labels[k];
            if (l->label == CT_LABEL_CORRECT) continue;
            inc += l->label == CT_LABEL_INCORRECT;
            unu += l->label == CT_LABEL_UNUSEFUL;
            json_array_append_new(labels, json_pack("{s:o,s:i,s:s}", "traj_id", ct_json_text(t->id),
                                                    "step_id", l->step_id, "label",
                                                    ct_label_name(l->label)));
        }
    }
    json_t *files = json_array();
    const char *uri;
    json_t *v;
    json_object_foreach(r->diags, uri, v) json_array_append_new(files, json_string(uri));
    json_t *o = json_pack("{s:s,s:s,s:b,s:i,s:I,s:I,s:I,s:o,s:o,s:f,s:I,s:I}", "analyzer", lj->mode,
                          "model", lj->model, "partial", partial_reason != NULL, "trajectories",
                          (int)r->trajs.n, "steps", (json_int_t)steps, "incorrect", (json_int_t)inc,
                          "unuseful", (json_int_t)unu, "labels", labels, "files", files, "cost_usd",
                          cost, "tokens_in", (json_int_t)tin, "tokens_out", (json_int_t)tout);
    if (partial_reason) json_object_set_new(o, "stop_reason", ct_json_text(partial_reason));
    if (stale) json_object_set_new(o, "stale", json_true());
    json_object_set_new(o, "cached", json_integer((json_int_t)r->n_cached));
    return o;
}

/* Install a path result like jobs.c does: the previous analysis of the same path is replaced. */
static void install_path(ct_server *s, ct_result *r)
{
    ext_result **pp = &s->ext, *old = NULL;
    while (*pp && strcmp((*pp)->res->path, r->path) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        old = *pp;
        *pp = old->next;
        const char *uri;
        json_t *v;
        json_object_foreach(old->res->diags, uri, v)
        {
            if (!json_object_get(r->diags, uri)) publish(s, uri, -1, json_array());
        }
        result_free(old->res);
        free(old);
    }
    const char *uri;
    json_t *arr;
    json_object_foreach(r->diags, uri, arr) publish(s, uri, -1, json_incref(arr));
    ext_result *e = ct_xcalloc(1, sizeof *e);
    e->res = r;
    e->next = s->ext;
    s->ext = e;
}

/* Answer the job's request with sum (taken), if it has one still waiting. */
static void answer(ct_server *s, llm_job *lj, json_t *sum)
{
    if (!lj->req_id) {
        json_decref(sum);
        return;
    }
    srv_reply(s, lj->req_id, sum);
    json_decref(lj->req_id);
    lj->req_id = NULL;
}

static void reply_error(ct_server *s, llm_job *lj, int code, const char *msg)
{
    if (!lj->req_id) return;
    srv_reply_error(s, lj->req_id, code, "%s", msg);
    json_decref(lj->req_id);
    lj->req_id = NULL;
}

static void finish(llm_state *L, llm_job *lj)
{
    ct_server *s = L->srv;
    ct_job *j = &lj->job;
    if (!lj->no_thread) uv_thread_join(&lj->thread);
    ct_result *r = j->res;
    j->res = NULL;
    if (r && r->text) blob_ref(r->text); /* analyze_run borrowed the job's reference */
    report_turn(L, lj);
    if (j->mem_failed && !s->mem_broken) {
        /* as for a heuristic job (jobs.c): one warning, then no memory for anyone */
        char mb[1536];
        s->mem_broken = 1;
        srv_show(s, 2,
                 "codetracer: the memory database cannot be used (%s); analyses go on without "
                 "the cache and feedback",
                 ct_error_format(&j->mem_err, mb, sizeof mb));
    }
    if (lj->discard || s->exiting || s->shutdown) {
        progress_end(L, lj, "cancelled");
        reply_error(s, lj, CT_RPC_REQUEST_CANCELLED, "LLM analysis cancelled");
        result_free(r);
        return;
    }
    if (lj->cache_only && (j->rc != CT_OK || !r || r->n_cached < r->trajs.n)) {
        /* A re-analysis after feedback that would need a new (paid) LLM run: the labels shown
         * stay; the feedback shows with the next LLM analysis. */
        progress_end(L, lj, "not in the analysis cache: labels unchanged");
        srv_show(s, 3,
                 "codetracer: feedback saved; %s's LLM analysis is no longer in the cache, so the "
                 "labels shown are unchanged until the next \"Diagnose with LLM\"",
                 j->path);
        reply_error(s, lj, CT_RPC_REQUEST_FAILED, "not in the analysis cache");
        result_free(r);
        return;
    }
    char buf[1536];
    if (j->rc != CT_OK || !r || (lj->n_ok == 0 && lj->n_failed > 0)) {
        const ct_error *e = j->rc != CT_OK || !r ? &j->err : &lj->agent_err;
        ct_error_format(e, buf, sizeof buf);
        char *end = ct_xasprintf("failed: %s", buf);
        progress_end(L, lj, end);
        free(end);
        srv_show(s, 1, "codetracer: LLM analysis of %s failed: %s", j->path, buf);
        reply_error(s, lj, CT_RPC_REQUEST_FAILED, buf);
        result_free(r);
        return;
    }
    if (lj->n_failed > 0)
        srv_show(s, 2, "codetracer: LLM analysis of %s: %d trajector%s failed (%s)", j->path,
                 lj->n_failed, lj->n_failed == 1 ? "y" : "ies",
                 ct_error_format(&lj->agent_err, buf, sizeof buf));
    size_t n_cached = r->n_cached, n_trajs = r->trajs.n;
    const char *partial = NULL;
    for (size_t i = 0; i < r->trajs.n && !partial; i++)
        if (r->an[i]->partial) partial = r->an[i]->stop_reason ? r->an[i]->stop_reason : "partial";
    char *reason = partial ? ct_xstrdup(partial) : NULL;
    mark_diags(lj, r->diags, reason);
    size_t shown = 0;
    const char *u;
    json_t *arr0;
    json_object_foreach(r->diags, u, arr0) shown += json_array_size(arr0);
    int stale = 0;
    if (reason && shown == 0) {
        /* stopped before any label: the diagnostics shown stay (an empty set would hide them) */
        srv_log(s, 3, "%s: the LLM analysis stopped (%s) before labelling a step", j->path, reason);
    } else if (j->uri) {
        ct_doc *d = doc_find(s, j->uri);
        if (d && d->version == j->version) {
            json_t *arr = json_object_get(r->diags, j->uri);
            publish(s, j->uri, j->version, arr ? json_incref(arr) : json_array());
            json_t *sum = summary(lj, r, reason, 0);
            result_free(d->res);
            d->res = r;
            r = NULL;
            answer(s, lj, sum);
        } else {
            stale = 1; /* the document changed or closed: these ranges are not its own */
            srv_log(s, 3, "%s changed during the LLM analysis: its labels are not shown", j->path);
        }
    } else {
        json_t *sum = summary(lj, r, reason, 0);
        install_path(s, r);
        r = NULL;
        answer(s, lj, sum);
    }
    if (r && lj->req_id) answer(s, lj, summary(lj, r, reason, stale));
    result_free(r);
    uv_mutex_lock(&lj->mu);
    char tok[32], end[256];
    fmt_tokens(lj->tokens, tok, sizeof tok);
    if (n_cached && n_cached == n_trajs && !reason)
        snprintf(end, sizeof end, "done%s · from the analysis cache (no LLM call)",
                 stale ? " (document changed)" : "");
    else
        snprintf(end, sizeof end, "%s%s%s · %d turn%s · %s tokens · $%.4f%s",
                 reason ? "partial: " : "done", reason ? reason : "",
                 stale ? " (document changed)" : "", lj->turn, lj->turn == 1 ? "" : "s", tok,
                 lj->cost, n_cached ? " · some from the analysis cache" : "");
    uv_mutex_unlock(&lj->mu);
    progress_end(L, lj, end);
    srv_log(s, 3, "%s: LLM analysis (%s, %s) %s", j->path, lj->mode, lj->model, end);
    free(reason);
    sources_refresh(s);
}

/* ---- scheduling ------------------------------------------------------------------------- */

static void close_handles(llm_state *L);

static void start_waiting(llm_state *L)
{
    int running = 0;
    for (llm_job *lj = L->jobs; lj; lj = lj->next)
        running += lj->started;
    for (llm_job *lj = L->jobs; lj && running < L->max_running; lj = lj->next) {
        if (lj->started) continue;
        if (uv_thread_create(&lj->thread, thread_main, lj) != 0) {
            /* short of resources: the job ends with an error */
            lj->job.rc = ct_error_set(&lj->job.err, CT_ENOMEM, "cannot start a thread");
            lj->started = 1;
            lj->no_thread = 1;
            atomic_store(&lj->finished, 1);
            uv_async_send(&L->async);
            continue;
        }
        lj->started = 1;
        running++;
        if (lj->progress_begun) progress(L->srv, lj->token, "report", NULL, "running");
    }
}

static void on_async(uv_async_t *a)
{
    llm_state *L = a->data;
    llm_job **pp = &L->jobs;
    while (*pp) {
        llm_job *lj = *pp;
        uv_mutex_lock(&lj->mu);
        CURL *add = NULL;
        if (lj->xfer == X_SUBMITTED) {
            if (atomic_load(&lj->cancel)) {
                lj->curl_rc = CURLE_ABORTED_BY_CALLBACK;
                lj->xfer = X_DONE;
                uv_cond_broadcast(&lj->cv);
            } else {
                lj->xfer = X_ACTIVE;
                add = lj->easy;
            }
        }
        uv_mutex_unlock(&lj->mu);
        if (add) {
            curl_easy_setopt(add, CURLOPT_PRIVATE, (char *)(void *)lj);
            CURLMcode mc = curl_multi_add_handle(L->multi, add);
            if (mc != CURLM_OK) {
                uv_mutex_lock(&lj->mu);
                lj->curl_rc = CURLE_FAILED_INIT;
                lj->xfer = X_DONE;
                uv_cond_broadcast(&lj->cv);
                uv_mutex_unlock(&lj->mu);
            }
        }
        report_turn(L, lj);
        if (lj->started && atomic_load(&lj->finished)) {
            *pp = lj->next;
            finish(L, lj);
            job_free(lj);
            continue;
        }
        pp = &lj->next;
    }
    ct_server *s = L->srv;
    if (!s->exiting) {
        start_waiting(L);
        return;
    }
    if (!L->jobs) {
        close_handles(L);
        if (!s->jobs && s->wake_open) {
            uv_close((uv_handle_t *)&s->wake, NULL);
            s->wake_open = 0;
        }
    } else {
        start_waiting(L); /* waiting jobs see the cancellation at once and end */
    }
}

static int open_handles(llm_state *L)
{
    if (L->open) return 0;
    L->multi = curl_multi_init();
    if (!L->multi) return -1;
    curl_multi_setopt(L->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(L->multi, CURLMOPT_SOCKETDATA, L);
    curl_multi_setopt(L->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(L->multi, CURLMOPT_TIMERDATA, L);
    srv_log(L->srv, 4, "curl multi handle created (LLM analyses: at most %d at once)",
            L->max_running);
    uv_timer_init(L->srv->loop, &L->timer);
    L->timer.data = L;
    uv_async_init(L->srv->loop, &L->async, on_async);
    L->async.data = L;
    L->open = 1;
    return 0;
}

static void close_handles(llm_state *L)
{
    if (!L->open) return;
    L->open = 0;
    curl_multi_cleanup(L->multi); /* closes its connections: their polls go with them */
    L->multi = NULL;
    while (L->socks)
        sock_close(L, L->socks);
    uv_timer_stop(&L->timer);
    uv_close((uv_handle_t *)&L->timer, NULL);
    uv_close((uv_handle_t *)&L->async, NULL);
}

/* ---- cancellation ----------------------------------------------------------------------- */

static void cancel_job(llm_state *L, llm_job *lj, int discard)
{
    if (discard || !lj->started) lj->discard = 1; /* nothing found yet: nothing to publish */
    if (lj->cancelled) return;
    lj->cancelled = 1;
    uv_mutex_lock(&lj->mu);
    atomic_store(&lj->cancel, 1);
    if (lj->xfer == X_ACTIVE) {
        /* the loop owns the transfer: take it out now and hand the handle back aborted */
        curl_multi_remove_handle(L->multi, lj->easy);
        lj->curl_rc = CURLE_ABORTED_BY_CALLBACK;
        lj->xfer = X_DONE;
    } else if (lj->xfer == X_SUBMITTED) {
        lj->curl_rc = CURLE_ABORTED_BY_CALLBACK;
        lj->xfer = X_DONE;
    }
    uv_cond_broadcast(&lj->cv);
    uv_mutex_unlock(&lj->mu);
    if (lj->progress_begun) progress(L->srv, lj->token, "report", NULL, "cancelling");
    if (L->open) uv_async_send(&L->async); /* a waiting job ends through the loop */
}

int llm_cancel_request(ct_server *s, json_t *id)
{
    if (!s->llm) return 0;
    for (llm_job *lj = s->llm->jobs; lj; lj = lj->next)
        if (lj->req_id && json_equal(lj->req_id, id)) {
            cancel_job(s->llm, lj, 0); /* answered with the partial result when it ends */
            return 1;
        }
    return 0;
}

void h_progress_cancel(ct_server *s, ct_rpc_msg *m)
{
    json_t *tok = json_object_get(m->params, "token");
    if (!s->llm || !tok) return;
    char key[64];
    if (json_is_string(tok))
        snprintf(key, sizeof key, "%s", json_string_value(tok));
    else if (json_is_integer(tok))
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(tok));
    else
        return;
    for (llm_job *lj = s->llm->jobs; lj; lj = lj->next)
        if (lj->token && strcmp(lj->token, key) == 0) {
            cancel_job(s->llm, lj, 0);
            return;
        }
}

int llm_clear(ct_server *s, const char *target)
{
    if (!s->llm) return 0;
    int n = 0;
    for (llm_job *lj = s->llm->jobs; lj; lj = lj->next) {
        if (target && strcmp(lj->target, target) != 0 && strcmp(lj->job.path, target) != 0 &&
            !(lj->job.uri && strcmp(lj->job.uri, target) == 0))
            continue;
        if (!lj->cancelled || !lj->discard) n++;
        cancel_job(s->llm, lj, 1);
    }
    return n;
}

void llm_shutdown(ct_server *s)
{
    llm_state *L = s->llm;
    if (!L) return;
    for (llm_job *lj = L->jobs; lj; lj = lj->next)
        cancel_job(L, lj, 1);
    if (s->exiting && !L->jobs) close_handles(L);
}

int llm_busy(ct_server *s)
{
    return s->llm && s->llm->jobs;
}

void llm_free(ct_server *s)
{
    llm_state *L = s->llm;
    if (!L) return;
    /* The loop only ends once every job ended (their async handle keeps it alive). */
    while (L->jobs) {
        llm_job *lj = L->jobs;
        L->jobs = lj->next;
        if (lj->started && !lj->no_thread) uv_thread_join(&lj->thread);
        job_free(lj);
    }
    free(L);
    s->llm = NULL;
}

/* ---- starting a job ---------------------------------------------------------------------- */

/* An analysis that cannot start: the request's error, or (no request: a re-analysis the daemon
 * started itself) a message the user sees. */
static void start_failed(ct_server *s, json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void start_failed(ct_server *s, json_t *id, int code, const char *fmt, ...)
{
    char msg[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (id)
        srv_reply_error(s, id, code, "%s", msg);
    else
        srv_show(s, 2, "LLM analysis not started: %s", msg);
}

static void start_job(ct_server *s, json_t *id, const char *token, const char *target,
                      const char *mode, int cache_only)
{
    llm_state *L = state(s);
    if (!llm_configured(s)) {
        start_failed(s, id, CT_RPC_REQUEST_FAILED,
                     "no LLM endpoint and model configured: set codetracer.llm.apiBase and "
                     "codetracer.llm.model (or CODETRACER_API_BASE and CODETRACER_MODEL in the "
                     "daemon's environment, or llm.* in the config file)");
        return;
    }
    ct_doc *d = NULL;
    for (ct_doc *x = s->docs; x; x = x->next)
        if (strcmp(x->uri, target) == 0 || strcmp(x->path, target) == 0) d = x;
    char *path = NULL;
    if (d) {
        if (d->text->len > s->set.max_document) {
            start_failed(s, id, CT_RPC_REQUEST_FAILED, "%s is over maxDocumentBytes", d->path);
            return;
        }
    } else {
        path = ct_lsp_path_from_uri(target);
        if (!path && (strncmp(target, "file:", 5) == 0 || strstr(target, "://"))) {
            start_failed(s, id, CT_RPC_INVALID_PARAMS,
                         "only file:// URIs and paths can be analyzed");
            return;
        }
        if (!path) path = ct_xstrdup(target);
    }
    int n = 0;
    for (llm_job *lj = L->jobs; lj; lj = lj->next)
        n += !lj->cancelled;
    if (n >= LLM_MAX_JOBS) {
        free(path);
        start_failed(s, id, CT_RPC_REQUEST_FAILED,
                     "%d LLM analyses are already running or waiting; try again later", n);
        return;
    }
    ct_error e;
    ct_error_clear(&e);
    json_t *cfg = effective_config(L, &e);
    ct_llm_client *client = cfg ? ct_llm_client_new(cfg, &e) : NULL;
    if (!client || open_handles(L) != 0) {
        char buf[1536];
        if (client) ct_error_set(&e, CT_ENOMEM, "cannot create a curl multi handle");
        start_failed(s, id, CT_RPC_REQUEST_FAILED, "%s", ct_error_format(&e, buf, sizeof buf));
        ct_llm_client_free(client);
        json_decref(cfg);
        free(path);
        return;
    }
    /* A new analysis of the same target replaces a running one. */
    for (llm_job *lj = L->jobs; lj; lj = lj->next)
        if (!lj->cancelled && strcmp(lj->job.path, d ? d->path : path) == 0) {
            reply_error(s, lj, CT_RPC_REQUEST_CANCELLED, "superseded by a new LLM analysis");
            cancel_job(L, lj, 1);
        }
    llm_job *lj = ct_xcalloc(1, sizeof *lj);
    lj->L = L;
    snprintf(lj->mode, sizeof lj->mode, "%s", mode);
    snprintf(lj->model, sizeof lj->model, "%s", ct_llm_client_model(client));
    const char *km = ct_config_str(cfg, "llm.model_name", NULL);
    if (km && strlen(km) < sizeof lj->key_model) {
        snprintf(lj->key_model, sizeof lj->key_model, "%s", km);
        lj->has_key_model = 1;
    }
    ct_batch_config_hash(mode, cfg, lj->cfg_hash);
    lj->cfg = cfg;
    lj->client = client;
    lj->target = ct_xstrdup(target);
    lj->req_id = id ? json_incref(id) : NULL;
    lj->cache_only = cache_only;
    lj->warnings = json_array();
    atomic_init(&lj->cancel, 0);
    atomic_init(&lj->finished, 0);
    uv_mutex_init(&lj->mu);
    uv_cond_init(&lj->cv);
    ct_llm_client_set_performer(client, perform, lj);
    ct_llm_client_set_cancel(client, &lj->cancel);
    ct_job *j = &lj->job;
    /* the analysis cache, memory and feedback as for a heuristic job (analyze.c analysis_of),
     * under the CLI's llm/hybrid key; the memo of published diagnostics is the heuristic's */
    job_init(s, j, mode);
    j->llm = lj;
    if (d) {
        j->text = blob_ref(d->text);
        j->path = ct_xstrdup(d->path);
        j->uri = ct_xstrdup(d->uri);
        j->version = d->version;
    } else {
        j->path = path;
        path = NULL;
    }
    llm_job **pp = &L->jobs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = lj;
    char *title = job_title(lj);
    if (token) {
        lj->token = ct_xstrdup(token);
        lj->progress_begun = 1;
        progress(s, token, "begin", title, "queued");
    } else if (s->cap_progress) {
        char tok[48], purpose[64];
        snprintf(tok, sizeof tok, "codetracer-llm-%lld", ++s->next_token);
        lj->token = ct_xstrdup(tok);
        snprintf(purpose, sizeof purpose, "llmprogress:%s", tok);
        srv_request(s, "window/workDoneProgress/create", json_pack("{s:s}", "token", tok), purpose);
    }
    free(title);
    srv_log(s, 3, "%s: LLM analysis (%s, model %s) queued", j->path, mode, lj->model);
    start_waiting(L);
}

void llm_start(ct_server *s, json_t *id, const char *token, const char *target, const char *mode)
{
    start_job(s, id, token, target, mode, 0);
}

void llm_reapply(ct_server *s, const char *target, const char *mode)
{
    start_job(s, NULL, NULL, target, mode, 1);
}
