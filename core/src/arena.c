#include "arena.h"

#include "ct/buf.h"

#include <stdlib.h>
#include <string.h>

/* Small allocations share 64 KiB blocks; a large one (a 100 MB observation) gets a block of its
 * own so no space is wasted and the whole arena still frees in one walk. */
#define BLOCK_SIZE (64 * 1024)
#define BIG_ALLOC (BLOCK_SIZE / 4)

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} block;

struct ct_arena {
    block *head; /* current small-allocation block */
    block *big;  /* list of dedicated large blocks */
};

ct_arena *ct_arena_new(void)
{
    return ct_xcalloc(1, sizeof(ct_arena));
}

static void free_list(block *b)
{
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
}

void ct_arena_free(ct_arena *a)
{
    if (!a) return;
    free_list(a->head);
    free_list(a->big);
    free(a);
}

void *ct_arena_alloc(ct_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (n >= BIG_ALLOC) {
        block *b = ct_xcalloc(1, sizeof(block) + n);
        b->size = b->used = n;
        b->next = a->big;
        a->big = b;
        return b->data;
    }
    if (!a->head || a->head->size - a->head->used < n) {
        block *b = ct_xmalloc(sizeof(block) + BLOCK_SIZE);
        b->size = BLOCK_SIZE;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *ct_arena_strndup(ct_arena *a, const char *s, size_t n)
{
    char *p = ct_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
