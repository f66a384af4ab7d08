/* Encoding rendered frames into a video with FFmpeg's command-line program (Debian's `ffmpeg`,
 * installed by scripts/setup.sh), run directly (no shell) with its output checked. */
#ifndef FACET_CLI_VIDEO_H
#define FACET_CLI_VIDEO_H

#include "core/status.h"

/* Fails with an explanation when `ffmpeg` is not on PATH or cannot encode H.264. */
facet_status cli_video_check(void);

/* Encodes dir/frame_%05d.png for frames [first, first + count) into `video` (H.264, yuv420p, mp4,
 * `fps` frames per second). Frames must have even width and height (yuv420p halves both for
 * chroma). The file is written under a temporary name beside `video` and renamed when FFmpeg
 * succeeds, so `video` is never half-written; FFmpeg's own messages go to stderr. */
facet_status cli_video_encode(const char *dir, int first, int count, double fps, const char *video);

#endif
