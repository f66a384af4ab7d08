/* OpenGL 3.3 core renderer for the UI's triangles (see ui_gl.h). */
#include "viewer/ui_gl.h"

#include "core/alloc.h"

#include <glad/gl.h>
#include <stddef.h>
#include <stdlib.h>

struct facet_ui_gl {
    GLuint program, vao, vbo, atlas;
    GLint framebuffer_uniform; /* vec2: framebuffer size in pixels */
    int atlas_width, atlas_height;
};

/* Pixels (origin top-left, y down) to clip space; the atlas holds coverage in its red channel. */
static const char *const vertex_source = "#version 330 core\n"
                                         "layout(location = 0) in vec2 a_position;\n"
                                         "layout(location = 1) in vec2 a_uv;\n"
                                         "layout(location = 2) in vec4 a_color;\n"
                                         "uniform vec2 u_framebuffer;\n"
                                         "out vec2 v_uv;\n"
                                         "out vec4 v_color;\n"
                                         "void main() {\n"
                                         "    v_uv = a_uv;\n"
                                         "    v_color = a_color;\n"
                                         "    vec2 ndc = a_position / u_framebuffer * 2.0 - 1.0;\n"
                                         "    gl_Position = vec4(ndc.x, -ndc.y, 0.0, 1.0);\n"
                                         "}\n";

static const char *const fragment_source =
    "#version 330 core\n"
    "uniform sampler2D u_atlas;\n"
    "in vec2 v_uv;\n"
    "in vec4 v_color;\n"
    "out vec4 f_color;\n"
    "void main() {\n"
    "    f_color = vec4(v_color.rgb, v_color.a * texture(u_atlas, v_uv).r);\n"
    "}\n";

/* Discards errors left by earlier GL calls so that the checks below report only ours. */
static void clear_gl_errors(void) {
    for (int i = 0; i < 32 && glGetError() != GL_NO_ERROR; i++) continue;
}

static facet_status check_gl(const char *what) {
    GLenum error = glGetError();
    if (error == GL_NO_ERROR) return FACET_OK;
    return facet_fail(FACET_ERR_INTERNAL, "UI renderer: GL error 0x%04x while %s", (unsigned)error,
                      what);
}

/* Compiles one shader stage; on failure the message carries GL's info log. */
static facet_status compile_shader(GLenum stage, const char *source, const char *name,
                                   GLuint *out) {
    GLuint shader = glCreateShader(stage);
    if (!shader)
        return facet_fail(FACET_ERR_INTERNAL, "UI renderer: cannot create the %s shader", name);
    glShaderSource(shader, 1, &source, NULL);
    glCompileShader(shader);
    GLint ok = GL_FALSE;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (ok != GL_TRUE) {
        char log[2048] = "";
        glGetShaderInfoLog(shader, (GLsizei)sizeof log, NULL, log);
        glDeleteShader(shader);
        return facet_fail(FACET_ERR_INTERNAL, "UI renderer: %s shader does not compile: %s", name,
                          log);
    }
    *out = shader;
    return FACET_OK;
}

static facet_status link_program(GLuint *out) {
    GLuint vertex = 0, fragment = 0;
    facet_status status = compile_shader(GL_VERTEX_SHADER, vertex_source, "vertex", &vertex);
    if (status != FACET_OK) return status;
    status = compile_shader(GL_FRAGMENT_SHADER, fragment_source, "fragment", &fragment);
    if (status != FACET_OK) {
        glDeleteShader(vertex);
        return status;
    }
    GLuint program = glCreateProgram();
    glAttachShader(program, vertex);
    glAttachShader(program, fragment);
    glLinkProgram(program);
    glDeleteShader(vertex);
    glDeleteShader(fragment);
    GLint ok = GL_FALSE;
    glGetProgramiv(program, GL_LINK_STATUS, &ok);
    if (ok != GL_TRUE) {
        char log[2048] = "";
        glGetProgramInfoLog(program, (GLsizei)sizeof log, NULL, log);
        glDeleteProgram(program);
        return facet_fail(FACET_ERR_INTERNAL, "UI renderer: shader program does not link: %s", log);
    }
    *out = program;
    return FACET_OK;
}

