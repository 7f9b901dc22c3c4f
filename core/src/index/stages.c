/* stages.c — the phases of a run. A dataset's own stage_ranges (metadata "stage_ranges") win;
 * otherwise each step gets a phase from what it does (look → locate, change → change, run/test →
 * verify) and consecutive steps of one phase form a stage; steps that do not say anything
 * (think, cd, unknown) join the phase around them, and a single look between two changes stays
 * in the change stage. The first looking stage of a run is "orient". */
#include "ct/index.h"

#include <stdlib.h>
#include <string.h>

typedef enum { PH_NONE, PH_LOCATE, PH_CHANGE, PH_VERIFY } phase;

static phase phase_of(ct_fine_kind k)
{
    switch (k) {
    case CT_FINE_EXPLORE:
        return PH_LOCATE;
    case CT_FINE_EDIT:
    case CT_FINE_CREATE:
    case CT_FINE_FS:
    case CT_FINE_INSTALL:
    case CT_FINE_VCS:
    case CT_FINE_BUILD:
        return PH_CHANGE;
    case CT_FINE_RUN:
    case CT_FINE_TEST:
    case CT_FINE_SUBMIT:
        return PH_VERIFY;
    default:
        return PH_NONE;
    }
}

static const char *phase_name(phase p, int first)
{
    switch (p) {
    case PH_CHANGE:
        return "change";
    case PH_VERIFY:
        return "verify";
    default:
        return first ? "orient" : "locate";
    }
}

/* Map a CodeTraceBench step number to our step_id (they differ for some formats). */
static int from_bench(const ct_trajectory *t, long long id, int use_bench)
{
    if (!use_bench) return (int)id;
    for (size_t i = 0; i < t->n_steps; i++)
        if (t->steps[i].bench_step_id == id) return t->steps[i].step_id;
    return -1;
}

static int from_metadata(const ct_trajectory *t, ct_stage **out, size_t *n)
{
    json_t *sr = json_object_get(t->metadata, "stage_ranges");
    if (!json_is_array(sr) || json_array_size(sr) == 0) return 0;
    int use_bench = 0;
    for (size_t i = 0; i < t->n_steps; i++)
        if (t->steps[i].bench_step_id != t->steps[i].step_id) use_bench = 1;
    size_t m = json_array_size(sr);
    ct_stage *st = ct_xcalloc(m, sizeof *st);
    size_t k = 0;
    int next = 1, nsteps = (int)t->n_steps;
    for (size_t i = 0; i < m; i++) {
        json_t *r = json_array_get(sr, i);
        json_t *a = json_object_get(r, "start_step_id"), *b = json_object_get(r, "end_step_id");
        if (!json_is_integer(a) || !json_is_integer(b)) goto invalid;
        int s = from_bench(t, json_integer_value(a), use_bench);
        int e = from_bench(t, json_integer_value(b), use_bench);
        if (s < 1 || e < s) goto invalid;
        if (s > nsteps) break; /* ranges past the end of what was loaded */
        if (e > nsteps) e = nsteps;
        if (s != next) s = next; /* close gaps/overlaps so stages stay contiguous */
        if (e < s) continue;
        json_t *name = json_object_get(r, "stage");
        st[k].stage_id = (int)k + 1;
        st[k].start_step_id = s;
        st[k].end_step_id = e;
        st[k].name = json_is_string(name) ? json_string_value(name) : NULL;
        k++;
        next = e + 1;
    }
    if (!k) goto invalid;
    st[k - 1].end_step_id = nsteps; /* trailing steps join the last stage */
    *out = st;
    *n = k;
    return 1;
invalid:
    free(st);
    return 0;
}

int ct_stages_segment(const ct_trajectory *t, ct_stage **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!t || !t->n_steps) return 0;
    if (from_metadata(t, out, n)) return 0;
    size_t ns = t->n_steps;
    phase *ph = ct_xcalloc(ns, sizeof *ph);
    for (size_t i = 0; i < ns; i++) {
        ct_fine_kind k;
        ct_classify_step(&t->steps[i], &k);
        ph[i] = phase_of(k);
    }
    /* silent steps take the phase before them (or after, at the start) */
    for (size_t i = 1; i < ns; i++)
        if (ph[i] == PH_NONE) ph[i] = ph[i - 1];
    for (size_t i = ns; i-- > 1;)
        if (ph[i - 1] == PH_NONE) ph[i - 1] = ph[i];
    for (size_t i = 0; i < ns; i++)
        if (ph[i] == PH_NONE) ph[i] = PH_LOCATE;
    /* a single look between two changes belongs to the change */
    for (size_t i = 1; i + 1 < ns; i++)
        if (ph[i] != PH_CHANGE && ph[i - 1] == PH_CHANGE && ph[i + 1] == PH_CHANGE)
            ph[i] = PH_CHANGE;
    ct_stage *st = ct_xcalloc(ns, sizeof *st);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        if (i == 0 || ph[i] != ph[i - 1]) {
            st[k].stage_id = (int)k + 1;
            st[k].start_step_id = t->steps[i].step_id;
            st[k].name = phase_name(ph[i], k == 0);
            k++;
        }
        st[k - 1].end_step_id = t->steps[i].step_id;
    }
    free(ph);
    *out = st;
    *n = k;
    return 0;
}
