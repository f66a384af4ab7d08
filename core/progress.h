/* A progress bar on stderr: "render  37/120  31% |#####     | 4.2 img/s  ETA 0:20", followed by
 * the owner's free-text `suffix` when set ("... ETA 0:20  loss 0.012  psnr 24.1 dB").
 * On a TTY the line redraws in place (at most 10 times a second); otherwise (CI logs, pipes) a
 * plain line is printed every `interval` seconds (default 5) and at the end. Thread-safe: any
 * thread may call facet_progress_advance. The CLI owns the bar; library code takes an optional
 * pointer and never prints otherwise. */
#ifndef FACET_CORE_PROGRESS_H
#define FACET_CORE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_progress {
    const char *label; /* "render" */
    const char *unit;  /* "img" */
    int64_t total;
    int64_t done;
    double start_seconds;
    double last_draw_seconds;
    double interval_seconds; /* non-TTY print interval */
    int is_tty;
    int quiet;        /* 1: draw nothing */
    FILE *out;        /* stderr unless set */
    char suffix[128]; /* appended to the line (e.g. "loss 0.012 psnr 24.1 dB"), set by the owner */
} facet_progress;

void facet_progress_begin(facet_progress *p, const char *label, const char *unit, int64_t total);
void facet_progress_advance(facet_progress *p, int64_t count);
/* Draws the final line (with the total time) and a newline. */
void facet_progress_end(facet_progress *p);

/* Prints one message line (a newline is added) above the bar, which redraws at the next advance:
 * for events the user must see, such as a fit restarting after a divergence. Nothing when quiet. */
void facet_progress_note(facet_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats one progress line (no newline) into buf; exposed for tests. */
void facet_progress_format(const facet_progress *p, double now_seconds, char *buf, size_t size);

/* Monotonic clock in seconds. */
double facet_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
