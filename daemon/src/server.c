/* server.c — the event loop: stdin → frames → JSON-RPC → handlers; output and logging. */
#include "ctd/daemon.h"
#include "server.h"

#include "ct/memory.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- small shared helpers ---- */

textblob *blob_new(const char *s, size_t n)
{
    textblob *b = ct_xmalloc(sizeof *b + n + 1);
    b->refs = 1;
    b->len = n;
    if (n) memcpy(b->data, s, n);
    b->data[n] = '\0';
    return b;
}

textblob *blob_ref(textblob *b)
{
    if (b) b->refs++;
    return b;
}

void blob_unref(textblob *b)
{
    if (b && --b->refs == 0) free(b);
}

const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_t *jobj(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_object(v) ? v : NULL;
}

/* ---- output ---- */

/* stdout is written synchronously from the loop thread: a message either goes out whole or the
 * client is gone. libuv may have made the descriptor non-blocking (when stdin and stdout are the
 * same tty or socket), so EAGAIN waits with poll(). */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (poll(&pf, 1, 30000) <= 0) return -1;
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void srv_send(ct_server *s, json_t *msg_new)
{
    if (s->out_broken) {
        json_decref(msg_new);
        return;
    }
    size_t n;
    char *out = ct_rpc_encode(msg_new, &n);
    if (write_all(1, out, n) != 0) {
        s->out_broken = 1;
        fprintf(stderr, "codetracerd: the client stopped reading (%s); exiting\n", strerror(errno));
        srv_begin_exit(s);
    }
    free(out);
}

void srv_reply(ct_server *s, json_t *id, json_t *result_new)
{
    srv_send(s, ct_rpc_result(id, result_new));
}

void srv_reply_error(ct_server *s, json_t *id, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_send(s, ct_rpc_error(id, code, msg, NULL));
}

void srv_notify(ct_server *s, const char *method, json_t *params_new)
{
    srv_send(s, ct_rpc_notification(method, params_new));
}

void srv_request(ct_server *s, const char *method, json_t *params_new, const char *purpose)
{
    char key[32];
    snprintf(key, sizeof key, "ct-%lld", ++s->next_out_id);
    json_object_set_new(s->outgoing, key, json_string(purpose));
    json_t *id = json_string(key);
    srv_send(s, ct_rpc_request(id, method, params_new));
    json_decref(id);
}

static void vlog(ct_server *s, int level, int show, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    static const char *const names[] = {"", "error", "warning", "info", "log"};
    fprintf(stderr, "codetracerd: %s: %s\n", names[level >= 1 && level <= 4 ? level : 4], msg);
    if (!s->initialize_seen || s->out_broken) return;
    json_t *p = json_pack("{s:i,s:o}", "type", level, "message", ct_json_text(msg));
    srv_notify(s, "window/logMessage", json_incref(p));
    if (show) srv_notify(s, "window/showMessage", json_incref(p));
    json_decref(p);
}

void srv_log(ct_server *s, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(s, level, 0, fmt, ap);
    va_end(ap);
}

void srv_show(ct_server *s, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(s, level, 1, fmt, ap);
    va_end(ap);
}

/* ---- dispatch ---- */

typedef void (*handler_fn)(ct_server *, ct_rpc_msg *);

typedef struct route {
    const char *method;
    handler_fn fn;
    int request; /* 1 request, 0 notification */
} route;

static const route routes[] = {
    {"initialize", h_initialize, 1},
    {"initialized", h_initialized, 0},
    {"shutdown", h_shutdown, 1},
    {"exit", h_exit, 0},
    {"$/cancelRequest", h_cancel, 0},
    {"window/workDoneProgress/cancel", h_progress_cancel, 0},
    {"workspace/didChangeConfiguration", h_did_change_configuration, 0},
    {"textDocument/didOpen", h_did_open, 0},
    {"textDocument/didChange", h_did_change, 0},
    {"textDocument/didClose", h_did_close, 0},
    {"textDocument/hover", h_hover, 1},
    {"textDocument/definition", h_definition, 1},
    {"textDocument/codeAction", h_code_action, 1},
    {"textDocument/documentSymbol", h_document_symbol, 1},
    {"textDocument/codeLens", h_code_lens, 1},
    {"workspace/executeCommand", h_execute_command, 1},
    {"workspace/symbol", h_workspace_symbol, 1},
};

