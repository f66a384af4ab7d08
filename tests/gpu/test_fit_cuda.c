/* GPU fitting: the CUDA launchers run the same per-ray forward/backward functions as the CPU
 * path, so a short fit of the generated scene on both devices must follow the same loss curve
 * (atomicAdd changes the summation order, so values agree to float rounding, not bit for bit)
 * and the CUDA fit must learn (loss falls). Exits 77 without a usable GPU. */
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "datasets/synth_scene.h"
#include "render/livescene_fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { SKIP = 77 };

static int fit(const char *data, const char *out, facet_fit_device device, int iterations,
               facet_fit_result *r) {
    facet_fit_options o = {0};
    o.size = FACET_FIT_SMALL;
    o.device = device;
    o.iterations = iterations;
    o.batch = 512;
    o.checkpoint_every = 1000;
    o.seed = 3;
    o.center_poses = -1;
    o.use_default_weights = 1;
    if (facet_livescene_fit(data, out, &o, r) != FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    return 0;
}

int main(void) {
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char dir[] = "/tmp/facet-gpu-fit-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char data[256], cpu_out[256], gpu_out[256], gpu_long[256];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(cpu_out, sizeof cpu_out, "%s/cpu", dir);
    snprintf(gpu_out, sizeof gpu_out, "%s/gpu", dir);
    snprintf(gpu_long, sizeof gpu_long, "%s/gpu-long", dir);
    facet_synth_options s = {0};
    s.frames = 12;
    s.width = s.height = 48;
    if (facet_synth_write(data, &s) != FACET_OK) return 1;
    facet_fit_result cpu, gpu, first, last;
    if (fit(data, cpu_out, FACET_FIT_CPU, 5, &cpu) || fit(data, gpu_out, FACET_FIT_CUDA, 5, &gpu) ||
        fit(data, gpu_long, FACET_FIT_CUDA, 300, &last))
        return 1;
    char early[256];
    snprintf(early, sizeof early, "%s/gpu-first", dir);
    if (fit(data, early, FACET_FIT_CUDA, 1, &first)) return 1;
    int ok = fabs(cpu.final_loss - gpu.final_loss) <= 1e-3 * fabs(cpu.final_loss) &&
             last.final_loss < 0.5 * first.final_loss;
    printf("%s fit after 5 iterations: cpu loss %.6f, cuda loss %.6f; cuda 300 iterations: loss "
           "%.4f -> %.4f, %.0f rays/s\n",
           ok ? "ok  " : "FAIL", cpu.final_loss, gpu.final_loss, first.final_loss, last.final_loss,
           last.rays_per_second);
    return ok ? 0 : 1;
}
