/* arena.h — bump allocator behind ct_trajectory (internal).
 * Everything allocated from an arena is freed at once by ct_arena_free. */
#ifndef CT_ARENA_H
#define CT_ARENA_H

#include <stddef.h>

typedef struct ct_arena ct_arena;

ct_arena *ct_arena_new(void);
void ct_arena_free(ct_arena *a);
void *ct_arena_alloc(ct_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *ct_arena_strndup(ct_arena *a, const char *s, size_t n);

#endif
