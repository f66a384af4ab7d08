/* Data-derived output names (safe_name.h). */
#include "safe_name.h"

#include "alloc.h"

#include <stdio.h>
#include <string.h>

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

const char *facet_unsafe_name_reason(const char *name, facet_name_kind kind) {
    if (!name || !name[0]) return "is empty";
    if (name[0] == '/') return "is absolute";
    size_t total = 0, component = 0;
    const char *start = name;
    for (const char *p = name;; p++) {
        const unsigned char c = (unsigned char)*p;
        if (c == '/' || c == '\0') {
            if (component == 0) return "has an empty component";
            if (component == 1 && start[0] == '.') return "has a '.' component";
            if (component == 2 && start[0] == '.' && start[1] == '.') return "has a '..' component";
            if (c == '\0') break;
            if (kind == FACET_NAME_FILE) return "has a '/' (a file name was expected)";
            component = 0;
            start = p + 1;
        } else {
            if (c < 0x20 || c == 0x7f) return "has a control character";
            if (c == '\\') return "has a backslash";
            if (++component > FACET_SAFE_COMPONENT_MAX)
                return "has a component longer than " STRINGIFY(FACET_SAFE_COMPONENT_MAX) " bytes";
        }
        if (++total > FACET_SAFE_NAME_MAX)
            return "is longer than " STRINGIFY(FACET_SAFE_NAME_MAX) " bytes";
    }
    return NULL;
}

char *facet_quote_name(const char *name, char *buf, size_t size) {
    if (size < 8) { /* too small to say anything useful */
        if (size) buf[0] = '\0';
        return buf;
    }
    size_t n = 0;
    const char *p = name ? name : "";
    for (; *p && n + 8 <= size; p++) { /* room for one \xHH, then "..." and NUL */
        const unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
    }
    if (*p) { /* cut: the loop left at least 4 bytes for "..." and the NUL */
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

facet_status facet_check_safe_name(const char *name, facet_name_kind kind, const char *what) {
    const char *reason = facet_unsafe_name_reason(name, kind);
    if (!reason) return FACET_OK;
    char quoted[96];
    return facet_fail(FACET_ERR_FORMAT, "%s: unsafe name '%s': %s", what,
                      facet_quote_name(name, quoted, sizeof quoted), reason);
}

facet_status facet_output_path_for(const char *out_dir, const char *name, const char *suffix,
                                   facet_name_kind kind, const char *what, char **path) {
    *path = NULL;
    facet_status s = facet_check_safe_name(name, kind, what);
    if (s != FACET_OK) return s;
    const size_t n = strlen(out_dir);
    *path = facet_format("%s%s%s%s", out_dir, n && out_dir[n - 1] != '/' ? "/" : "", name, suffix);
    return *path ? FACET_OK : facet_last_status();
}
