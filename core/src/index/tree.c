/* tree.c — tree.md in the reference format (original-behaviour.md §4.2–4.3): a change step is a
 * child of the step before it, an explore step a sibling of the step before it. Because of that
 * rule the pre-order of the tree is the step order, so it renders in one pass without recursion. */
#include "ct/index.h"

#include <stdlib.h>
#include <string.h>

#define TREE_MAX_INDENT 1024 /* deeper levels are drawn at this depth (a pathological chain) */

void ct_tree_render(const ct_trajectory *t, ct_buf *out)
{
    ct_buf_puts(out, "root\n");
    size_t n = t ? t->n_steps : 0;
    if (!n) return;
    /* parent[i]: index of the parent step + 1 (0 = root); depth[i] >= 1 */
    size_t *parent = ct_xcalloc(n, sizeof *parent);
    size_t *depth = ct_xcalloc(n, sizeof *depth);
    size_t *last = ct_xcalloc(n + 1, sizeof *last); /* last child (index + 1) of node+1 */
    unsigned char *cls = ct_xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        cls[i] = (unsigned char)ct_classify_step(&t->steps[i], NULL);
        if (i == 0)
            parent[i] = 0;
        else if (cls[i] == CT_CLASS_CHANGE)
            parent[i] = i; /* step i-1, stored +1 */
        else
            parent[i] = parent[i - 1];
        depth[i] = parent[i] ? depth[parent[i] - 1] + 1 : 1;
        last[parent[i]] = i + 1;
    }
    /* more[d]: the ancestor at depth d has siblings after it (draw "│   ") */
    size_t cap = 64;
    unsigned char *more = ct_xcalloc(cap, 1);
    char label[256];
    for (size_t i = 0; i < n; i++) {
        size_t d = depth[i];
        size_t shown = d > TREE_MAX_INDENT ? TREE_MAX_INDENT : d;
        if (shown + 1 > cap) {
            size_t ncap = cap;
            while (ncap < shown + 1)
                ncap *= 2;
            more = ct_xrealloc(more, ncap);
            memset(more + cap, 0, ncap - cap);
            cap = ncap;
        }
        int is_last = last[parent[i]] == i + 1;
        more[shown] = (unsigned char)!is_last;
        for (size_t k = 1; k < shown; k++)
            ct_buf_puts(out, more[k] ? "│   " : "    ");
        ct_buf_puts(out, is_last ? "└── " : "├── ");
        ct_step_summary(&t->steps[i], label, sizeof label);
        ct_buf_printf(out, "[%d] %s (%s)\n", t->steps[i].step_id, label,
                      ct_step_class_name((ct_step_class)cls[i]));
    }
    free(more);
    free(cls);
    free(last);
    free(depth);
    free(parent);
}