static void dispatch(ct_server *s, ct_rpc_msg *m)
{
    if (m->kind == CT_RPC_RESPONSE) {
        h_response(s, m);
        return;
    }
    const route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].method, m->method) == 0) r = &routes[i];
    int is_req = m->kind == CT_RPC_REQUEST;
    if (r && strcmp(r->method, "exit") == 0) {
        r->fn(s, m);
        return;
    }
    if (!s->initialized && !(r && strcmp(r->method, "initialize") == 0)) {
        if (is_req)
            srv_reply_error(s, m->id, CT_RPC_SERVER_NOT_INITIALIZED,
                            "the server is not initialized yet (send initialize first)");
        return; /* notifications before initialize are dropped (LSP) */
    }
    if (s->shutdown) {
        if (is_req)
            srv_reply_error(s, m->id, CT_RPC_INVALID_REQUEST,
                            "the server is shutting down; only exit is accepted");
        return;
    }
    if (!r) {
        if (is_req)
            srv_reply_error(s, m->id, CT_RPC_METHOD_NOT_FOUND, "unknown method %s", m->method);
        return; /* unknown notifications (including $/...) are ignored */
    }
    if (r->request != is_req) {
        if (is_req)
            srv_reply_error(s, m->id, CT_RPC_INVALID_REQUEST, "%s is a notification, not a request",
                            m->method);
        else
            srv_log(s, 2, "%s sent as a notification; it is a request (ignored)", m->method);
        return;
    }
    if (m->params && !json_is_object(m->params) && strcmp(m->method, "shutdown") != 0) {
        if (is_req) srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "params must be an object");
        return;
    }
    r->fn(s, m);
}

static void handle_body(ct_server *s, const char *body, size_t len)
{
    ct_rpc_msg m;
    json_t *bad_id = NULL;
    char why[512];
    int rc = ct_rpc_parse(body, len, &m, &bad_id, why, sizeof why);
    if (rc != 0) {
        srv_log(s, 2, "%s", why);
        srv_send(s, ct_rpc_error(bad_id, rc, why, NULL));
        json_decref(bad_id);
        return;
    }
    dispatch(s, &m);
    ct_rpc_msg_free(&m);
}

static void drain(ct_server *s)
{
    for (;;) {
        if (s->exiting) return;
        char *body;
        size_t len;
        char why[512];
        int r = ct_frame_next(&s->rd, &body, &len, why, sizeof why);
        if (r == CT_FRAME_MORE) return;
        if (r == CT_FRAME_ERROR) {
            srv_log(s, 2, "framing: %s", why);
            char *msg = ct_xasprintf("framing error: %s", why);
            srv_send(s, ct_rpc_error(NULL, CT_RPC_PARSE_ERROR, msg, NULL));
            free(msg);
            continue;
        }
        handle_body(s, body, len);
        free(body);
    }
}

static void on_input_end(ct_server *s)
{
    if (ct_frame_partial(&s->rd))
        srv_log(s, 2, "the client closed its end in the middle of a message (%zu bytes dropped)",
                ct_frame_buffered(&s->rd));
    else if (!s->exiting)
        srv_log(s, 3, "end of input without exit; exiting");
    s->exit_code = s->shutdown ? 0 : 1;
    srv_begin_exit(s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ct_server *s = h->data;
    (void)suggested;
    buf->base = s->in_buf;
    buf->len = sizeof s->in_buf;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    ct_server *s = st->data;
    if (n > 0) {
        ct_frame_feed(&s->rd, buf->base, (size_t)n);
        drain(s);
    } else if (n < 0) {
        if (n != UV_EOF) srv_log(s, 1, "reading stdin: %s", uv_strerror((int)n));
        on_input_end(s);
    }
}

static void read_file_next(ct_server *s);

static void on_file_read(uv_fs_t *req)
{
    ct_server *s = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (s->exiting) return;
    if (n > 0) {
        ct_frame_feed(&s->rd, s->in_buf, (size_t)n);
        drain(s);
        if (!s->exiting) read_file_next(s);
        return;
    }
    if (n < 0) srv_log(s, 1, "reading stdin: %s", uv_strerror((int)n));
    on_input_end(s);
}

static void read_file_next(ct_server *s)
{
    uv_buf_t b = uv_buf_init(s->in_buf, sizeof s->in_buf);
    s->in_req.data = s;
    if (uv_fs_read(s->loop, &s->in_req, 0, &b, 1, -1, on_file_read) != 0) on_input_end(s);
}

static void on_closed_free(uv_handle_t *h)
{
    free(h);
}

void srv_begin_exit(ct_server *s)
{
    if (s->exiting) return;
    s->exiting = 1;
    if (s->in) {
        uv_read_stop(s->in);
        uv_close((uv_handle_t *)s->in, on_closed_free);
        s->in = NULL;
    }
    for (ct_job *j = s->jobs; j; j = j->next)
        job_cancel(j, 0);
    llm_shutdown(s);
    for (ct_doc *d = s->docs; d; d = d->next)
        if (d->timer) {
            uv_close((uv_handle_t *)d->timer, on_closed_free);
            d->timer = NULL;
        }
    if (!s->jobs && !llm_busy(s) && s->wake_open) {
        uv_close((uv_handle_t *)&s->wake, NULL);
        s->wake_open = 0;
    }
    /* A pending file read keeps the loop alive until it completes; it sees `exiting`. */
}

static int usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--stdio] [--max-message-bytes N]\n\n"
            "Run the codetracer language server on stdin/stdout (LSP, JSON-RPC 2.0).\n"
            "Editors start it; see docs/protocol.md for capabilities, commands and settings.\n"
            "Exit status: 0 after shutdown+exit, 1 when exit came without shutdown or the client\n"
            "went away, 2 for a usage error.\n",
            prog);
    return f == stdout ? 0 : 2;
}

