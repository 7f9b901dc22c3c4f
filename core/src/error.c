#include "ct/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ct_error_clear(ct_error *err)
{
    if (!err) return;
    err->code = CT_OK;
    err->offset = -1;
    err->line = 0;
    err->path[0] = '\0';
    err->msg[0] = '\0';
}

static int vset(ct_error *err, int code, const char *path, long long offset, int line,
                const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    err->offset = offset;
    err->line = line;
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

int ct_error_set(ct_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, NULL, -1, 0, fmt, ap);
    va_end(ap);
    return code;
}

int ct_error_setf(ct_error *err, int code, const char *path, long long offset, int line,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, path, offset, line, fmt, ap);
    va_end(ap);
    return code;
}

static const struct {
    int code;
    const char *name;
    const char *text;
} table[] = {
    {CT_OK, "ok", "success"},
    {CT_EIO, "io", "input/output error"},
    {CT_EPARSE, "parse", "invalid or truncated data"},
    {CT_EFORMAT, "format", "not a trajectory I recognise"},
    {CT_ELFS, "lfs", "Git LFS pointer file, the data is not here"},
    {CT_ELIMIT, "limit", "a size or count limit was exceeded"},
    {CT_ENOMEM, "nomem", "out of memory"},
    {CT_EINVAL, "invalid", "invalid argument"},
    {CT_EEMPTY, "empty", "no steps could be recovered"},
    {CT_ENOTFOUND, "notfound", "not found"},
    {CT_ESCHEMA, "schema", "output failed schema validation"},
    {CT_ETIMEOUT, "timeout", "time limit reached"},
    {CT_ECANCELED, "canceled", "cancelled"},
    {CT_ENET, "net", "network or HTTP failure"},
    {CT_EDB, "db", "database failure"},
};

const char *ct_err_name(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code) return table[i].name;
    return "unknown";
}

const char *ct_strerror(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code) return table[i].text;
    return "unknown error";
}

const char *ct_error_format(const ct_error *err, char *buf, size_t size)
{
    if (!err || err->code == CT_OK) {
        snprintf(buf, size, "no error");
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    if (err->path[0]) {
        used += (size_t)snprintf(buf, size, "%s", err->path);
        if (err->line > 0 && used < size)
            used += (size_t)snprintf(buf + used, size - used, ":%d", err->line);
        if (err->offset >= 0 && used < size)
            used += (size_t)snprintf(buf + used, size - used, " (byte %lld)", err->offset);
        if (used < size) used += (size_t)snprintf(buf + used, size - used, ": ");
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s", err->msg[0] ? err->msg : ct_strerror(err->code));
    return buf;
}
