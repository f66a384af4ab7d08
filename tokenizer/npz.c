/* .npz image batches (npz.h). The zip records follow PKWARE's APPNOTE 6.3 (local file header,
 * central directory header, ZIP64 extended information extra field, ZIP64 end of central
 * directory record and locator, end of central directory record); all integers little-endian. */
#include "npz.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static const char MEMBER_NAME[] = "arr_0.npy";
enum {
    NAME_BYTES = sizeof MEMBER_NAME - 1,
    LOCAL_HEADER_BYTES = 30,
    ZIP64_EXTRA_BYTES = 20, /* id, size, uncompressed size, compressed size */
    DATA_OFFSET = LOCAL_HEADER_BYTES + NAME_BYTES + ZIP64_EXTRA_BYTES,
    ZIP_VERSION = 45,  /* 4.5: ZIP64 */
    DOS_DATE = 0x0021, /* 1980-01-01 */
    NPY_ALIGN = 64,
    NPY_GROWTH_DIGITS = 21, /* numpy's GROWTH_AXIS_MAX_DIGITS */
};
static const uint32_t ZIP32_MAX = 0xFFFFFFFFu;

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

size_t facet_npz_npy_header(int64_t rows, int height, int width, char *buf, size_t size) {
    /* numpy.lib.format.write_array_header_1_0: the dict, spaces so the first axis can grow to 21
     * digits in place, spaces and '\n' up to a multiple of 64 bytes counting the 10-byte prefix */
    char dict[256];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '|u1', 'fortran_order': False, 'shape': (%lld, %d, %d, 3), }",
                     (long long)rows, height, width);
    const int digits = snprintf(NULL, 0, "%lld", (long long)rows);
    for (int i = digits; i < NPY_GROWTH_DIGITS; i++) dict[n++] = ' ';
    const int padding = NPY_ALIGN - (10 + n + 1) % NPY_ALIGN;
    for (int i = 0; i < padding; i++) dict[n++] = ' ';
    dict[n++] = '\n';
    const size_t total = 10 + (size_t)n;
    if (total > size) return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    put16((unsigned char *)buf + 8, (unsigned)n);
    memcpy(buf + 10, dict, (size_t)n);
    return total;
}

static facet_status write_failed(facet_npz_writer *w) {
    facet_status status =
        facet_fail(FACET_ERR_IO, "cannot write '%s': %s", w->file.path, strerror(errno));
    facet_npz_abort(w);
    return status;
}

/* The local file header; sizes and CRC as known so far (rewritten at commit). */
static void local_header(const facet_npz_writer *w, unsigned char *h) {
    memset(h, 0, DATA_OFFSET);
    put32(h, 0x04034b50u);
    put16(h + 4, ZIP_VERSION);
    put16(h + 12, DOS_DATE);
    put32(h + 14, w->crc);
    put32(h + 18, ZIP32_MAX); /* sizes in the ZIP64 extra field */
    put32(h + 22, ZIP32_MAX);
    put16(h + 26, NAME_BYTES);
    put16(h + 28, ZIP64_EXTRA_BYTES);
    memcpy(h + 30, MEMBER_NAME, NAME_BYTES);
    unsigned char *x = h + 30 + NAME_BYTES;
    put16(x, 0x0001);
    put16(x + 2, 16);
    put64(x + 4, w->data_bytes);
    put64(x + 12, w->data_bytes);
}

facet_status facet_npz_begin(facet_npz_writer *w, const char *path, int height, int width) {
    memset(w, 0, sizeof *w);
    w->height = height;
    w->width = width;
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    facet_status status = facet_atomic_open(&w->file, path);
    if (status != FACET_OK) return status;
    char npy[256];
    const size_t header = facet_npz_npy_header(0, height, width, npy, sizeof npy);
    unsigned char local[DATA_OFFSET];
    local_header(w, local);
    if (fwrite(local, 1, sizeof local, w->file.file) != sizeof local ||
        fwrite(npy, 1, header, w->file.file) != header)
        return write_failed(w);
    w->data_bytes = header; /* the CRC covers the header: it is added at commit */
    return FACET_OK;
}

