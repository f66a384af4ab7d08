#include "progress.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double facet_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void facet_progress_begin(facet_progress *p, const char *label, const char *unit, int64_t total) {
    int quiet = p->quiet;
    FILE *out = p->out ? p->out : stderr;
    char suffix[sizeof p->suffix];
    memcpy(suffix, p->suffix, sizeof suffix);
    double interval = p->interval_seconds > 0 ? p->interval_seconds : 5.0;
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->quiet = quiet;
    p->out = out;
    p->interval_seconds = interval;
    memcpy(p->suffix, suffix, sizeof suffix);
    p->is_tty = isatty(fileno(out));
    p->start_seconds = facet_seconds();
    p->last_draw_seconds = p->start_seconds;
}

static void format_duration(double seconds, char *buf, size_t size) {
    if (seconds < 0 || seconds > 1e7) {
        snprintf(buf, size, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void facet_progress_format(const facet_progress *p, double now, char *buf, size_t size) {
    enum { BAR = 20 };
    double elapsed = now - p->start_seconds;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0.0;
    double fraction = p->total > 0 ? (double)p->done / (double)p->total : 0.0;
    if (fraction > 1) fraction = 1;
    char bar[BAR + 1];
    int filled = (int)(fraction * BAR);
    for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '#' : ' ';
    bar[BAR] = '\0';
    char eta[32], took[32];
    format_duration(rate > 0 ? (double)(p->total - p->done) / rate : -1, eta, sizeof eta);
    format_duration(elapsed, took, sizeof took);
    int n;
    if (p->done >= p->total)
        n = snprintf(buf, size, "%s %lld/%lld 100%% |%s| %.3g %s/s  took %s", p->label,
                     (long long)p->done, (long long)p->total, bar, rate, p->unit, took);
    else
        n = snprintf(buf, size, "%s %lld/%lld %3d%% |%s| %.3g %s/s  ETA %s", p->label,
                     (long long)p->done, (long long)p->total, (int)(fraction * 100), bar, rate,
                     p->unit, eta);
    if (p->suffix[0] && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "  %.*s", (int)sizeof p->suffix, p->suffix);
}

static void draw(facet_progress *p, double now, int final) {
    char line[512];
    facet_progress_format(p, now, line, sizeof line);
    if (p->is_tty)
        fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    else
        fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->last_draw_seconds = now;
}

void facet_progress_advance(facet_progress *p, int64_t count) {
#pragma omp critical(facet_progress)
    {
        p->done += count;
        if (!p->quiet) {
            double now = facet_seconds();
            double wait = p->is_tty ? 0.1 : p->interval_seconds;
            if (now - p->last_draw_seconds >= wait && p->done < p->total) draw(p, now, 0);
        }
    }
}

void facet_progress_end(facet_progress *p) {
    if (!p->quiet) draw(p, facet_seconds(), 1);
}

void facet_progress_note(facet_progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    va_list ap;
    va_start(ap, fmt);
#pragma omp critical(facet_progress)
    {
        FILE *out = p->out ? p->out : stderr;
        if (p->is_tty) fputs("\r\033[K", out); /* over the bar, which redraws at the next advance */
        vfprintf(out, fmt, ap);
        fputc('\n', out);
        fflush(out);
    }
    va_end(ap);
}
