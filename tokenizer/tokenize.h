/* Dataset tokenization: an image folder or list file -> FQGAN token shards + manifest
 * (docs/formats.md, "Token shards").
 *
 * Work is cut into shards of `shard_size` consecutive images of the sorted input list: shard s
 * holds images [s * shard_size, (s + 1) * shard_size) that decoded, as OUT/shard-%05d.safetensors:
 *     <branch>  U16 [n, grid, grid]   one tensor per codebook branch ("vis", "sem", ...)
 *     index     I64 [n]               position of each row's image in the sorted input list
 *     class     I64 [n]               class id of the image (top-level folder, -1 for none)
 *     __metadata__: format "facet-tokens", version, shard, first, end, model_sha256,
 *                   inputs_sha256, paths (JSON array: each row's path relative to the input
 *                   root), failed (JSON array of {index, path, reason})
 * Shards are written atomically (temporary file, fsync, rename); OUT/manifest.json lists a shard
 * only after its file is in place, and is itself replaced atomically under a lock file, so any
 * number of processes may share OUT. A re-run with the same model, input and shard size skips the
 * shards already present (resume); a different run in the same OUT is refused.
 *
 * Processes split the shards deterministically: with --shard K/N and R MPI ranks, worker
 * w = K * R + rank of N * R takes the shards s with s % (N * R) == w. Under MPI, rank 0 alone
 * writes the manifest (with every rank's shards, gathered at the end).
 *
 * Image decoding runs on worker threads ahead of the model through a bounded queue. Images that
 * cannot be read (facet_rgb8_decode fails, as Pillow would) are listed in `failed` with the reason
 * and never stop the run. */
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
    const char *input;      /* image folder (scanned recursively) or list file */
    const char *out_dir;
    facet_fqgan_backend backend;
    int batch;                /* images per model call; 0: FACET_TOKENIZE_DEFAULT_BATCH */
    int shard_size;           /* images per shard file; 0: FACET_TOKENIZE_DEFAULT_SHARD_SIZE */
    int shard_index;          /* --shard K/N: K */
    int shard_count;          /* N; 0 or 1: one process */
    int workers;              /* decoding threads; 0: 4 on the CPU backend, else the CPU count */
    int eval;                 /* also decode every batch: PSNR/SSIM and codebook statistics */
    int mpi;                  /* 1: this process is an MPI rank (facet_tokenize_mpi_begin) */
    facet_progress *progress; /* optional; advanced once per image */
} facet_tokenize_options;

typedef struct facet_tokenize_branch_stats {
    char name[16];
    int64_t codes_used; /* codes that occur at least once */
    double usage;       /* codes_used / codebook_size */
    double perplexity;  /* exp(entropy of the code histogram), in codes */
} facet_tokenize_branch_stats;

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
