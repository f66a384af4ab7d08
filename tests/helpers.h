/* Shared test helpers: scratch directories and small file writers. */
#ifndef FACET_TESTS_HELPERS_H
#define FACET_TESTS_HELPERS_H

#include <stddef.h>

/* A fresh, empty directory under the build tree for this test (removed and recreated), unique to
 * this process (Criterion runs tests in parallel processes). Returns a static buffer valid until
 * the next call. */
const char *test_scratch_dir(const char *name);
/* Writes `size` bytes (or strlen(text) when size is 0) to dir/name and returns the full path in a
 * static buffer valid until the next call. */
const char *test_write_file(const char *dir, const char *name, const void *data, size_t size);
/* Path of a file under the source tree (tests/fixtures/...), static buffer. */
const char *test_source_path(const char *relative);
/* Runs a shell command, returns its exit status (-1 if it could not run). */
int test_run(const char *command);

/* Long end-to-end runs (hundreds of fit iterations) take ~30x longer under ASan + UBSan
 * (FACET_SANITIZE): there they report as skipped, with the reason, and run in the normal build;
 * the unit tests of the same code run in both. */
#ifdef FACET_TEST_SANITIZED
#define TEST_SKIP_UNDER_SANITIZER(reason) cr_skip_test("sanitizer build: %s", reason)
#else
#define TEST_SKIP_UNDER_SANITIZER(reason) ((void)0)
#endif

#endif
