/* OpenGL 3.3 core renderer for the UI's draw data (viewer/ui.h): one GLSL 330 program, one
 * VAO/VBO streamed each frame, the font atlas as an R8 texture, straight-alpha blending.
 *
 * Every call needs the GL context current on the calling thread with its functions loaded
 * (gladLoadGL(glfwGetProcAddress)). */
#ifndef FACET_VIEWER_UI_GL_H
#define FACET_VIEWER_UI_GL_H

#include "core/status.h"
#include "viewer/ui.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_ui_gl facet_ui_gl;

/* Compiles the shaders and uploads `draw`'s atlas (draw data of the ui whose frames it will
 * render: the atlas never changes). Compile or link errors fail with GL's info log. */
facet_status facet_ui_gl_create(facet_ui_gl **gl, const facet_ui_draw_list *draw);

/* Draws the triangles over the framebuffer's current contents (viewport 0,0,fb_width,fb_height).
 * Depth test, face culling and scissor test are off while drawing and blending on; those
 * settings, the program, VAO, buffer and texture bindings are restored afterwards. Fails when the
 * atlas differs in size from the one uploaded or GL reports an error. */
facet_status facet_ui_gl_render(facet_ui_gl *gl, const facet_ui_draw_list *draw, int fb_width,
                                int fb_height);

/* Deletes the GL objects (the context must still be current). NULL is allowed. */
void facet_ui_gl_destroy(facet_ui_gl *gl);

#ifdef __cplusplus
}
#endif
#endif
