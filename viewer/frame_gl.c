#include "frame_gl.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

/* A quad from the vertex id (no vertex buffer): uv (0,0) at the top-left of the image. */
static const char vertex_source[] =
    "#version 330 core\n"
    "out vec2 uv;\n"
    "void main() {\n"
    "    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));\n"
    "    uv = corner;\n"
    "    gl_Position = vec4(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);\n"
    "}\n";

/* The texture holds display bytes (already sRGB): shown as they are. */
static const char fragment_source[] =
    "#version 330 core\n"
    "in vec2 uv;\n"
    "uniform sampler2D image;\n"
    "out vec4 color;\n"
    "void main() { color = vec4(texture(image, uv).rgb, 1.0); }\n";

static facet_status compile(GLenum type, const char *source, GLuint *out) {
    GLuint shader = glCreateShader(type);
    glShaderSource(shader, 1, &source, NULL);
    glCompileShader(shader);
    GLint ok = 0;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetShaderInfoLog(shader, sizeof log, NULL, log);
        glDeleteShader(shader);
        return facet_fail(FACET_ERR_UNSUPPORTED, "viewer: the image %s shader does not compile: %s",
                          type == GL_VERTEX_SHADER ? "vertex" : "fragment", log);
    }
    *out = shader;
    return FACET_OK;
}

facet_status facet_frame_gl_create(facet_frame_gl *frame) {
    memset(frame, 0, sizeof *frame);
    GLuint vs = 0, fs = 0;
    facet_status s = compile(GL_VERTEX_SHADER, vertex_source, &vs);
    if (s == FACET_OK) s = compile(GL_FRAGMENT_SHADER, fragment_source, &fs);
    if (s != FACET_OK) {
        if (vs) glDeleteShader(vs);
        return s;
    }
    frame->program = glCreateProgram();
    glAttachShader(frame->program, vs);
    glAttachShader(frame->program, fs);
    glLinkProgram(frame->program);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = 0;
    glGetProgramiv(frame->program, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetProgramInfoLog(frame->program, sizeof log, NULL, log);
        glDeleteProgram(frame->program);
        frame->program = 0;
        return facet_fail(FACET_ERR_UNSUPPORTED, "viewer: the image shader does not link: %s", log);
    }
    glGenVertexArrays(1, &frame->vao);
    glGenTextures(1, &frame->texture);
    glBindTexture(GL_TEXTURE_2D, frame->texture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    return FACET_OK;
}

void facet_frame_gl_destroy(facet_frame_gl *frame) {
    if (frame->before_respecify) frame->before_respecify(frame->before_respecify_user);
    if (frame->texture) glDeleteTextures(1, &frame->texture);
    if (frame->vao) glDeleteVertexArrays(1, &frame->vao);
    if (frame->program) glDeleteProgram(frame->program);
    memset(frame, 0, sizeof *frame);
}

facet_status facet_frame_gl_resize(facet_frame_gl *frame, int width, int height) {
    if (!facet_texture_storage_differs(&frame->storage, width, height, FACET_FRAME_GL_FORMAT))
        return FACET_OK;
    if (frame->before_respecify) frame->before_respecify(frame->before_respecify_user);
    glBindTexture(GL_TEXTURE_2D, frame->texture);
    glTexImage2D(GL_TEXTURE_2D, 0, FACET_FRAME_GL_FORMAT, width, height, 0, GL_RGBA,
                 GL_UNSIGNED_BYTE, NULL);
    if (glGetError() != GL_NO_ERROR) { /* the storage is undefined now: re-specified next time */
        facet_texture_storage_specified(&frame->storage, 0, 0, 0);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "viewer: no GL texture of %dx%d", width, height);
    }
    facet_texture_storage_specified(&frame->storage, width, height, FACET_FRAME_GL_FORMAT);
    frame->width = width;
    frame->height = height;
    return FACET_OK;
}

facet_status facet_frame_gl_upload(facet_frame_gl *frame, const unsigned char *rgba, int width,
                                   int height) {
    facet_status s = facet_frame_gl_resize(frame, width, height);
    if (s != FACET_OK) return s;
    glBindTexture(GL_TEXTURE_2D, frame->texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    return FACET_OK;
}

void facet_frame_gl_draw(const facet_frame_gl *frame, int x, int y, int width, int height,
                         int fb_height) {
    if (!frame->width) return;
    glViewport(x, fb_height - y - height, width, height);
    glDisable(GL_BLEND);
    glUseProgram(frame->program);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, frame->texture);
    glUniform1i(glGetUniformLocation(frame->program, "image"), 0);
    glBindVertexArray(frame->vao);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    glBindVertexArray(0);
}

facet_status facet_frame_gl_read(int x, int y, int width, int height, int fb_height,
                                 facet_image *rgb) {
    unsigned char *bytes = facet_alloc((size_t)width * height * 4, 1);
    if (!bytes) return facet_error_context("screenshot %dx%d", width, height);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(x, fb_height - y - height, width, height, GL_RGBA, GL_UNSIGNED_BYTE, bytes);
    facet_status s = glGetError() == GL_NO_ERROR
                         ? facet_image_alloc(rgb, width, height, 3)
                         : facet_fail(FACET_ERR_IO, "viewer: reading the framebuffer failed");
    if (s == FACET_OK)
        for (int j = 0; j < height; j++) { /* GL rows run bottom-up */
            const unsigned char *src = bytes + (size_t)(height - 1 - j) * width * 4;
            float *dst = rgb->data + (size_t)j * width * 3;
            for (int i = 0; i < width; i++)
                for (int c = 0; c < 3; c++) dst[i * 3 + c] = (float)src[i * 4 + c] / 255.0f;
        }
    free(bytes);
    return s;
}
