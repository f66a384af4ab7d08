/* The glad2-generated OpenGL 3.3 core loader builds and links with GLFW (the viewer's stack), and
 * fails cleanly when no GL context exists (the headless case). */
#include <glad/gl.h>

#include <GLFW/glfw3.h>
#include <criterion/criterion.h>
#include <stddef.h>

static GLADapiproc no_gl(const char *name) {
    (void)name;
    return NULL;
}

Test(glad, loader_reports_failure_without_a_context) {
    /* no function can be resolved, so no GL version is detected */
    cr_assert_eq(gladLoadGL(no_gl), 0);
}

Test(glad, generated_for_gl_3_3_core) {
    cr_assert_eq(GLAD_GL_VERSION_3_3 + 0 >= 0, 1);
#ifndef GL_VERSION_3_3
    cr_assert_fail("GL_VERSION_3_3 is not defined by the generated header");
#endif
#ifdef GL_VERSION_4_0
    cr_assert_fail("the loader was generated for a version above 3.3");
#endif
}
