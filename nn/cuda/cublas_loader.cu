/* cuBLAS opened on first use (nn/cuda/cublas_loader.h). Host code only. */
#include "nn/cuda/cublas_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace {

/* dl_iterate_phdr callback: the first loaded object whose file name starts with libcudart.so
 * and whose path names a directory */
struct cudart_search {
    char *path;
    size_t size;
    int found;
};

int find_cudart(struct dl_phdr_info *info, size_t, void *data) {
    cudart_search *search = (cudart_search *)data;
    const char *path = info->dlpi_name;
    if (!path || !*path) return 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!slash || strncmp(base, "libcudart.so", strlen("libcudart.so")) != 0) return 0;
    if (strlen(path) + 1 > search->size) return 1; /* found, but does not fit: stop, found = 0 */
    memcpy(search->path, path, strlen(path) + 1);
    search->found = 1;
    return 1;
}

/* dlsym into *slot; the missing name appended to `missing` (size bytes) when absent */
template <typename F>
void resolve(void *library, const char *name, F *slot, char *missing, size_t size) {
    static_assert(sizeof(F) == sizeof(void *), "a function pointer as wide as dlsym's result");
    void *symbol = dlsym(library, name);
    memcpy(slot, &symbol, sizeof symbol); /* object pointer to function pointer (POSIX) */
    if (!symbol) {
        const size_t used = strlen(missing);
        snprintf(missing + used, size - used, "%s%s", used ? ", " : "", name);
    }
}

pthread_once_t load_once = PTHREAD_ONCE_INIT;
facet_cublas loaded;
facet_status load_status = FACET_ERR_INTERNAL;
char load_message[2048];

void load(void) {
#ifdef FACET_CUDA_EMU
    loaded.create = cublasCreate;
    loaded.destroy = cublasDestroy;
    loaded.gemm_strided_batched_ex = cublasGemmStridedBatchedEx;
    snprintf(loaded.path, sizeof loaded.path, "cuemu");
    load_status = FACET_OK;
#else
    char cudart[PATH_MAX], beside[2][FACET_CUBLAS_PATH_MAX];
    const char *candidates[3];
    const int count = facet_cublas_candidates(
        facet_cudart_path(cudart, sizeof cudart) ? cudart : NULL, beside, candidates);
    load_status = facet_cublas_open(candidates, count, &loaded);
    if (load_status != FACET_OK)
        snprintf(load_message, sizeof load_message, "%s", facet_last_error());
#endif
}

} // namespace

extern "C" int facet_cudart_path(char *path, size_t size) {
    cudart_search search = {path, size, 0};
    dl_iterate_phdr(find_cudart, &search);
    return search.found;
}

extern "C" int facet_cublas_candidates(const char *cudart, char beside[2][FACET_CUBLAS_PATH_MAX],
                                       const char *candidates[3]) {
    int count = 0;
    candidates[count++] = FACET_CUBLAS_SONAME;
    if (!cudart) return count;
    char resolved[PATH_MAX];
    for (int pass = 0; pass < 2; pass++) {
        const char *file = cudart;
        if (pass == 1) {
            if (!realpath(cudart, resolved)) break;
            file = resolved;
        }
        const char *slash = strrchr(file, '/');
        if (!slash) continue;
        const int written = snprintf(beside[pass], FACET_CUBLAS_PATH_MAX, "%.*s/%s",
                                     (int)(slash - file), file, FACET_CUBLAS_SONAME);
        if (written < 0 || written >= FACET_CUBLAS_PATH_MAX) continue;
        if (pass == 1 && count == 2 && strcmp(beside[1], candidates[1]) == 0) break;
        candidates[count++] = beside[pass];
    }
    return count;
}

extern "C" facet_status facet_cublas_open(const char *const *candidates, int count,
                                          facet_cublas *out) {
    char tried[1536] = "";
    for (int i = 0; i < count; i++) {
        const size_t used = strlen(tried);
        void *library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            const char *why = dlerror();
            snprintf(tried + used, sizeof tried - used, "%s%s", used ? "; " : "",
                     why ? why : candidates[i]);
            continue;
        }
        facet_cublas table;
        memset(&table, 0, sizeof table);
        char missing[256] = "";
        resolve(library, "cublasCreate_v2", &table.create, missing, sizeof missing);
        resolve(library, "cublasDestroy_v2", &table.destroy, missing, sizeof missing);
        resolve(library, "cublasGemmStridedBatchedEx", &table.gemm_strided_batched_ex, missing,
                sizeof missing);
        if (*missing) {
            dlclose(library);
            snprintf(tried + used, sizeof tried - used, "%s%s: lacks %s", used ? "; " : "",
                     candidates[i], missing);
            continue;
        }
        /* the file the loader settled on, for messages (a bare soname names no directory) */
        struct link_map *map = NULL;
        const char *path = candidates[i];
        if (dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name)
            path = map->l_name;
        snprintf(table.path, sizeof table.path, "%s", path);
        *out = table;
        return FACET_OK;
    }
    return facet_fail(FACET_ERR_CUDA,
                      "cannot load cuBLAS (%s), which facet opens when it first makes a CUDA "
                      "context: %s. Install the CUDA toolkit's cuBLAS or put its directory on "
                      "LD_LIBRARY_PATH",
                      FACET_CUBLAS_SONAME, count ? tried : "no candidates");
}

extern "C" facet_status facet_cublas_get(const facet_cublas **out) {
    pthread_once(&load_once, load);
    if (load_status != FACET_OK) return facet_fail(load_status, "%s", load_message);
    *out = &loaded;
    return FACET_OK;
}
