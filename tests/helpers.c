#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FACET_BINARY_DIR
#define FACET_BINARY_DIR "."
#endif
#ifndef FACET_SOURCE_DIR
#define FACET_SOURCE_DIR "."
#endif

const char *test_scratch_dir(const char *name) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/test-scratch/%s-%ld", FACET_BINARY_DIR, name, (long)getpid());
    char command[2200];
    snprintf(command, sizeof command, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(command) != 0) fprintf(stderr, "cannot create %s\n", dir);
    return dir;
}

const char *test_write_file(const char *dir, const char *name, const void *data, size_t size) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    if (size == 0) size = strlen((const char *)data);
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

const char *test_source_path(const char *relative) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", FACET_SOURCE_DIR, relative);
    return path;
}

int test_run(const char *command) {
    int status = system(command);
    if (status == -1) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
