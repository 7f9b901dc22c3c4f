/* Unit tests for the core building blocks: buffers, UTF-8 repair, the trajectory arena, JSON
 * spans, line index, the fs view (disk, single file, memory) and LFS detection. */
#include "check.h"
#include "ct/buf.h"
#include "ct/fs.h"
#include "ct/jspan.h"
#include "ct/load.h"
#include "ct/trajectory.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_buf(void)
{
    ct_buf b = CT_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ct_buf_printf(&b, "%d,", i);
    CHECK(ct_str_starts(b.data, "0,1,2,"));
    CHECK(ct_str_ends(b.data, "998,999,"));
    CHECK_INT(b.len, strlen(b.data));
    char *s = ct_buf_steal(&b);
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    CHECK(ct_memstr("abcdef", 6, "cde") != NULL);
    CHECK(ct_memstr("abcdef", 4, "cde") == NULL);
}

static void test_utf8(void)
{
    CHECK(ct_utf8_valid("h\xc3\xa9llo", 6));
    CHECK(!ct_utf8_valid("a\xff"
                         "b",
                         3));
    CHECK(!ct_utf8_valid("a\0b", 3));         /* NUL is not allowed in model strings */
    CHECK(!ct_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!ct_utf8_valid("\xc0\xaf", 2));     /* overlong */
    /* the word-at-a-time ASCII path: a bad byte or NUL at every position of a long string */
    char longs[40];
    for (int pos = 0; pos < 33; pos++) {
        memset(longs, 'x', 33);
        longs[pos] = '\0';
        CHECK(!ct_utf8_valid(longs, 33));
        longs[pos] = (char)0xff;
        CHECK(!ct_utf8_valid(longs, 33));
        memcpy(longs + pos, "\xc3\xa9", 2);
        CHECK(pos == 32 || ct_utf8_valid(longs, 33)); /* é split at the end is invalid */
    }
    memset(longs, 'y', 32);
    CHECK(ct_utf8_valid(longs, 32));
    char *r = ct_utf8_sanitize("a\xff"
                               "b\0c",
                               5);
    CHECK_STR(r, "a\xEF\xBF\xBD"
                 "b\xEF\xBF\xBD"
                 "c");
    free(r);
}

static void test_traj(void)
{
    ct_trajectory *t = ct_traj_new("test", "/x/y.json");
    for (int i = 0; i < 100; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->action = ct_traj_printf(t, "echo %d", i);
    }
    CHECK_INT(t->n_steps, 100);
    CHECK_INT(t->steps[99].step_id, 100);
    CHECK_INT(t->steps[99].bench_step_id, 100);
    CHECK_STR(t->steps[42].action, "echo 42");
    CHECK(ct_traj_step(t, 0) == NULL && ct_traj_step(t, 101) == NULL);
    /* strings with NUL or broken bytes are repaired on the way in */
    const char *s = ct_traj_strndup(t, "a\0b", 3);
    CHECK_STR(s, "a\xEF\xBF\xBD"
                 "b");
    ct_file_touch *f = ct_step_add_file(t, &t->steps[0]);
    f->path = "a.py";
    f = ct_step_add_file(t, &t->steps[0]);
    f->path = "b.py";
    CHECK_INT(t->steps[0].n_files, 2);
    CHECK_STR(t->steps[0].files[0].path, "a.py");
    /* a big string goes to its own block */
    char *big = malloc(1 << 20);
    memset(big, 'x', (1 << 20) - 1);
    big[(1 << 20) - 1] = 0;
    const char *bs = ct_traj_strdup(t, big);
    CHECK_INT(strlen(bs), (1 << 20) - 1);
    free(big);
    ct_traj_warn(t, "killed after step %d", 3);
    CHECK_STR(t->warnings[0], "killed after step 3");
    json_t *j = ct_traj_to_json(t, 1);
    CHECK_INT(json_array_size(json_object_get(j, "steps")), 100);
    CHECK(json_is_null(json_object_get(json_object_get(j, "outcome"), "solved")));
    json_decref(j);
    ct_traj_free(t);
}

