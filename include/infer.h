/* infer: run trained models from C in memory you own.
 *
 * Usage:
 *   size_t need;
 *   infer_arena_size(model_bytes, model_len, &need);
 *   void *arena = malloc(need);                      // any 16-byte aligned block
 *   infer_model *m;
 *   if (infer_open(model_bytes, model_len, arena, need, &m) != INFER_OK) puts(infer_last_error());
 *   infer_run(m, input, infer_input_len(m), output, infer_output_len(m));
 *
 * Memory. The caller owns everything: the model bytes (used in place, never copied: keep them
 * alive and unchanged while the model is open; any address works, 64-byte alignment is fastest)
 * and one arena (16-byte aligned, as malloc returns) of exactly infer_arena_size() bytes, which
 * covers infer_run and infer_classify_png* for any PNG within the size limit. Nothing is freed:
 * drop the model by freeing or reusing its arena. After infer_open, infer_run and
 * infer_classify_png* make no heap allocation at all (libpng's memory comes from the arena).
 *
 * Threads. A model's scratch buffers live in its arena, so one model must not run on two threads
 * at once. Separate models (each in its own arena, possibly from the same model bytes) may run
 * concurrently. infer_last_error() is per thread. The first infer_open of a model with matrix
 * products (a sequence model) selects OpenBLAS's kernel family for this CPU and sets OpenBLAS to
 * one thread, process-wide, because OpenBLAS's threaded calls allocate; a program may raise the
 * thread count for its own BLAS work afterwards, at the cost of allocations in sequence calls.
 * Other models' inference does not call BLAS.
 *
 * PNG input (models whose input is one channel of image pixels, such as MNIST digits): 1, 2, 4, 8
 * or 16-bit; gray, gray+alpha, RGB, RGBA or palette; interlaced or not; at most 1024 x 1024 pixels
 * (larger images are refused from their header, before decoding). Every image is first converted
 * to 8-bit gray (BT.709 luminance; alpha composited onto white), then prepared as MNIST's digits
 * were: inverted when the border is light, the border's remaining level subtracted, the bounding
 * box of all ink scaled (area-averaged, keeping its aspect ratio) so its longer side is 20 pixels
 * (for a 28x28 input), and placed so its centre of mass falls on the centre pixel (row and column
 * 14 of 28), to a fraction of a pixel. An image that already is so prepared (the input's size, its
 * ink within the 20x20 box, centred to a pixel, as MNIST's own digits are) goes in as it is
 * (pixel / 255, after the inversion if its background is light).
 */
#ifndef INFER_H
#define INFER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct infer_model infer_model;            /* opaque; lives inside the caller's arena */

typedef enum infer_status {
    INFER_OK = 0,
    INFER_E_ARGUMENT = 1,  /* NULL pointer or impossible length */
    INFER_E_FORMAT   = 2,  /* not a model file, corrupt, or checksum mismatch */
    INFER_E_VERSION  = 3,  /* format version not supported */
    INFER_E_ARENA    = 4,  /* arena too small: ask infer_arena_size */
    INFER_E_IO       = 5,  /* file cannot be read */
    INFER_E_IMAGE    = 6,  /* not a decodable PNG, or too large */
    INFER_E_SHAPE    = 7   /* input or output length does not match the model */
} infer_status;

/* What a model's outputs are: infer_output_kind() returns one of these. A caller tells models with
 * probabilities from those without by this value, never by the model's name:
 *   PROBABILITIES: MLPs and CNNs trained with softmax cross-entropy, softmax regression, and
 *                  two-class logistic regression (outputs [P(class 0), P(class 1)]).
 *   SCORES:        perceptrons, linear and kernel SVMs (one-vs-all: per-class decision values;
 *                  one-vs-one: votes plus a tie-breaking term below 1/3), k-NN classifiers (the
 *                  fraction of the k nearest neighbours in each class), one-vs-all logistic
 *                  regression (each class's own sigmoid; they need not sum to 1).
 *   VALUES:        regression: least squares, ridge, lasso, kernel ridge, k-NN and kernel
 *                  smoothing regression.
 * For every kind of classifier the predicted class is the index of the largest output (the lowest
 * index on a tie), which is what infer_classify_png* report. */
typedef enum infer_output_type {
    INFER_OUTPUT_VALUES        = 0, /* regression outputs */
    INFER_OUTPUT_PROBABILITIES = 1, /* class probabilities, summing to 1 */
    INFER_OUTPUT_SCORES        = 2  /* class scores: larger is more likely, not probabilities */
} infer_output_type;

/* A short, static description of a status. Never NULL. */
const char  *infer_status_string(infer_status status);

/* Details of this thread's last failure (for example the bytes needed, given and missing), or ""
 * after a success of infer_arena_size / infer_open. Valid until this thread's next call. */
const char  *infer_last_error(void);

/* Validates the model bytes and stores in *arena_len the exact arena size infer_open needs. */
infer_status infer_arena_size(const void *model, size_t model_len, size_t *arena_len);

/* Validates the model (checksum included) and lays it out in the arena. On success *out is the
 * model; on failure *out is NULL. INFER_E_ARENA when arena_len is below infer_arena_size. */
