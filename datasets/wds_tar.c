/* WebDataset sample reader over libarchive (wds_tar.h). */
#include "wds_tar.h"

#include "core/alloc.h"
#include "core/safe_name.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Image suffixes, most preferred first. */
static const char *const IMAGE_SUFFIXES[] = {"jpg", "jpeg", "png", "webp"};
enum { IMAGE_KINDS = 4, BLOCK_BYTES = 1 << 16 };

struct facet_wds_reader {
    struct archive *archive;
    char *name;  /* for messages */
    int started; /* a header was read */
    int ended;   /* end of the tar, or a read error: nothing more is read */
    /* the member whose header was read last but whose sample has not started yet */
    int pending;
    char *pending_key, *pending_suffix;
    int64_t pending_size;
};

static facet_status reader_new(facet_wds_reader **out, const char *name) {
    *out = NULL;
    facet_wds_reader *r = facet_alloc_zeroed(1, sizeof *r);
    if (!r) return facet_last_status();
    r->name = facet_strdup(name);
    r->archive = archive_read_new();
    if (!r->name || !r->archive) {
        facet_wds_close(r);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory opening '%s'", name);
    }
    /* tar formats only (ustar, pax, GNU); plain or gzip, decompressed in process by zlib */
    archive_read_support_format_tar(r->archive);
    archive_read_support_filter_gzip(r->archive);
    *out = r;
    return FACET_OK;
}

facet_status facet_wds_open_file(facet_wds_reader **reader, const char *path) {
    facet_status status = reader_new(reader, path);
    if (status != FACET_OK) return status;
    if (archive_read_open_filename((*reader)->archive, path, BLOCK_BYTES) != ARCHIVE_OK) {
        status = facet_fail(FACET_ERR_IO, "cannot open tar '%s': %s", path,
                            archive_error_string((*reader)->archive));
        facet_wds_close(*reader);
        *reader = NULL;
    }
    return status;
}

facet_status facet_wds_open_memory(facet_wds_reader **reader, const void *data, size_t size,
                                   const char *name) {
    facet_status status = reader_new(reader, name);
    if (status != FACET_OK) return status;
    if (archive_read_open_memory((*reader)->archive, data, size) != ARCHIVE_OK) {
        status = facet_fail(FACET_ERR_FORMAT, "cannot open tar '%s': %s", name,
                            archive_error_string((*reader)->archive));
        facet_wds_close(*reader);
        *reader = NULL;
    }
    return status;
}

void facet_wds_close(facet_wds_reader *r) {
    if (!r) return;
    if (r->archive) archive_read_free(r->archive);
    free(r->name);
    free(r->pending_key);
    free(r->pending_suffix);
    free(r);
}

void facet_wds_sample_free(facet_wds_sample *s) {
    free(s->key);
    free(s->image);
    free(s->error);
    memset(s, 0, sizeof *s);
    s->class_id = -1;
}

/* ---- member names ------------------------------------------------------------------------------
 */

/* WebDataset's metadata members: the first component starts and ends with "__" (the regex
 * "__[^/]*__($|/)", and a top-level "__x__" file). */
static int is_meta(const char *name) {
    const size_t first = strcspn(name, "/");
    if (first < 2 || strncmp(name, "__", 2) || strncmp(name + first - 2, "__", 2)) return 0;
    return first >= 4 || name[first] == '\0';
}

/* WebDataset's base_plus_ext, the regex ^((?:.* / |)[^.]+)[.]([^/]*)$ (without the spaces):
 * the key ends at the first
 * '.' of the basename; a basename starting with '.' keys on its folder ("d/" + ".x.jpg") when
 * the folder's last component has no '.'. Returns the key length (the suffix starts one byte
 * later), or -1 when the regex does not match. */
static long split_key(const char *name) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strchr(base, '.');
    if (!dot) return -1;
    if (dot > base) return (long)(dot - name);
    if (!slash) return -1;
    const char *prev = slash; /* the folder's last component is (prev, slash) */
    while (prev > name && prev[-1] != '/') prev--;
    if (memchr(prev, '.', (size_t)(slash - prev))) return -1;
    return (long)(base - name);
}

/* ---- reading -----------------------------------------------------------------------------------
 */

