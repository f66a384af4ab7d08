/* Dataset tokenization: an image folder, a list file or WebDataset tar shards -> FQGAN token
 * shards + manifest (docs/formats.md, "Token shards").
 *
 * The input list: a folder's images sorted by path, a list file's paths sorted, or the samples of
 * tar shards in shard order then member order (datasets/webdataset.h: "<tar name>#<key>"). Work is
 * cut into shards of `shard_size` consecutive images of the input list: shard s holds images
 * [s * shard_size, (s + 1) * shard_size) that decoded, as OUT/shard-%05d.safetensors:
 *     <branch>  U16 [n, grid, grid]   one tensor per codebook branch ("vis", "sem", ...)
 *     index     I64 [n]               position of each row's image in the input list
 *     class     I64 [n]               class id of the image (top-level folder or the tar sample's
 *                                     .cls; -1 for none)
 *     __metadata__: format "facet-tokens", version, shard, first, end, model_sha256,
 *                   inputs_sha256, paths (JSON array: each row's path relative to the input
 *                   root, or "<tar name>#<key>"), failed (JSON array of {index, path, reason})
 * Shards are written atomically (temporary file, fsync, rename); OUT/manifest.json lists a shard
 * only after its file is in place, and is itself replaced atomically under a lock file, so any
 * number of processes may share OUT. A re-run with the same model, input and shard size skips the
 * shards already present (resume); a different run in the same OUT is refused.
 *
 * Processes split the shards deterministically: with --shard K/N and R MPI ranks, worker
 * w = K * R + rank of N * R takes the shards s with s % (N * R) == w. Under MPI, rank 0 alone
 * writes the manifest (with every rank's shards, gathered at the end).
 *
 * Reading and decoding run on threads ahead of the model through a bounded queue
 * (tokenizer/decode_queue.h): decoding workers read folder images themselves; tar shards are
 * streamed by one reader thread that hands each sample's encoded image to the workers. Images that
 * cannot be read (facet_rgb8_decode fails, as Pillow would; unusable tar samples) are listed in
 * `failed` with the reason and never stop the run.
 *
 * Each stage is timed (summary.stages): read, decode + preprocess, model, write. The bottleneck is
 * the stage with the most seconds per thread running it, i.e. the one that alone would take the
 * longest; the model and the writes share the calling thread. */
#ifndef FACET_TOKENIZER_TOKENIZE_H
#define FACET_TOKENIZER_TOKENIZE_H

#include "core/progress.h"
#include "core/status.h"
#include "tokenizer/fqgan.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_TOKENS_VERSION = 1,
    FACET_TOKENIZE_DEFAULT_BATCH = 16,
    FACET_TOKENIZE_DEFAULT_SHARD_SIZE = 1024,
};

/* Zero-initialised fields take the defaults. */
typedef struct facet_tokenize_options {
    const char *model_path; /* FQGAN weights (tools/convert_fqgan.py) */
    const char *input;      /* image folder (scanned recursively), list file, or tar shards */
    const char *out_dir;
    facet_fqgan_backend backend;
    int batch;       /* images per model call; 0: FACET_TOKENIZE_DEFAULT_BATCH */
    int shard_size;  /* images per shard file; 0: FACET_TOKENIZE_DEFAULT_SHARD_SIZE */
    int shard_index; /* --shard K/N: K */
    int shard_count; /* N; 0 or 1: one process */
    int workers;     /* decoding threads; 0: 4 on the CPU backend, else the CPU count */
    int eval;        /* also decode every batch: PSNR/SSIM and codebook statistics */
    int mpi;         /* 1: this process is an MPI rank (facet_tokenize_mpi_begin) */
    /* optional: also write the preprocessed 8-bit crops of every image of this process's shards
     * that decoded (resumed shards included), in input-list order, as an .npz uint8
     * [n, S, S, 3] (tokenizer/npz.h): the reference batch of the ADM evaluator. Not with MPI. */
    const char *save_inputs_npz;
    facet_progress *progress; /* optional; advanced once per image */
} facet_tokenize_options;

typedef struct facet_tokenize_branch_stats {
    char name[16];
    int64_t codes_used; /* codes that occur at least once */
    double usage;       /* codes_used / codebook_size */
    double perplexity;  /* exp(entropy of the code histogram), in codes */
} facet_tokenize_branch_stats;

/* The pipeline's stages (summary.stages). */
typedef enum facet_tokenize_stage {
    FACET_STAGE_READ = 0, /* reading encoded images: files, or streaming the tars */
    FACET_STAGE_DECODE,   /* decoding + preprocessing (tokenizer/preprocess.h) */
    FACET_STAGE_MODEL,    /* the encoder (with --eval also decoding and scoring) */
    FACET_STAGE_WRITE,    /* shard files, the manifest, the --save-inputs-npz rows */
    FACET_STAGES
} facet_tokenize_stage;

/* "read", "decode+preprocess", "model", "write". */
const char *facet_tokenize_stage_name(facet_tokenize_stage stage);

typedef struct facet_tokenize_stage_time {
    double seconds; /* thread-seconds spent in the stage */
    int threads;    /* threads running it */
} facet_tokenize_stage_time;

typedef struct facet_tokenize_summary {
    int64_t images;          /* images in the input list */
    int64_t shards;          /* shards the input makes */
    int64_t assigned_shards; /* shards this process (all ranks under MPI) is responsible for */
    int64_t resumed_shards;  /* of those, already complete before this run */
    int64_t written_shards;  /* written by this run */
    int64_t encoded;         /* images tokenized by this run */
    int64_t failed;          /* images that could not be read, by this run */
    int complete;            /* the manifest lists every shard of the input */
    double seconds;          /* wall time of the tokenization loop */
    facet_tokenize_stage_time stages[FACET_STAGES]; /* this run's (all ranks' under MPI) */
    facet_tokenize_stage bottleneck;                /* the largest seconds / threads */
    double input_wait_seconds; /* the model thread waiting for decoded images */
    int64_t npz_rows;          /* rows written to save_inputs_npz */
    /* eval (options.eval): over the images tokenized by this run */
    int64_t eval_images;
    double psnr, psnr_std, ssim, ssim_std;
    int branch_count;
    facet_tokenize_branch_stats branches[FACET_FQGAN_MAX_BRANCHES];
    size_t model_bytes; /* facet_fqgan_memory_bytes */
} facet_tokenize_summary;

/* Tokenizes options->input into options->out_dir. With options->eval, also writes
 * OUT/eval.json (OUT/eval-K-of-N.json with --shard K/N). Under MPI every rank must call it;
 * every rank returns the same status and (on rank 0) the summary of all ranks. */
facet_status facet_tokenize(const facet_tokenize_options *options, facet_tokenize_summary *summary);

/* 1 when this process was started by an MPI launcher (Open MPI's mpirun sets
 * OMPI_COMM_WORLD_SIZE; PMI launchers PMI_SIZE / PMIX_RANK). */
int facet_tokenize_mpi_launched(void);
/* MPI_Init and this process's rank and the number of ranks; pair with facet_tokenize_mpi_end. */
facet_status facet_tokenize_mpi_begin(int *rank, int *ranks);
void facet_tokenize_mpi_end(void);

#ifdef __cplusplus
}
#endif
#endif