facet_status facet_ui_gl_create(facet_ui_gl **out, const facet_ui_draw_list *draw) {
    *out = NULL;
    if (!draw || !draw->atlas || draw->atlas_width <= 0 || draw->atlas_height <= 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "UI renderer: draw data has no font atlas");
    facet_ui_gl *gl = facet_alloc_zeroed(1, sizeof *gl);
    if (!gl) return facet_error_context("UI renderer");
    clear_gl_errors();
    facet_status status = link_program(&gl->program);
    if (status != FACET_OK) {
        free(gl);
        return status;
    }
    gl->framebuffer_uniform = glGetUniformLocation(gl->program, "u_framebuffer");
    GLint previous_program = 0, previous_vao = 0, previous_buffer = 0, previous_texture = 0,
          previous_active = 0, previous_alignment = 0;
    glGetIntegerv(GL_CURRENT_PROGRAM, &previous_program);
    glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &previous_vao);
    glGetIntegerv(GL_ARRAY_BUFFER_BINDING, &previous_buffer);
    glGetIntegerv(GL_ACTIVE_TEXTURE, &previous_active);
    glGetIntegerv(GL_UNPACK_ALIGNMENT, &previous_alignment);
    glUseProgram(gl->program);
    glUniform1i(glGetUniformLocation(gl->program, "u_atlas"), 0);

    /* facet_ui_vertex: x, y, u, v as floats, then r, g, b, a as normalised bytes. */
    glGenVertexArrays(1, &gl->vao);
    glGenBuffers(1, &gl->vbo);
    glBindVertexArray(gl->vao);
    glBindBuffer(GL_ARRAY_BUFFER, gl->vbo);
    GLsizei stride = (GLsizei)sizeof(facet_ui_vertex);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, stride,
                          (const void *)offsetof(facet_ui_vertex, x));
    glEnableVertexAttribArray(1);
    glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, stride,
                          (const void *)offsetof(facet_ui_vertex, u));
    glEnableVertexAttribArray(2);
    glVertexAttribPointer(2, 4, GL_UNSIGNED_BYTE, GL_TRUE, stride,
                          (const void *)offsetof(facet_ui_vertex, rgba));

    glActiveTexture(GL_TEXTURE0);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &previous_texture);
    glGenTextures(1, &gl->atlas);
    glBindTexture(GL_TEXTURE_2D, gl->atlas);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, draw->atlas_width, draw->atlas_height, 0, GL_RED,
                 GL_UNSIGNED_BYTE, draw->atlas);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    gl->atlas_width = draw->atlas_width;
    gl->atlas_height = draw->atlas_height;

    glPixelStorei(GL_UNPACK_ALIGNMENT, previous_alignment);
    glBindTexture(GL_TEXTURE_2D, (GLuint)previous_texture);
    glActiveTexture((GLenum)previous_active);
    glBindVertexArray((GLuint)previous_vao);
    glBindBuffer(GL_ARRAY_BUFFER, (GLuint)previous_buffer);
    glUseProgram((GLuint)previous_program);
    status = check_gl("creating the program, buffers and atlas texture");
    if (status != FACET_OK) {
        facet_ui_gl_destroy(gl);
        return status;
    }
    *out = gl;
    return FACET_OK;
}

static void set_enabled(GLenum capability, GLboolean enabled) {
    if (enabled)
        glEnable(capability);
    else
        glDisable(capability);
}

facet_status facet_ui_gl_render(facet_ui_gl *gl, const facet_ui_draw_list *draw, int fb_width,
                                int fb_height) {
    if (draw->atlas_width != gl->atlas_width || draw->atlas_height != gl->atlas_height)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "UI renderer: draw data atlas is %dx%d, the uploaded one %dx%d",
                          draw->atlas_width, draw->atlas_height, gl->atlas_width, gl->atlas_height);
    if (draw->vertex_count <= 0 || fb_width <= 0 || fb_height <= 0) return FACET_OK;
    clear_gl_errors();

    GLint program = 0, vao = 0, buffer = 0, texture = 0, active = 0, viewport[4];
    GLint blend_src_rgb = 0, blend_dst_rgb = 0, blend_src_alpha = 0, blend_dst_alpha = 0;
    glGetIntegerv(GL_CURRENT_PROGRAM, &program);
    glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &vao);
    glGetIntegerv(GL_ARRAY_BUFFER_BINDING, &buffer);
    glGetIntegerv(GL_ACTIVE_TEXTURE, &active);
    glGetIntegerv(GL_VIEWPORT, viewport);
    glGetIntegerv(GL_BLEND_SRC_RGB, &blend_src_rgb);
    glGetIntegerv(GL_BLEND_DST_RGB, &blend_dst_rgb);
    glGetIntegerv(GL_BLEND_SRC_ALPHA, &blend_src_alpha);
    glGetIntegerv(GL_BLEND_DST_ALPHA, &blend_dst_alpha);
    GLboolean blend = glIsEnabled(GL_BLEND), depth = glIsEnabled(GL_DEPTH_TEST),
              cull = glIsEnabled(GL_CULL_FACE), scissor = glIsEnabled(GL_SCISSOR_TEST);

    glViewport(0, 0, fb_width, fb_height);
    glEnable(GL_BLEND);
    glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_CULL_FACE);
    glDisable(GL_SCISSOR_TEST);
    glUseProgram(gl->program);
    glUniform2f(gl->framebuffer_uniform, (GLfloat)fb_width, (GLfloat)fb_height);
    glActiveTexture(GL_TEXTURE0);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &texture);
    glBindTexture(GL_TEXTURE_2D, gl->atlas);
    glBindVertexArray(gl->vao);
    glBindBuffer(GL_ARRAY_BUFFER, gl->vbo);
    glBufferData(GL_ARRAY_BUFFER,
                 (GLsizeiptr)draw->vertex_count * (GLsizeiptr)sizeof(facet_ui_vertex),
                 draw->vertices, GL_STREAM_DRAW);
    glDrawArrays(GL_TRIANGLES, 0, draw->vertex_count);

    glBindTexture(GL_TEXTURE_2D, (GLuint)texture);
    glActiveTexture((GLenum)active);
    glBindVertexArray((GLuint)vao);
    glBindBuffer(GL_ARRAY_BUFFER, (GLuint)buffer);
    glUseProgram((GLuint)program);
    glBlendFuncSeparate((GLenum)blend_src_rgb, (GLenum)blend_dst_rgb, (GLenum)blend_src_alpha,
                        (GLenum)blend_dst_alpha);
    set_enabled(GL_BLEND, blend);
    set_enabled(GL_DEPTH_TEST, depth);
    set_enabled(GL_CULL_FACE, cull);
    set_enabled(GL_SCISSOR_TEST, scissor);
    glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
    return check_gl("drawing the UI");
}

void facet_ui_gl_destroy(facet_ui_gl *gl) {
    if (!gl) return;
    if (gl->atlas) glDeleteTextures(1, &gl->atlas);
    if (gl->vbo) glDeleteBuffers(1, &gl->vbo);
    if (gl->vao) glDeleteVertexArrays(1, &gl->vao);
    if (gl->program) glDeleteProgram(gl->program);
    free(gl);
}
