/* When the CUDA-GL interop must (re)register the frame texture: the decision as plain C, with no GL
 * or CUDA, so that a unit test can drive it (tests/test_viewer.c, suite interop_plan).
 *
 * A registration (cudaGraphicsGLRegisterImage) names the texture's storage as it was when it was
 * registered. glTexImage2D re-specifies the storage, making new storage even at the same size and
 * format, and the viewer's CPU path does that whenever an uploaded image has another size (depth
 * mode, a window resize). So frame_gl counts re-specifications in facet_texture_storage, and the
 * interop registers again whenever the texture's storage is not the storage it registered. */
#ifndef FACET_VIEWER_INTEROP_PLAN_H
#define FACET_VIEWER_INTEROP_PLAN_H

#ifdef __cplusplus
extern "C" {
#endif

/* A texture's storage: what glTexImage2D last made of it. */
typedef struct facet_texture_storage {
    int width, height;
    unsigned int format;           /* GL internal format (GL_RGBA8) */
    unsigned long long generation; /* glTexImage2D calls so far (0: no storage yet) */
} facet_texture_storage;

/* 1 when the texture must be re-specified to be width x height of `format`. */
static inline int facet_texture_storage_differs(const facet_texture_storage *s, int width,
                                                int height, unsigned int format) {
    return s->generation == 0 || s->width != width || s->height != height || s->format != format;
}

/* Records a successful glTexImage2D of width x height of `format`. */
static inline void facet_texture_storage_specified(facet_texture_storage *s, int width, int height,
                                                   unsigned int format) {
    s->width = width;
    s->height = height;
    s->format = format;
    s->generation++;
}

/* What the interop registered (registered 0: nothing). */
typedef struct facet_interop_registration {
    int registered;
    facet_texture_storage storage;
} facet_interop_registration;

/* Records a registration of `current` (after cudaGraphicsGLRegisterImage succeeded). */
static inline void facet_interop_registered(facet_interop_registration *r,
                                            const facet_texture_storage *current) {
    r->registered = 1;
    r->storage = *current;
}

/* Records that the registration was dropped (cudaGraphicsUnregisterResource). */
static inline void facet_interop_unregistered(facet_interop_registration *r) {
    r->registered = 0;
}

/* What the interop does, in this order, before it writes a width x height frame of `format`. */
typedef struct facet_interop_actions {
    int unregister; /* drop the registration (before any re-specification) */
    int respecify;  /* facet_frame_gl_resize: glTexImage2D to width x height */
    int reregister; /* cudaGraphicsGLRegisterImage the texture */
} facet_interop_actions;

/* The registration is kept only while it names the texture's current storage and that storage is
 * already width x height of `format`; otherwise it is dropped first, the texture re-specified if
 * its size or format differ, and the texture registered again. */
static inline facet_interop_actions facet_interop_plan(const facet_interop_registration *r,
                                                       const facet_texture_storage *current,
                                                       int width, int height, unsigned int format) {
    facet_interop_actions a = {0, 0, 0};
    a.respecify = facet_texture_storage_differs(current, width, height, format);
    const int stale = !r->registered || r->storage.generation != current->generation ||
                      r->storage.width != current->width || r->storage.height != current->height ||
                      r->storage.format != current->format;
    a.reregister = a.respecify || stale;
    a.unregister = r->registered && a.reregister;
    return a;
}

#ifdef __cplusplus
}
#endif
#endif
