/* memory_int.h — what the memory modules share: the handle, transaction helpers, SHA-256. */
#ifndef CT_MEMORY_INT_H
#define CT_MEMORY_INT_H

#include "ct/memory.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct ct_memory {
    sqlite3 *db;
    char *path;
};

/* Fill err with CT_EDB naming the database, what we were doing and SQLite's message. */
int ct__mem_fail(ct_memory *m, ct_error *err, const char *doing);
/* BEGIN IMMEDIATE (waits up to the busy timeout for other writers). */
int ct__mem_begin(ct_memory *m, ct_error *err);
int ct__mem_commit(ct_memory *m, ct_error *err);
void ct__mem_rollback(ct_memory *m);
/* Prepare or fail with err filled; returns NULL on failure. */
sqlite3_stmt *ct__mem_prepare(ct_memory *m, const char *sql, ct_error *err);
/* Bind text, or NULL when s is NULL. */
void ct__mem_bind_text(sqlite3_stmt *st, int i, const char *s);
long long ct__mem_now(void);
/* 1 when m is usable; otherwise fills err. */
int ct__mem_ok(ct_memory *m, ct_error *err);

typedef struct ct__sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t nbuf;
} ct__sha256;

void ct__sha256_init(ct__sha256 *s);
void ct__sha256_update(ct__sha256 *s, const void *data, size_t n);
void ct__sha256_hex(ct__sha256 *s, char out[65]);

#endif
