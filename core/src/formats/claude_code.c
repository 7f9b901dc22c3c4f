/* Placeholder: replaced by the real loader. Detects nothing. */
#include "common.h"

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    (void)fs, (void)rel, (void)is_dir;
    return CT_DETECT_NO;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    (void)is_dir, (void)out;
    return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0, "loader not implemented");
}

const ct_loader ct_loader_claude_code = {
    .name = "claude-code",
    .agent = "Claude Code",
    .summary = "(not implemented yet)",
    .detection = "(not implemented yet)",
    .detect = detect,
    .load = load,
};