/* Records why the sample cannot be used; the first reason stays. */
static void set_error(facet_wds_sample *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(facet_wds_sample *s, const char *format, ...) {
    if (s->error) return;
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    s->error = facet_strdup(text);
}

/* A read error: the tar ends here, and the sample being read (if any) says why. */
static void damaged(facet_wds_reader *r, facet_wds_sample *s) {
    r->ended = 1;
    char text[512];
    snprintf(text, sizeof text, "%s", archive_error_string(r->archive));
    set_error(s, "tar '%s' is truncated or damaged here (%s); its later members are not read",
              r->name, text);
}

static int64_t member_size(struct archive_entry *entry) {
    return archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
}

/* Reads the current member's data (size bytes, at most `cap`) into an allocation that grows with
 * the data actually read, so a header that declares more than the tar holds allocates little. 0
 * on success; -1 when the tar is damaged (damaged() was called); 1 when the member is over the
 * cap (not read) or memory ran out (the reason is set). */
static int read_data(facet_wds_reader *r, facet_wds_sample *s, int64_t size, int64_t cap,
                     unsigned char **out) {
    *out = NULL;
    if (size > cap) return 1;
    size_t capacity = size < (1 << 20) ? (size_t)size + 1 : (size_t)1 << 20;
    unsigned char *buf = facet_alloc(capacity, 1);
    int64_t got = 0;
    while (buf && got < size) {
        if ((size_t)got + 1 == capacity) {
            const size_t grown = 2 * capacity > (size_t)size + 1 ? (size_t)size + 1 : 2 * capacity;
            unsigned char *bigger = facet_realloc(buf, grown, 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            capacity = grown;
        }
        la_ssize_t n = archive_read_data(r->archive, buf + got, capacity - 1 - (size_t)got);
        if (n <= 0) {
            free(buf);
            if (n == 0) archive_set_error(r->archive, 0, "member data ends early");
            damaged(r, s);
            return -1;
        }
        got += n;
    }
    if (!buf) {
        set_error(s, "out of memory reading a member of '%s'", r->name);
        return 1;
    }
    buf[size] = '\0';
    *out = buf;
    return 0;
}

/* Python's int() on the .cls text, restricted to [0, 2^31). */
static int parse_class(const unsigned char *text, size_t n, int64_t *value) {
    size_t i = 0;
    while (i < n && isspace(text[i])) i++;
    if (i < n && text[i] == '+') i++;
    const size_t digits = i;
    int64_t v = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
        v = v * 10 + (text[i++] - '0');
        if (v > 2147483647) return 0;
    }
    if (i == digits) return 0;
    while (i < n && isspace(text[i])) i++;
    if (i != n) return 0;
    *value = v;
    return 1;
}

typedef struct sample_state {
    char *raw_key;   /* the key as in the tar, for grouping */
    char **suffixes; /* [members] seen */
    int best;        /* index into IMAGE_SUFFIXES of the image, or -1 */
} sample_state;

/* Adds the current member (its key matched) to the sample; takes `suffix`. 0 to go on, -1 when
 * the tar ended (damaged). */
static int add_member(facet_wds_reader *r, facet_wds_sample *s, sample_state *st, char *suffix,
                      int64_t size, int want_data) {
    char quoted[96];
    int duplicate = 0;
    for (int m = 0; m < s->members && m < FACET_WDS_MEMBERS_MAX; m++)
        if (!strcmp(st->suffixes[m], suffix)) duplicate = 1;
    if (duplicate)
        set_error(s, "suffix '%s' appears twice in sample '%s'",
                  facet_quote_name(suffix, quoted, sizeof quoted), s->key);
    if (s->members == FACET_WDS_MEMBERS_MAX)
        set_error(s, "sample '%s' has more than %d members", s->key, FACET_WDS_MEMBERS_MAX);
    int kind = -1;
    for (int k = 0; k < IMAGE_KINDS; k++)
        if (!strcmp(suffix, IMAGE_SUFFIXES[k])) kind = k;
    int result = 0;
    if (kind >= 0 && !duplicate && (st->best < 0 || kind < st->best)) {
        st->best = kind;
        snprintf(s->image_suffix, sizeof s->image_suffix, "%s", IMAGE_SUFFIXES[kind]);
        s->image_bytes = size;
        free(s->image);
        s->image = NULL;
        /* over the cap: not read, and the reason is set once the sample is complete */
        if (want_data && read_data(r, s, size, FACET_WDS_IMAGE_MAX, &s->image) < 0) result = -1;
    } else if (!strcmp(suffix, "cls") && !duplicate && want_data) {
        unsigned char *text = NULL;
        result = read_data(r, s, size, FACET_WDS_CLASS_MAX, &text);
        if (result == 1) {
            set_error(s, "sample '%s': its .cls member is over %d bytes", s->key,
                      FACET_WDS_CLASS_MAX);
            result = 0;
        } else if (result == 0 && !parse_class(text, (size_t)size, &s->class_id)) {
            set_error(s, "sample '%s': its .cls member is not an integer in [0, 2^31)", s->key);
        }
        free(text);
    }
    if (s->members < FACET_WDS_MEMBERS_MAX)
        st->suffixes[s->members] = suffix;
    else
        free(suffix);
    s->members++;
    if (result < 0) return -1;
    if (archive_read_data_skip(r->archive) != ARCHIVE_OK) {
        damaged(r, s);
        return -1;
    }
    return 0;
}

/* Starts the sample on the pending member's key. */
static facet_status start_sample(facet_wds_reader *r, facet_wds_sample *s, sample_state *st) {
    st->raw_key = r->pending_key;
    r->pending_key = NULL;
    const char *reason = facet_unsafe_name_reason(st->raw_key, FACET_NAME_RELATIVE);
    if (reason) {
        char quoted[256];
        s->key = facet_strdup(facet_quote_name(st->raw_key, quoted, sizeof quoted));
        if (s->key) set_error(s, "member name '%s' is not a safe name: %s", s->key, reason);
    } else {
        s->key = facet_strdup(st->raw_key);
    }
    st->suffixes = facet_alloc_zeroed(FACET_WDS_MEMBERS_MAX, sizeof *st->suffixes);
    if (!s->key || !st->suffixes) return facet_last_status();
    return FACET_OK;
}

/* Reads headers until a member that belongs to a sample: 1 with it pending, 0 at the end (or on
 * damage, with the reason set on `s` when one is being read), -1 when the first header fails. */
static int next_member(facet_wds_reader *r, facet_wds_sample *s) {
    for (;;) {
        struct archive_entry *entry;
        const int rc = archive_read_next_header(r->archive, &entry);
        if (rc == ARCHIVE_EOF) {
            r->ended = 1;
            return 0;
        }
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            if (!r->started) return -1;
            damaged(r, s);
            return 0;
        }
        r->started = 1;
        const char *name = archive_entry_pathname(entry);
        long key_length = -1;
        if (name && archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
            !is_meta(name))
            key_length = split_key(name);
        if (key_length < 0) {
            if (archive_read_data_skip(r->archive) != ARCHIVE_OK) {
                damaged(r, s);
                return 0;
            }
            continue;
        }
        r->pending_key = facet_format("%.*s", (int)key_length, name);
        r->pending_suffix = facet_strdup(name + key_length + 1);
        if (!r->pending_key || !r->pending_suffix) {
            free(r->pending_key);
            free(r->pending_suffix);
            r->pending_key = r->pending_suffix = NULL;
            set_error(s, "out of memory reading '%s'", r->name);
            r->ended = 1;
            return 0;
        }
        for (char *c = r->pending_suffix; *c; c++) *c = (char)tolower((unsigned char)*c);
        r->pending_size = member_size(entry);
        r->pending = 1;
        return 1;
    }
}

