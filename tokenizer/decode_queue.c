/* The decoding stage of facet tokenize (decode_queue.h). */
#include "decode_queue.h"

#include "core/alloc.h"
#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum slot_state { SLOT_EMPTY = 0, SLOT_FETCHED, SLOT_DECODING, SLOT_READY } slot_state;

typedef struct slot {
    slot_state state;
    facet_encoded encoded; /* SLOT_FETCHED (reader): the bytes waiting for a worker */
    facet_decoded out;     /* SLOT_READY */
    char *reason;          /* out.reason's storage */
    float *chw;            /* [3, S, S] */
    facet_rgb8 crop;
} slot;

struct facet_decode_queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    facet_decode_queue_options o;
    slot *slots;
    int64_t next_decode; /* the next job a worker takes */
    int64_t fetched;     /* jobs the reader has put */
    int64_t consumed;    /* jobs released */
    size_t pending_bytes;
    int stop;
    pthread_t *threads;
    int thread_count;
    pthread_t reader;
    int reader_started;
    double fetch_seconds, decode_seconds, wait_seconds, reader_blocked;
};

/* RIFF....WEBP: named in the reason, as facet's decoders do not read WebP. */
static int is_webp(const unsigned char *data, size_t size) {
    return size >= 12 && !memcmp(data, "RIFF", 4) && !memcmp(data + 8, "WEBP", 4);
}

static void decode(facet_decode_queue *q, slot *s, facet_encoded *in) {
    facet_status status = FACET_ERR_FORMAT;
    if (!in->reason) {
        status = facet_preprocess_image(in->data, in->size, q->o.image_size,
                                        q->o.keep_crop ? &s->crop : NULL, s->chw);
        if (status != FACET_OK)
            in->reason = is_webp(in->data, in->size)
                             ? facet_strdup("WebP image: facet decodes JPEG, PNG, BMP, GIF, TGA, "
                                            "PSD and PNM, not WebP")
                             : facet_strdup(facet_last_error());
    }
    s->reason = in->reason;
    in->reason = NULL;
    s->out.status = status;
    s->out.reason = s->reason ? s->reason : "";
    s->out.class_id = in->class_id;
    s->out.chw = s->chw;
    s->out.crop = &s->crop;
    free(in->data);
    in->data = NULL;
}

