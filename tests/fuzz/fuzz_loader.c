/* libFuzzer target for one loader (FUZZ_LOADER, a loader name) fed through a file named
 * FUZZ_FILE: the bytes go (1) straight to that loader's detect and load through a memory-backed
 * fs, and (2) through the front door, ct_load_buffer, which runs discovery over every loader.
 * Nothing may crash, leak, hang or touch memory it does not own, whatever the bytes. */
#include "ct/load.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_LOADER
#error "FUZZ_LOADER must name a loader"
#endif
#ifndef FUZZ_FILE
#error "FUZZ_FILE must name the file the bytes are presented as"
#endif

/* A path below a directory that does not exist, so loaders that look at siblings find none and
 * the run never depends on what is on disk. */
#define FUZZ_DIR "/nonexistent-codetracer-fuzz/trial/"

static void check_traj(const ct_trajectory *t)
{
    /* The model's invariants: contiguous 1-based ids, never a NULL action. */
    for (size_t i = 0; i < t->n_steps; i++) {
        if (t->steps[i].step_id != (int)i + 1 || !t->steps[i].action) abort();
    }
    json_t *j = ct_traj_to_json(t, 1);
    char *s = json_dumps(j, JSON_COMPACT);
    free(s);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ct_loader *l = ct_loader_by_name(FUZZ_LOADER);
    if (!l) abort();
    const char *path = FUZZ_DIR FUZZ_FILE;

    ct_error err;
    ct_error_clear(&err);
    ct_fs *fs = ct_fs_open_memory(path, (const char *)data, size, &err);
    if (fs) {
        const char *start = ct_fs_start(fs);
        (void)l->detect(fs, start, 0);
        ct_traj_list out = {0};
        (void)l->load(fs, start, 0, &out, &err);
        for (size_t i = 0; i < out.n; i++)
            check_traj(out.items[i]);
        ct_traj_list_free(&out);
        ct_fs_close(fs);
    }

    ct_traj_list out = {0};
    ct_error_clear(&err);
    (void)ct_load_buffer(path, (const char *)data, size, NULL, &out, &err);
    for (size_t i = 0; i < out.n; i++)
        check_traj(out.items[i]);
    ct_traj_list_free(&out);
    return 0;
}
