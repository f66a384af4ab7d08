#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { FACET_ERROR_CAPACITY = 2048 };

static _Thread_local char error_message[FACET_ERROR_CAPACITY];
static _Thread_local facet_status error_status = FACET_OK;

facet_status facet_fail(facet_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, args);
    va_end(args);
    error_status = status;
    return status;
}

facet_status facet_error_context(const char *fmt, ...) {
    char previous[FACET_ERROR_CAPACITY];
    memcpy(previous, error_message, sizeof previous);
    char context[FACET_ERROR_CAPACITY / 2];
    va_list args;
    va_start(args, fmt);
    vsnprintf(context, sizeof context, fmt, args);
    va_end(args);
    if (previous[0]) /* the message is cut at FACET_ERROR_CAPACITY, by design */
        snprintf(error_message, sizeof error_message, "%.1023s: %.1020s", context, previous);
    else
        snprintf(error_message, sizeof error_message, "%s", context);
    if (error_status == FACET_OK) error_status = FACET_ERR_INTERNAL;
    return error_status;
}

const char *facet_last_error(void) {
    return error_message;
}

facet_status facet_last_status(void) {
    return error_status;
}

void facet_clear_error(void) {
    error_message[0] = '\0';
    error_status = FACET_OK;
}

const char *facet_status_name(facet_status status) {
    switch (status) {
    case FACET_OK:
        return "ok";
    case FACET_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case FACET_ERR_IO:
        return "I/O error";
    case FACET_ERR_FORMAT:
        return "malformed input";
    case FACET_ERR_UNSUPPORTED:
        return "unsupported";
    case FACET_ERR_NOT_FOUND:
        return "not found";
    case FACET_ERR_OUT_OF_MEMORY:
        return "out of memory";
    case FACET_ERR_CUDA:
        return "CUDA error";
    case FACET_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

static facet_warning_handler warning_handler;

void facet_set_warning_handler(facet_warning_handler handler) {
    warning_handler = handler;
}

void facet_warn(const char *fmt, ...) {
    if (!warning_handler) return;
    char message[FACET_ERROR_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    warning_handler(message);
}
