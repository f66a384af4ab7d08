/* The rendered image on screen: one RGBA8 texture drawn as a quad over the window's render area,
 * texel for pixel (nearest filtering), and read back from the framebuffer for screenshots. GL 3.3
 * core; every call needs the viewer's GL context current. */
#ifndef FACET_VIEWER_FRAME_GL_H
#define FACET_VIEWER_FRAME_GL_H

#include "interop_plan.h"

#include "core/image.h"
#include "core/status.h"

#include <glad/gl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The texture's internal format. */
#define FACET_FRAME_GL_FORMAT GL_RGBA8

typedef struct facet_frame_gl {
    GLuint program, vao, texture;
    int width, height;             /* texture size */
    facet_texture_storage storage; /* what glTexImage2D last made of the texture */
    /* Called right before the texture's storage is re-specified (glTexImage2D) or the texture is
     * deleted (NULL: nothing to call). The CUDA-GL interop drops its registration there: a
     * registration must not outlive the storage it names (viewer/interop_plan.h). */
    void (*before_respecify)(void *user);
    void *before_respecify_user;
} facet_frame_gl;

facet_status facet_frame_gl_create(facet_frame_gl *frame);
void facet_frame_gl_destroy(facet_frame_gl *frame);

/* Makes the texture width x height (contents undefined until uploaded); no-op when it already is.
 * Otherwise re-specifies its storage (glTexImage2D, after calling before_respecify) and counts
 * that in `storage`: the CUDA-GL interop registers the texture again when it finds new storage. */
facet_status facet_frame_gl_resize(facet_frame_gl *frame, int width, int height);

/* Uploads width x height RGBA8 pixels (row-major from the top-left), resizing first. */
facet_status facet_frame_gl_upload(facet_frame_gl *frame, const unsigned char *rgba, int width,
                                   int height);

/* Draws the texture over the framebuffer rectangle (x, y, width, height) (pixels, origin
 * top-left) of a framebuffer fb_height pixels tall. */
void facet_frame_gl_draw(const facet_frame_gl *frame, int x, int y, int width, int height,
                         int fb_height);

/* Reads the framebuffer rectangle (x, y, width, height) (origin top-left) back as an sRGB RGB
 * image in [0,1] (the bytes / 255), top row first: what a screenshot saves. */
facet_status facet_frame_gl_read(int x, int y, int width, int height, int fb_height,
                                 facet_image *rgb);

#ifdef __cplusplus
}
#endif
#endif
