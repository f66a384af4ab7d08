/* Status codes and the thread-local error message.
 *
 * Library code never prints or exits. A failing function sets a message describing the cause and
 * returns a non-OK status; callers either handle it or add context and pass it up:
 *
 *     if (read_header(f) != FACET_OK)
 *         return facet_error_context("reading '%s'", path);   // "reading 'x': bad magic"
 *
 * The CLI prints `facet: error: <facet_last_error()>`. */
#ifndef FACET_CORE_STATUS_H
#define FACET_CORE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_status {
    FACET_OK = 0,
    FACET_ERR_INVALID_ARGUMENT, /* a caller passed something meaningless */
    FACET_ERR_IO,               /* open/read/write/rename failed */
    FACET_ERR_FORMAT,           /* a file is malformed, truncated or inconsistent */
    FACET_ERR_UNSUPPORTED,      /* well-formed but a feature facet does not handle */
    FACET_ERR_NOT_FOUND,        /* a named key, tensor, object or file does not exist */
    FACET_ERR_OUT_OF_MEMORY,
    FACET_ERR_CUDA,    /* a CUDA runtime or library call failed, or CUDA is unavailable */
    FACET_ERR_INTERNAL /* a broken invariant: a bug in facet */
} facet_status;

/* Sets the thread's error message (printf-style) and returns `status`. */
facet_status facet_fail(facet_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context: "<context>: <previous message>". Returns the status of
 * the most recent facet_fail on this thread so it can be returned directly. */
facet_status facet_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current thread's last message ("" when none). Valid until the next facet_fail. */
const char *facet_last_error(void);

/* The status that went with the last message (FACET_OK when none). */
facet_status facet_last_status(void);

void facet_clear_error(void);

/* Warnings: something the user must hear about that does not stop the work (a checkpoint holding
 * NaN weights). Library code calls facet_warn; the CLI installs a handler that prints
 * "facet: warning: <message>". Without a handler warnings are dropped. The handler is
 * process-wide; set it before starting threads. */
typedef void (*facet_warning_handler)(const char *message);
void facet_set_warning_handler(facet_warning_handler handler);
void facet_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "invalid argument", "I/O error", ... */
const char *facet_status_name(facet_status status);

#ifdef __cplusplus
}
#endif
#endif
