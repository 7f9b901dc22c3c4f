/* libFuzzer target for one loader (FUZZ_LOADER, a loader name) fed through a file named
 * FUZZ_FILE: the bytes go (1) straight to that loader's detect and load through a memory-backed
 * fs, (2) through the front door, ct_load_buffer, which runs discovery over every loader, and
 * (3) for loaders that read directories, as FUZZ_LAYOUT inside a trial dir on disk.
 * Nothing may crash, leak, hang or touch memory it does not own, whatever the bytes. */
#include "ct/load.h"

#include <stdint.h>
#include <stdio.h>
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

#ifdef FUZZ_LAYOUT
/* Loaders that read a directory (a trial with agent-logs/episode-0/response.txt, ...) only parse
 * when given that directory: the bytes are also written to FUZZ_LAYOUT inside a private
 * temporary trial dir (on /dev/shm when there is one), and the dir is loaded from disk. */
#include <sys/stat.h>
#include <unistd.h>

static char trial_dir[256];
static char trial_file[512];

static void remove_trial(void)
{
    if (!trial_dir[0]) return;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", trial_dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", trial_dir);
}

static int make_trial(void)
{
    if (trial_dir[0]) return 0;
    struct stat st;
    snprintf(trial_dir, sizeof trial_dir, "%s/ct-fuzz-XXXXXX",
             stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(trial_dir)) {
        trial_dir[0] = '\0';
        return -1;
    }
    atexit(remove_trial);
    /* the harness files of a terminal-bench trial, so trial-level detection applies */
    static const char *const files[][2] = {
        {"results.json",
         "{\"task_id\": \"fuzz\", \"instruction\": \"fuzz\", \"is_resolved\": false}\n"},
        {"commands.txt", "['asciinema rec --stdin /logs/agent.cast', 'Enter']\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i][0], FUZZ_LAYOUT) == 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", trial_dir, files[i][0]);
        FILE *f = fopen(p, "w");
        if (f) {
            fputs(files[i][1], f);
            fclose(f);
        }
    }
    snprintf(trial_file, sizeof trial_file, "%s/%s", trial_dir, FUZZ_LAYOUT);
    for (char *p = trial_file + strlen(trial_dir) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(trial_file, 0700);
        *p = '/';
    }
    return 0;
}

static void fuzz_dir(const ct_loader *l, const uint8_t *data, size_t size)
{
    if (make_trial() != 0) return;
    FILE *f = fopen(trial_file, "wb");
    if (!f) return;
    size_t put = fwrite(data, 1, size, f);
    fclose(f);
    if (put != size) return;
    ct_error err;
    ct_error_clear(&err);
    ct_fs *fs = ct_fs_open(trial_dir, &err);
    if (fs) {
        (void)l->detect(fs, "", 1);
        ct_traj_list out = {0};
        (void)l->load(fs, "", 1, &out, &err);
        for (size_t i = 0; i < out.n; i++)
            check_traj(out.items[i]);
        ct_traj_list_free(&out);
        ct_fs_close(fs);
    }
    ct_traj_list out = {0};
    ct_error_clear(&err);
    (void)ct_load_path(trial_dir, NULL, &out, NULL, NULL, &err);
    for (size_t i = 0; i < out.n; i++)
        check_traj(out.items[i]);
    ct_traj_list_free(&out);
}
#endif

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
#ifdef FUZZ_LAYOUT
    fuzz_dir(l, data, size);
#endif
    return 0;
}