facet_status facet_wds_next(facet_wds_reader *r, int want_data, facet_wds_sample *s, int *got) {
    memset(s, 0, sizeof *s);
    s->class_id = -1;
    *got = 0;
    sample_state st = {NULL, NULL, -1};
    facet_status status = FACET_OK;
    if (!r->pending && !r->ended) {
        const int found = next_member(r, s);
        if (found < 0) {
            return facet_fail(FACET_ERR_FORMAT, "cannot read tar '%s': %s", r->name,
                              archive_error_string(r->archive));
        }
        if (found == 0) { /* end, or damage before any sample */
            if (s->error) {
                s->key = facet_strdup("");
                *got = s->key != NULL;
                if (!s->key) status = facet_last_status();
            }
            return status;
        }
    }
    if (!r->pending) return FACET_OK;
    status = start_sample(r, s, &st);
    while (status == FACET_OK && r->pending) {
        if (strcmp(r->pending_key ? r->pending_key : st.raw_key, st.raw_key)) break;
        free(r->pending_key);
        r->pending_key = NULL;
        r->pending = 0;
        char *suffix = r->pending_suffix;
        r->pending_suffix = NULL;
        if (add_member(r, s, &st, suffix, r->pending_size, want_data) < 0) break;
        if (next_member(r, s) <= 0) break;
    }
    if (status == FACET_OK && !s->image_suffix[0])
        set_error(s, "sample '%s' has no image member (jpg, jpeg, png or webp)", s->key);
    if (status == FACET_OK && s->image_suffix[0] && s->image_bytes > FACET_WDS_IMAGE_MAX) {
        set_error(s, "sample '%s': its image member '%s' is %lld bytes, over the cap of %d bytes",
                  s->key, s->image_suffix, (long long)s->image_bytes, FACET_WDS_IMAGE_MAX);
    }
    for (int m = 0; st.suffixes && m < s->members && m < FACET_WDS_MEMBERS_MAX; m++)
        free(st.suffixes[m]);
    free(st.suffixes);
    free(st.raw_key);
    if (status != FACET_OK) {
        facet_wds_sample_free(s);
        return status;
    }
    if (s->error) { /* a sample that cannot be used holds no data */
        free(s->image);
        s->image = NULL;
        s->class_id = -1;
    }
    *got = 1;
    return FACET_OK;
}