infer_status infer_open(const void *model, size_t model_len, void *arena, size_t arena_len, infer_model **out);

/* Floats one input holds / one output holds; 0 for NULL. */
size_t       infer_input_len(const infer_model *model);
size_t       infer_output_len(const infer_model *model);

/* One of infer_output_type (-1 for NULL). */
int          infer_output_kind(const infer_model *model);

/* Runs one input. input_len and output_len must equal infer_input_len / infer_output_len.
 * Probability models return probabilities (softmax applied); others their raw outputs. */
infer_status infer_run(infer_model *model, const float *input, size_t input_len, float *output, size_t output_len);

/* Decodes a PNG file or PNG bytes, prepares it as described above, runs the model and stores the
 * predicted class (the largest output) in *label. probs receives all outputs when probs_len equals
 * infer_output_len; probs may be NULL when probs_len is 0. */
infer_status infer_classify_png(infer_model *model, const char *path, int *label, float *probs, size_t probs_len);
infer_status infer_classify_png_memory(infer_model *model, const void *png, size_t png_len, int *label,
                                       float *probs, size_t probs_len);

/* Sequence models (a character GPT written by `train --model gpt --output`): byte-level text in
 * and out through the model's vocabulary. Other models return INFER_E_SHAPE from these calls.
 * Cost, two regimes: while the sequence holds at most infer_context_len tokens, a causal model
 * (GPT) decodes one position per token from keys and values cached in the arena: one row of
 * every product, plus attention over the tokens so far (probabilities equal the whole window's
 * within about 1e-6). Past the context, each infer_next and each generated byte runs the model
 * on the last infer_context_len tokens (nanoGPT's cropping; positions shift, so nothing cached
 * applies), the last block and the head for the last position only: about context times the
 * work. Models without a causal mask (masked-token encoders) always run the whole window. No call
 * allocates. Measured for nanoGPT's CPU configuration (4 blocks, width 128, context 64), one
 * thread, with Benchmarks/c/gpt_bench.c: on an Intel Xeon (family 6, model 207) about 150 us per
 * token within the context and 1.5-1.8 ms past it (PyTorch eager without a cache: 2.3-2.6 ms in
 * both regimes, in the same run); on an AMD EPYC (family 25, model 17) 64-65 us and 1.54-1.61 ms
 * (PyTorch 1.53-3.38 ms and 2.04-2.27 ms). */
size_t infer_vocab_len(const infer_model *model);    /* 0 for models that are not sequence models */
size_t infer_context_len(const infer_model *model);  /* tokens the model attends over */
/* Bytes to token ids with the model's vocabulary; a byte outside it is INFER_E_ARGUMENT. */
infer_status infer_tokenize(const infer_model *model, const char *text, size_t text_len,
                            int *tokens, size_t tokens_cap, size_t *n_tokens);
/* Clears the cached keys and values: the next infer_next starts a new sequence. */
infer_status infer_reset(infer_model *model);
/* Appends one token and writes the next token's probabilities (infer_vocab_len floats). Once the
 * sequence is longer than infer_context_len, the result equals running the model on the last
 * infer_context_len tokens, as nanoGPT's generate does. */
infer_status infer_next(infer_model *model, int token, float *probs, size_t probs_len);
/* Resets, feeds the prompt, then samples max_new bytes (temperature 0: greedy; top_k 0: all),
 * deterministically for a seed, into out (out_cap bytes); *out_len receives the count. */
infer_status infer_generate(infer_model *model, const char *prompt, size_t prompt_len, size_t max_new,
                            float temperature, int top_k, unsigned long long seed,
                            char *out, size_t out_cap, size_t *out_len);

/* Generative models (a GAN's generator written by `train --model gan --output`): a sample draws
 * the latent z ~ N(0, I) of infer_input_len floats from the seed with the runtime's generator and
 * maps it to an image; infer_run maps a given z. The PNG holds round(255 * pixel) and is written
 * atomically ("<path>.tmp", synced, renamed over path); libpng's memory is in the arena. Cost: one
 * pass of the generator, no allocation. */
/* Generative models: one sample (infer_output_len floats; images in [0, 1]) drawn with this seed;
 * the same seed gives the same sample. Other models: INFER_E_SHAPE. Diffusion models use the
 * sampler and step count stored in the file. */
infer_status infer_sample(infer_model *model, unsigned long long seed, float *out, size_t out_len);
/* The same sample written as an 8-bit grayscale PNG file. */
infer_status infer_sample_png(infer_model *model, unsigned long long seed, const char *path);
/* Models with an exact density (flows): log p(input) in nats, the density over [0, 1]^n of an
 * input of infer_input_len floats in [0, 1] (for a dequantised digit x = (pixel + u) / 256, bits
 * per dimension = (−log p + n·ln 256) / (n·ln 2)). Other models: INFER_E_SHAPE. */
infer_status infer_log_density(infer_model *model, const float *input, size_t input_len, double *log_density);

#ifdef __cplusplus
}
#endif

#endif /* INFER_H */