facet_status facet_npz_append(facet_npz_writer *w, const uint8_t *rows, int64_t count) {
    const size_t bytes = (size_t)count * w->height * w->width * 3;
    if (bytes && fwrite(rows, 1, bytes, w->file.file) != bytes) return write_failed(w);
    for (size_t done = 0; done < bytes;) { /* zlib's crc32 takes at most 4 GiB - 1 at a time */
        const size_t n = bytes - done < (1u << 30) ? bytes - done : (1u << 30);
        w->crc = (uint32_t)crc32(w->crc, rows + done, (uInt)n);
        done += n;
    }
    w->rows += count;
    w->data_bytes += bytes;
    return FACET_OK;
}

facet_status facet_npz_commit(facet_npz_writer *w) {
    FILE *f = w->file.file;
    char npy[256];
    const size_t header = facet_npz_npy_header(w->rows, w->height, w->width, npy, sizeof npy);
    /* CRC-32 of the whole member = crc(header) combined with the CRC of the rows */
    const uint32_t rows_crc = w->crc;
    const uint32_t header_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)npy, header);
    w->crc = (uint32_t)crc32_combine(header_crc, rows_crc, (z_off_t)(w->data_bytes - header));
    const uint64_t cd_offset = DATA_OFFSET + w->data_bytes;
    const int zip64 = w->force_zip64 || w->data_bytes >= ZIP32_MAX || cd_offset >= ZIP32_MAX;

    unsigned char cd[46 + NAME_BYTES + ZIP64_EXTRA_BYTES];
    const size_t cd_bytes = 46 + NAME_BYTES + (zip64 ? ZIP64_EXTRA_BYTES : 0);
    memset(cd, 0, sizeof cd);
    put32(cd, 0x02014b50u);
    put16(cd + 4, ZIP_VERSION);
    put16(cd + 6, ZIP_VERSION);
    put16(cd + 14, DOS_DATE);
    put32(cd + 16, w->crc);
    put32(cd + 20, zip64 ? ZIP32_MAX : (uint32_t)w->data_bytes);
    put32(cd + 24, zip64 ? ZIP32_MAX : (uint32_t)w->data_bytes);
    put16(cd + 28, NAME_BYTES);
    put16(cd + 30, zip64 ? ZIP64_EXTRA_BYTES : 0);
    put32(cd + 38, 0644u << 16); /* external attributes: a regular file, rw-r--r-- */
    memcpy(cd + 46, MEMBER_NAME, NAME_BYTES);
    if (zip64) {
        unsigned char *x = cd + 46 + NAME_BYTES;
        put16(x, 0x0001);
        put16(x + 2, 16);
        put64(x + 4, w->data_bytes);
        put64(x + 12, w->data_bytes);
    }
    unsigned char end[56 + 20 + 22];
    size_t end_bytes = 0;
    memset(end, 0, sizeof end);
    if (zip64) {
        unsigned char *r = end; /* ZIP64 end of central directory record */
        put32(r, 0x06064b50u);
        put64(r + 4, 44);
        put16(r + 12, ZIP_VERSION);
        put16(r + 14, ZIP_VERSION);
        put64(r + 24, 1);
        put64(r + 32, 1);
        put64(r + 40, cd_bytes);
        put64(r + 48, cd_offset);
        unsigned char *l = end + 56; /* its locator */
        put32(l, 0x07064b50u);
        put64(l + 8, cd_offset + cd_bytes);
        put32(l + 16, 1);
        end_bytes = 76;
    }
    unsigned char *e = end + end_bytes; /* end of central directory record */
    put32(e, 0x06054b50u);
    put16(e + 8, 1);
    put16(e + 10, 1);
    put32(e + 12, (uint32_t)cd_bytes);
    put32(e + 16, zip64 ? ZIP32_MAX : (uint32_t)cd_offset);
    end_bytes += 22;

    unsigned char local[DATA_OFFSET];
    local_header(w, local);
    if (fwrite(cd, 1, cd_bytes, f) != cd_bytes || fwrite(end, 1, end_bytes, f) != end_bytes ||
        fseek(f, 0, SEEK_SET) != 0 || fwrite(local, 1, sizeof local, f) != sizeof local ||
        fwrite(npy, 1, header, f) != header)
        return write_failed(w);
    return facet_atomic_commit(&w->file);
}

void facet_npz_abort(facet_npz_writer *w) {
    facet_atomic_abort(&w->file);
}
