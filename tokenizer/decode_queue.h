/* The decoding stage of facet tokenize: encoded images in, preprocessed tensors out, in job order,
 * on worker threads ahead of the model.
 *
 *     folder inputs:  workers: fetch (read the file) + decode  ->  slots  ->  consumer (model)
 *     tar inputs:     reader thread: fetch (stream the tars)  ->  workers: decode  ->  slots  ->
 *                     consumer
 *
 * Jobs are numbered 0 .. job_count - 1 in the consumer's order. Job j lives in slot j % capacity
 * from its fetch until the consumer releases it, so nothing runs more than `capacity` jobs ahead
 * of the consumer. With a reader, the encoded bytes fetched but not yet decoded are also capped
 * at FACET_DECODE_QUEUE_BYTES (one larger image passes alone), so memory stays bounded whatever
 * the input. The reader must put every job exactly once, in order (facet_decode_queue_put).
 *
 * Decoding is facet_preprocess_image (tokenizer/preprocess.h): the [3, S, S] tensor in [-1, 1]
 * and, with keep_crop, the 8-bit S x S crop. A job whose fetch gave a reason, or whose bytes do
 * not decode, comes out with status != FACET_OK and the reason.
 *
 * Timing, in thread-seconds: `fetch` is the readers' time fetching (reader thread: streaming,
 * excluding its waits for free slots; folder workers: file reads), `decode` the workers' decoding
 * and preprocessing, `wait` the consumer's time waiting for a job. */
#ifndef FACET_TOKENIZER_DECODE_QUEUE_H
#define FACET_TOKENIZER_DECODE_QUEUE_H

#include "core/status.h"
#include "tokenizer/preprocess.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_DECODE_QUEUE_BYTES ((size_t)256 << 20)

/* One fetched input. */
typedef struct facet_encoded {
    unsigned char *data; /* the encoded image (owned), or NULL with `reason` */
    size_t size;
    int64_t class_id; /* -1 for none */
    char *reason;     /* non-NULL: the input cannot be used (owned) */
} facet_encoded;

typedef struct facet_decode_queue facet_decode_queue;

/* Folder inputs: fills `out` for job `job`; runs on a worker thread. */
typedef void (*facet_decode_fetch)(void *context, int64_t job, facet_encoded *out);
/* Tar inputs: puts jobs 0, 1, ... in order with facet_decode_queue_put; runs on its own thread
 * and returns when done or when put returns nonzero (the queue stops). */
typedef void (*facet_decode_produce)(void *context, facet_decode_queue *queue);

typedef struct facet_decode_queue_options {
    int64_t job_count;
    int image_size; /* S */
    int capacity;   /* slots */
    int workers;    /* decoding threads */
    int keep_crop;
    facet_decode_fetch fetch;     /* exactly one of fetch and produce */
    facet_decode_produce produce; /* */
    void *context;
} facet_decode_queue_options;

/* A decoded job, as the consumer sees it (valid until facet_decode_queue_release). */
typedef struct facet_decoded {
    int64_t job;
    facet_status status;
    const char *reason; /* status != FACET_OK */
    int64_t class_id;
    const float *chw;       /* [3, S, S] */
    const facet_rgb8 *crop; /* keep_crop: the S x S crop */
} facet_decoded;

typedef struct facet_decode_timing {
    double fetch, decode, wait; /* thread-seconds */
    int fetch_threads, decode_threads;
} facet_decode_timing;

/* Starts the threads. On failure nothing is left running (facet_decode_queue_free still works). */
facet_status facet_decode_queue_start(facet_decode_queue **queue,
                                      const facet_decode_queue_options *options);
/* The reader hands over job `job` (taking out->data and out->reason); nonzero: stop producing. */
int facet_decode_queue_put(facet_decode_queue *queue, int64_t job, facet_encoded *encoded);
/* Waits for job `job` (the next one not yet released). */
const facet_decoded *facet_decode_queue_wait(facet_decode_queue *queue, int64_t job);
void facet_decode_queue_release(facet_decode_queue *queue, int64_t job);
/* Stops and joins the threads (pending jobs are dropped), reports the timing, frees. */
void facet_decode_queue_free(facet_decode_queue *queue, facet_decode_timing *timing);

#ifdef __cplusplus
}
#endif
#endif
