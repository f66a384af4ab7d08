/* FFmpeg's CLI as the video encoder (cli/video.h). */
#include "video.h"

#include "core/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs argv (argv[0] looked up on PATH) with stdin from /dev/null and stdout to /dev/null (or
 * inherited when `quiet_stdout` is 0); returns the exit status, 127 when it cannot start. */
static int run(char *const argv[], int quiet_stdout) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (quiet_stdout) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (e != 0) return 127;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

facet_status cli_video_check(void) {
    char *argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-h", "encoder=libx264", NULL};
    int rc = run(argv, 1);
    if (rc == 127)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "--video needs FFmpeg's `ffmpeg` program on PATH (Debian: apt-get "
                          "install ffmpeg; scripts/setup.sh installs it)");
    if (rc != 0)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "`ffmpeg -h encoder=libx264` failed (exit %d): this FFmpeg cannot "
                          "encode H.264",
                          rc);
    return FACET_OK;
}

/* The image2 demuxer reads '%' as a pattern: a literal one is written "%%". */
static char *frame_pattern(const char *dir) {
    size_t n = 0;
    for (const char *p = dir; *p; p++) n += *p == '%' ? 2 : 1;
    char *out = facet_alloc(n + sizeof "/frame_%05d.png", 1);
    if (!out) return NULL;
    char *q = out;
    for (const char *p = dir; *p; p++) {
        if (*p == '%') *q++ = '%';
        *q++ = *p;
    }
    strcpy(q, "/frame_%05d.png");
    return out;
}

facet_status cli_video_encode(const char *dir, int first, int count, double fps,
                              const char *video) {
    char rate[32], start[16], frames[16];
    snprintf(rate, sizeof rate, "%.17g", fps);
    snprintf(start, sizeof start, "%d", first);
    snprintf(frames, sizeof frames, "%d", count);
    char *pattern = frame_pattern(dir);
    char *partial = facet_format("%s.partial", video);
    if (!pattern || !partial) {
        free(pattern);
        free(partial);
        return facet_last_status();
    }
    char *argv[] = {"ffmpeg",     "-nostdin", "-hide_banner",  "-loglevel",  "error",    "-y",
                    "-framerate", rate,       "-start_number", start,        "-i",       pattern,
                    "-frames:v",  frames,     "-c:v",          "libx264",    "-pix_fmt", "yuv420p",
                    "-r",         rate,       "-movflags",     "+faststart", "-f",       "mp4",
                    partial,      NULL};
    int rc = run(argv, 0);
    facet_status s = FACET_OK;
    if (rc != 0)
        s = facet_fail(FACET_ERR_IO, "ffmpeg failed (exit %d) encoding %s into %s", rc, pattern,
                       video);
    else if (rename(partial, video) != 0)
        s = facet_fail(FACET_ERR_IO, "cannot rename %s to %s: %s", partial, video, strerror(errno));
    if (s != FACET_OK) remove(partial);
    free(pattern);
    free(partial);
    return s;
}