static void *worker(void *arg) {
    facet_decode_queue *q = arg;
    double decode_seconds = 0.0, fetch_seconds = 0.0;
    pthread_mutex_lock(&q->lock);
    while (!q->stop && q->next_decode < q->o.job_count) {
        const int64_t job = q->next_decode;
        /* tar inputs: the reader has put the job; folders: its slot is free */
        const int available = q->o.produce ? job < q->fetched : job < q->consumed + q->o.capacity;
        if (!available) {
            pthread_cond_wait(&q->changed, &q->lock);
            continue;
        }
        q->next_decode++;
        slot *s = &q->slots[job % q->o.capacity];
        facet_encoded in = {NULL, 0, -1, NULL};
        if (q->o.produce) {
            in = s->encoded;
            memset(&s->encoded, 0, sizeof s->encoded);
        }
        s->state = SLOT_DECODING;
        s->out.job = job;
        pthread_mutex_unlock(&q->lock);

        if (!q->o.produce) {
            const double t0 = facet_seconds();
            q->o.fetch(q->o.context, job, &in);
            fetch_seconds += facet_seconds() - t0;
        }
        const size_t bytes = in.size;
        const double t1 = facet_seconds();
        decode(q, s, &in);
        decode_seconds += facet_seconds() - t1;

        pthread_mutex_lock(&q->lock);
        if (q->o.produce) q->pending_bytes -= bytes;
        s->state = SLOT_READY;
        pthread_cond_broadcast(&q->changed);
    }
    q->decode_seconds += decode_seconds;
    q->fetch_seconds += fetch_seconds;
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int facet_decode_queue_put(facet_decode_queue *q, int64_t job, facet_encoded *in) {
    pthread_mutex_lock(&q->lock);
    const double t0 = facet_seconds();
    while (!q->stop &&
           (job >= q->consumed + q->o.capacity ||
            (q->pending_bytes > 0 && q->pending_bytes + in->size > FACET_DECODE_QUEUE_BYTES)))
        pthread_cond_wait(&q->changed, &q->lock);
    q->reader_blocked += facet_seconds() - t0;
    const int stop = q->stop || job != q->fetched;
    if (!stop) {
        slot *s = &q->slots[job % q->o.capacity];
        s->encoded = *in;
        s->state = SLOT_FETCHED;
        q->pending_bytes += in->size;
        q->fetched = job + 1;
        memset(in, 0, sizeof *in);
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    if (stop) {
        free(in->data);
        free(in->reason);
        memset(in, 0, sizeof *in);
    }
    return stop;
}

static void *reader(void *arg) {
    facet_decode_queue *q = arg;
    const double t0 = facet_seconds();
    q->o.produce(q->o.context, q);
    const double total = facet_seconds() - t0;
    /* a reader that ended early leaves the remaining jobs with a reason, so no one waits forever */
    for (int64_t job = q->fetched; job < q->o.job_count; job++) {
        facet_encoded e = {NULL, 0, -1, facet_strdup("not delivered by the tar reader")};
        if (facet_decode_queue_put(q, job, &e)) break;
    }
    pthread_mutex_lock(&q->lock);
    q->fetch_seconds += total - q->reader_blocked;
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

facet_status facet_decode_queue_start(facet_decode_queue **out,
                                      const facet_decode_queue_options *o) {
    *out = NULL;
    facet_decode_queue *q = facet_alloc_zeroed(1, sizeof *q);
    if (!q) return facet_last_status();
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->changed, NULL);
    q->o = *o;
    *out = q;
    q->slots = facet_alloc_zeroed((size_t)o->capacity, sizeof *q->slots);
    q->threads = facet_alloc((size_t)o->workers, sizeof(pthread_t));
    if (!q->slots || !q->threads) return facet_last_status();
    const size_t floats = 3 * (size_t)o->image_size * o->image_size;
    for (int i = 0; i < o->capacity; i++)
        if (!(q->slots[i].chw = facet_alloc(floats, sizeof(float)))) return facet_last_status();
    for (int i = 0; i < o->workers; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
            return facet_fail(FACET_ERR_INTERNAL, "cannot start decoding thread %d", i);
        q->thread_count = i + 1;
    }
    if (o->produce) {
        if (pthread_create(&q->reader, NULL, reader, q) != 0)
            return facet_fail(FACET_ERR_INTERNAL, "cannot start the tar reading thread");
        q->reader_started = 1;
    }
    return FACET_OK;
}

const facet_decoded *facet_decode_queue_wait(facet_decode_queue *q, int64_t job) {
    slot *s = &q->slots[job % q->o.capacity];
    const double t0 = facet_seconds();
    pthread_mutex_lock(&q->lock);
    while (!(s->state == SLOT_READY && s->out.job == job)) pthread_cond_wait(&q->changed, &q->lock);
    q->wait_seconds += facet_seconds() - t0;
    pthread_mutex_unlock(&q->lock);
    return &s->out;
}

void facet_decode_queue_release(facet_decode_queue *q, int64_t job) {
    slot *s = &q->slots[job % q->o.capacity];
    free(s->reason);
    s->reason = NULL;
    facet_rgb8_free(&s->crop);
    pthread_mutex_lock(&q->lock);
    s->state = SLOT_EMPTY;
    q->consumed = job + 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

void facet_decode_queue_free(facet_decode_queue *q, facet_decode_timing *timing) {
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    if (q->reader_started) pthread_join(q->reader, NULL);
    for (int i = 0; i < q->thread_count; i++) pthread_join(q->threads[i], NULL);
    if (timing) {
        timing->fetch = q->fetch_seconds;
        timing->decode = q->decode_seconds;
        timing->wait = q->wait_seconds;
        timing->fetch_threads = q->o.produce ? 1 : q->o.workers;
        timing->decode_threads = q->o.workers;
    }
    for (int i = 0; q->slots && i < q->o.capacity; i++) {
        slot *s = &q->slots[i];
        free(s->encoded.data);
        free(s->encoded.reason);
        free(s->reason);
        free(s->chw);
        facet_rgb8_free(&s->crop);
    }
    free(q->slots);
    free(q->threads);
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
