/* The emulator's tests: each program prints one line per check, "ok NAME details" or
 * "FAIL NAME details", and exits 1 when a check failed. Device code is compiled exactly as facet's
 * .cu files are in the emulated build, and launched with FACET_LAUNCH. */
#ifndef CUEMU_TESTS_CHECK_H
#define CUEMU_TESTS_CHECK_H

#include "core/cuda/launch.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

inline int &check_failures() {
    static int n = 0;
    return n;
}

__attribute__((format(printf, 3, 4))) inline bool check(bool ok, const char *name, const char *fmt,
                                                        ...) {
    printf("%s %s ", ok ? "ok" : "FAIL", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!ok) check_failures()++;
    return ok;
}

inline int check_exit() {
    return check_failures() ? 1 : 0;
}

/* A CUDA call the test cannot go on without. */
#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        const cudaError_t e_ = (call);                                                             \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

template <typename T> T *device_alloc(size_t n) {
    T *p = nullptr;
    CUDA_OK(cudaMalloc(&p, n * sizeof(T)));
    return p;
}

/* Runs fn() in a child process (no core file) with its stderr captured. */
struct ChildResult {
    int status = 0;
    std::string err;
    bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
    bool has(const char *text) const { return err.find(text) != std::string::npos; }
};

template <typename F> ChildResult run_child(F fn) {
    ChildResult r;
    int fd[2];
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        close(fd[0]);
        dup2(fd[1], 2);
        close(fd[1]);
        fn();
        fflush(stderr);
        _exit(0);
    }
    close(fd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) r.err.append(buf, (size_t)n);
    close(fd[0]);
    waitpid(pid, &r.status, 0);
    return r;
}

/* The first line of a child's stderr, for a report. */
inline std::string first_line(const std::string &s) {
    return s.substr(0, s.find('\n'));
}

#endif