static void test_jspan(void)
{
    const char *doc =
        "{\"a\": [1, {\"b\": \"x\\\"]}\"}, [2, 3]],\n \"trajectory\" : [ {\"k\":1} ,\n{\"k\":2}] }";
    size_t n = strlen(doc);
    CHECK_INT(ct_json_value_end(doc, n, 0), n);
    const char *p1[] = {"a", "#1", "b"};
    ct_span sp;
    CHECK(ct_json_find(doc, n, 0, p1, 3, &sp) == 0);
    CHECK_INT(sp.end - sp.start, 7); /* the string token, quotes included */
    CHECK(strncmp(doc + sp.start, "\"x\\\"]}\"", 7) == 0);
    const char *p2[] = {"trajectory"};
    CHECK(ct_json_find(doc, n, 0, p2, 1, &sp) == 0);
    ct_span *el;
    long ne = ct_json_array_spans(doc, n, sp.start, &el);
    CHECK_INT(ne, 2);
    if (ne == 2) {
        CHECK(strncmp(doc + el[0].start, "{\"k\":1}", 7) == 0 && el[0].end - el[0].start == 7);
        CHECK(strncmp(doc + el[1].start, "{\"k\":2}", 7) == 0);
        ct_lines li;
        ct_lines_build(&li, doc, n);
        CHECK_INT(ct_lines_of(&li, el[0].start), 2);
        CHECK_INT(ct_lines_of(&li, el[1].start), 3);
        CHECK_INT(ct_lines_of(&li, 0), 1);
        ct_lines_free(&li);
    }
    free(el);
    const char *p3[] = {"missing"};
    CHECK(ct_json_find(doc, n, 0, p3, 1, &sp) == -1);
    /* truncated input fails instead of running off the end */
    CHECK(ct_json_value_end(doc, n - 3, 0) == (size_t)-1);
    CHECK(ct_json_array_spans("[1, 2", 5, 0, &el) == -1);
    CHECK(ct_json_array_spans("[]", 2, 0, &el) == 0);
    free(el);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void test_fs(void)
{
    char dir[] = "/tmp/ct_test_fs_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *sub = ct_xasprintf("%s/sub", dir);
    mkdir(sub, 0755);
    char *f2 = ct_xasprintf("%s/sub/10.json", dir), *f1 = ct_xasprintf("%s/sub/2.json", dir);
    write_file(f2, "{}");
    write_file(f1, "[1]");
    ct_error err;
    ct_fs *fs = ct_fs_open(dir, &err);
    CHECK(fs != NULL);
    if (fs) {
        ct_dirent *e;
        size_t n;
        CHECK(ct_fs_list(fs, "sub", &e, &n, &err) == CT_OK);
        CHECK_INT(n, 2);
        if (n == 2) {
            CHECK_STR(e[0].name, "2.json"); /* natural order */
            CHECK_STR(e[1].name, "10.json");
        }
        ct_fs_list_free(e, n);
        ct_buf b = CT_BUF_INIT;
        CHECK(ct_fs_read(fs, "sub/2.json", &b, 0, &err) == CT_OK);
        CHECK_STR(b.data, "[1]");
        CHECK(ct_fs_read(fs, "sub/2.json", &b, 2, &err) == CT_ELIMIT);
        CHECK(ct_fs_read(fs, "nope", &b, 0, &err) == CT_ENOTFOUND);
        ct_buf_free(&b);
        CHECK(ct_fs_is_dir(fs, "sub") && ct_fs_is_file(fs, "sub/10.json"));
        ct_fs_close(fs);
    }
    /* single file: root lists only that file */
    fs = ct_fs_open(f1, &err);
    CHECK(fs != NULL);
    if (fs) {
        CHECK_STR(ct_fs_start(fs), "2.json");
        ct_dirent *e;
        size_t n;
        CHECK(ct_fs_list(fs, "", &e, &n, &err) == CT_OK);
        CHECK_INT(n, 1);
        ct_fs_list_free(e, n);
        ct_fs_close(fs);
    }
    /* memory: the buffer wins over the disk contents */
    fs = ct_fs_open_memory(f1, "[9, 9]", 6, &err);
    if (fs) {
        ct_buf b = CT_BUF_INIT;
        CHECK(ct_fs_read(fs, "2.json", &b, 0, &err) == CT_OK);
        CHECK_STR(b.data, "[9, 9]");
        CHECK(ct_fs_read(fs, "10.json", &b, 0, &err) == CT_OK); /* sibling from disk */
        CHECK_STR(b.data, "{}");
        ct_buf_free(&b);
        ct_fs_close(fs);
    }
    CHECK(ct_fs_open("/nonexistent/ct/path", &err) == NULL && err.code == CT_ENOTFOUND);
    remove(f1);
    remove(f2);
    rmdir(sub);
    rmdir(dir);
    free(f1);
    free(f2);
    free(sub);
}

static void test_lfs(void)
{
    const char *p = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n";
    CHECK(ct_is_lfs_pointer(p, strlen(p)));
    CHECK(!ct_is_lfs_pointer("{\"a\":1}", 7));
    CHECK_INT(ct_natcmp("episode-2", "episode-10"), -1);
    CHECK_INT(ct_natcmp("a", "a"), 0);
}

int main(void)
{
    test_buf();
    test_utf8();
    test_traj();
    test_jspan();
    test_fs();
    test_lfs();
    return check_report();
}