int ct_daemon_main(int argc, char **argv)
{
    ct_server *s = ct_xcalloc(1, sizeof *s);
    settings_defaults(&s->set);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            free(s);
            return usage(stdout, argv[0]);
        } else if (strcmp(argv[i], "--stdio") == 0) {
            continue;
        } else if (strcmp(argv[i], "--max-message-bytes") == 0 && i + 1 < argc) {
            char *end;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (*end || v < 1024) {
                fprintf(stderr, "%s: --max-message-bytes needs a number >= 1024\n", argv[0]);
                free(s);
                return 2;
            }
            s->set.max_message = (size_t)v;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
            free(s);
            return usage(stderr, argv[0]);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    s->loop = uv_default_loop();
    s->loop->data = s;
    s->published = json_object();
    s->outgoing = json_object();
    s->exit_code = 1;
    ct_frame_init(&s->rd, s->set.max_message);
    uv_async_init(s->loop, &s->wake, jobs_on_wake);
    s->wake.data = s;
    s->wake_open = 1;

    uv_handle_type t = uv_guess_handle(0);
    int rc = 0;
    if (t == UV_NAMED_PIPE || t == UV_TCP) {
        uv_pipe_t *p = ct_xcalloc(1, sizeof *p);
        uv_pipe_init(s->loop, p, 0);
        rc = uv_pipe_open(p, 0);
        s->in = (uv_stream_t *)p;
    } else if (t == UV_TTY) {
        uv_tty_t *p = ct_xcalloc(1, sizeof *p);
        rc = uv_tty_init(s->loop, p, 0, 1);
        s->in = (uv_stream_t *)p;
    } else {
        s->in_file = 1;
    }
    if (rc != 0) {
        fprintf(stderr, "codetracerd: cannot read stdin: %s\n", uv_strerror(rc));
        s->in_file = 1;
        uv_close((uv_handle_t *)s->in, on_closed_free);
        s->in = NULL;
    }
    if (s->in) {
        s->in->data = s;
        uv_read_start(s->in, on_alloc, on_read);
    } else {
        read_file_next(s);
    }
    uv_run(s->loop, UV_RUN_DEFAULT);

    /* Everything below runs after the loop has no more work: free what is left. */
    while (s->docs) {
        ct_doc *d = s->docs;
        s->docs = d->next;
        doc_free(s, d);
    }
    while (s->ext) {
        ext_result *e = s->ext;
        s->ext = e->next;
        result_free(e->res);
        free(e);
    }
    ct_memory_close(s->mem);
    llm_free(s);
    ext_files_free(s);
    sources_free(s);
    uv_run(s->loop, UV_RUN_NOWAIT);
    uv_loop_close(s->loop);
    ct_frame_free(&s->rd);
    json_decref(s->published);
    json_decref(s->outgoing);
    json_decref(s->progress_late);
    int code = s->exit_code;
    free(s);
    return code;
}
