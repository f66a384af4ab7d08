/* Headless rendering along a camera path (`facet render SCENE --path camera_path.json`): frame k
 * of the path is set up exactly as `facet render` sets up one camera (the path's kappa and
 * environment-rotation keyframes applied, render/camera_path.h) and written atomically to
 * DIR/frame_%05d.png (or .exr). A frame whose file exists is skipped, so a killed render resumes
 * where it stopped; files are only ever complete (atomic rename), and the temporary file a killed
 * run left for its unfinished frame is removed. */
#ifndef FACET_RENDER_PATH_RENDER_H
#define FACET_RENDER_PATH_RENDER_H

#include "batch.h"
#include "camera_path.h"
#include "scene.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_path_render_options {
    facet_render_options render;
    facet_output_format format;
    int first, last;   /* frames [first, last) of the path */
    facet_shard shard; /* frame k belongs to shard k % N */
    int masks;         /* also write DIR/frame_%05d_<object>.png, as `facet render --masks` */
    facet_progress *progress; /* may be NULL; counts frames ("frame" unit: frames/s and ETA) */
} facet_path_render_options;

/* DIR/frame_%05d.<png|exr> for frame k, freshly allocated. */
char *facet_path_frame_file(const char *dir, int k, facet_output_format format);

/* Sets up frame k on the scene (its kappa and environment rotation, where the path keys them)
 * and returns its camera in the scene's world frame (`model`: the scene's model frame,
 * facet_scene_model_frame). An object the path names but the scene lacks is an error. */
facet_status facet_path_apply_frame(facet_scene *scene, const facet_camera_path *path, int k,
                                    const facet_model_frame *model, facet_camera *camera);

/* Renders the selected frames to dir; *rendered and *skipped (already on disk) count them. */
facet_status facet_path_render(facet_scene *scene, const facet_camera_path *path,
                               const facet_path_render_options *options, const char *dir,
                               int *rendered, int *skipped);

#ifdef __cplusplus
}
#endif
#endif
