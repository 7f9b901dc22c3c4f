/* httpd.h — a scripted HTTP responder on 127.0.0.1 for the unit tests of the LLM client, the
 * agent and the sandbox (one thread, one connection per request, `Connection: close`).
 *
 * Replies are served in order; the last one repeats. A reply starting with three digits is sent
 * with that status ("503{...}"), any other with 200. With `wrap` set, each reply is passed through
 * it first (a new malloc'ed body, e.g. a chat completion around an assistant text). The bodies of
 * the first HTTPD_MAX_REQ requests are kept in `requests`, their request line and headers in
 * `heads` (freed by httpd_stop).
 *
 *     test_httpd h = {.replies = {"{...}"}, .n_replies = 1};
 *     CHECK(httpd_start(&h) == 0);   ... http://127.0.0.1:<h.port>/v1 ...
 *     httpd_stop(&h);
 */
#ifndef CT_TEST_HTTPD_H
#define CT_TEST_HTTPD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPD_MAX_REQ 16
#define HTTPD_REQ_BYTES 65536

typedef struct test_httpd {
    const char *replies[HTTPD_MAX_REQ];
    int n_replies;
    char *(*wrap)(const char *reply);
    /* filled by the server */
    int fd, port;
    atomic_int accepted;           /* connections accepted */
    char *requests[HTTPD_MAX_REQ]; /* bodies received, in order */
    char *heads[HTTPD_MAX_REQ];    /* their request lines and headers */
    pthread_t thread;
    atomic_int stop;
} test_httpd;

/* Read one request (headers + Content-Length body) into buf; the body, or NULL. */
static char *httpd_read_request(int c, char *buf, size_t size)
{
    size_t got = 0;
    buf[0] = 0;
    for (;;) {
        ssize_t r = read(c, buf + got, size - 1 - got);
        if (r <= 0) return NULL;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "content-length:");
        if (end && cl && got >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 15)) return end + 4;
        if (got == size - 1) return NULL; /* larger than the tests send */
    }
}

static void *httpd_serve(void *ud)
{
    test_httpd *h = ud;
    char *buf = malloc(HTTPD_REQ_BYTES);
    for (int i = 0;; i++) {
        int c = accept(h->fd, NULL, NULL);
        if (c < 0 || atomic_load(&h->stop)) {
            if (c >= 0) close(c);
            break;
        }
        atomic_fetch_add(&h->accepted, 1);
        char *body = httpd_read_request(c, buf, HTTPD_REQ_BYTES);
        if (i < HTTPD_MAX_REQ) {
            h->requests[i] = strdup(body ? body : "");
            h->heads[i] = strndup(buf, body ? (size_t)(body - buf) : strlen(buf));
        }
        const char *reply =
            h->n_replies ? h->replies[i < h->n_replies ? i : h->n_replies - 1] : "{}";
        int status = 200;
        if (strlen(reply) >= 3 && reply[0] >= '1' && reply[0] <= '5' && reply[1] >= '0' &&
            reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9') {
            status = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
            reply += 3;
        }
        char *wrapped = h->wrap ? h->wrap(reply) : NULL;
        const char *out = wrapped ? wrapped : reply;
        char head[256];
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 status, strlen(out));
        if (write(c, head, strlen(head)) < 0 || write(c, out, strlen(out)) < 0) {
        }
        free(wrapped);
        close(c);
    }
    free(buf);
    return NULL;
}

/* Listen on an ephemeral port of 127.0.0.1 and serve from a thread: 0, or -1. */
static int httpd_start(test_httpd *h)
{
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(h->fd, 16) != 0 ||
        getsockname(h->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    h->port = ntohs(a.sin_port);
    atomic_init(&h->accepted, 0);
    atomic_init(&h->stop, 0);
    return pthread_create(&h->thread, NULL, httpd_serve, h) == 0 ? 0 : -1;
}

/* Wake the server out of accept(), join it, free the recorded requests. */
static void httpd_stop(test_httpd *h)
{
    atomic_store(&h->stop, 1);
    shutdown(h->fd, SHUT_RDWR);
    pthread_join(h->thread, NULL);
    close(h->fd);
    for (int i = 0; i < HTTPD_MAX_REQ; i++) {
        free(h->requests[i]);
        free(h->heads[i]);
        h->requests[i] = h->heads[i] = NULL;
    }
}

/* The number of requests received (bodies recorded). */
static int httpd_served(const test_httpd *h)
{
    return atomic_load(&((test_httpd *)h)->accepted);
}

#endif
