/*
 * hypermoe: the C API of a CPU inference runtime for HyperMoE language models.
 *
 * Conventions
 * - Handles are opaque: hmoe_model (a loaded, immutable model) and hmoe_session (one
 *   sequence: its KV cache, token history, sampler). One model serves any number of
 *   sessions on any number of threads; a session is used by one thread at a time.
 * - Every call that can fail returns an hmoe_status, the category of the problem as
 *   found where it was found (HMOE_ERR_IO: a file cannot be read; HMOE_ERR_BAD_FILE:
 *   it is not a usable model, including weights that produce non-finite values;
 *   HMOE_ERR_INVALID_ARGUMENT: a value of the caller's). On failure, hmoe_last_error()
 *   says why, as "<function>: <reason>" (the file, the tensor, the value and its
 *   allowed range); it is thread-local and stays valid until this thread's next hmoe_*
 *   call that returns a status. Output arguments are left untouched on failure unless
 *   documented.
 * - Params structs come from hmoe_*_default_params(); change only the fields you
 *   need, so new fields keep working defaults. A NULL params pointer means defaults.
 *   An enum field outside its listed values, or a bool field whose byte is neither 0
 *   nor 1, is refused (HMOE_ERR_INVALID_ARGUMENT), never acted on.
 * - No C++ exception ever leaves this API; out-of-memory is HMOE_ERR_OUT_OF_MEMORY.
 * - Token ids are int32_t; counts and capacities are size_t.
 * - Threads: every params struct's default n_threads is OpenMP's count
 *   (OMP_NUM_THREADS, else the processors this process may run on), capped at the
 *   number of those processors, so a mistaken OMP_NUM_THREADS=100000 runs as many
 *   threads as there are processors. An explicit count may be up to HMOE_MAX_THREADS.
 * - Model files are mapped, not read. A file truncated by another process while it is
 *   mapped makes the next access to the lost pages raise SIGBUS, which ends the
 *   process unless it handles that signal, as with every runtime that maps its weights
 *   (llama.cpp, safetensors). Replace a model file by renaming a new one over it (the
 *   running process keeps the old one), never by rewriting it in place.
 */
#ifndef HYPERMOE_H
#define HYPERMOE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(HYPERMOE_SHARED)
#  if defined(HYPERMOE_BUILD)
#    define HMOE_API __declspec(dllexport)
#  else
#    define HMOE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define HMOE_API __attribute__((visibility("default")))
#else
#  define HMOE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of this header (the shared library's SONAME
 * carries the project's major version). */
#define HMOE_API_VERSION 2

/* Threads a model or session may be given: [1, HMOE_MAX_THREADS]. */
#define HMOE_MAX_THREADS 4096

typedef enum hmoe_status {
  HMOE_OK = 0,
  HMOE_ERR_INVALID_ARGUMENT = 1, /* a NULL handle or pointer, a value out of range */
  HMOE_ERR_IO = 2,               /* a file cannot be opened or read */
  HMOE_ERR_BAD_FILE = 3,         /* the file is not a valid .hmoe model (size, dtype, tensor...) */
  HMOE_ERR_OUT_OF_MEMORY = 4,
  HMOE_ERR_CONTEXT_FULL = 5,     /* the tokens do not fit the session's context */
  HMOE_ERR_BUFFER_TOO_SMALL = 6, /* the caller's buffer is too small; the size needed is returned */
  HMOE_ERR_UNSUPPORTED = 7,      /* e.g. text calls on a model without a tokenizer */
  HMOE_ERR_INTERNAL = 8          /* a bug: please report the message */
} hmoe_status;

/* A static name for a status ("HMOE_ERR_BAD_FILE"); "unknown status" for other values. */
HMOE_API const char* hmoe_status_name(hmoe_status status);
/* Why this thread's last failing call failed; "" after a call that succeeded. Never NULL. */
HMOE_API const char* hmoe_last_error(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
HMOE_API const char* hmoe_version(void);
/* The SIMD target the kernels run on this CPU, in Highway's names in lower case
 * ("avx3_dl", "avx2", "neon", "scalar", ...); the environment variable
 * HMOE_SIMD_TARGET=<name> forces one. "unknown" when that variable names no target
 * this build and CPU can run. The string lives as long as the process. */
HMOE_API const char* hmoe_simd_target(void);

/* ---------------------------------------------------------------------------------- */
/* Models                                                                             */

typedef struct hmoe_model hmoe_model;

typedef struct hmoe_model_params {
  /* Memory for the HyperExpert cache, in MiB. When all (layer, expert set) HyperExperts
   * fit they are generated at load; otherwise on demand with LRU eviction. [0, 2^30]. */
  int64_t hyper_cache_mb;
  /* Threads that fill the cache at load: [1, HMOE_MAX_THREADS]. Default: see Threads
   * above. */
  int32_t n_threads;
  /* false: generate HyperExperts on first use even when all of them fit the budget
   * (a faster load when few expert sets occur). Default true. */
  bool hyper_precompute;
  /* --- appended in 0.2 --- */
  /* true: read the header and the tokenizer only, as llama.cpp's vocab_only: the
   * weights are neither checked nor used, so a file that holds a tokenizer and no
   * usable weights loads. Info, metadata and the text calls work; sessions are
   * HMOE_ERR_UNSUPPORTED. Default false. */
  bool vocab_only;
} hmoe_model_params;

HMOE_API hmoe_model_params hmoe_model_default_params(void);

/* Maps the file read-only; weights are used in place. */
HMOE_API hmoe_status hmoe_model_load(const char* path, const hmoe_model_params* params, hmoe_model** out_model);
/* Loads from a caller's buffer, which is copied: it may be freed as soon as this returns. */
HMOE_API hmoe_status hmoe_model_load_from_memory(const void* data, size_t size, const hmoe_model_params* params,
                                                 hmoe_model** out_model);
/* Sessions keep what they need of the model alive: freeing the model while sessions
 * exist is allowed. NULL is ignored. */
HMOE_API void hmoe_model_free(hmoe_model* model);

typedef struct hmoe_model_info {
  int32_t n_vocab;
  int32_t n_ctx_train; /* n_positions: the longest context the model supports */
  int32_t n_embd;
  int32_t n_layer;
  int32_t n_head;
  int32_t n_experts;
  int32_t top_k;       /* experts per token */
  bool use_hypernet;   /* false: plain MoE, no HyperExpert */
  bool hyper_baked;    /* the HyperExpert tables are stored in the file */
  bool has_tokenizer;  /* text calls work; otherwise the model takes token ids only */
  int32_t eos_id;      /* -1 when the model has none */
  int32_t bos_id;      /* -1 when the model has none */
  uint64_t file_size;  /* bytes */
  /* --- appended in 0.2 --- */
  bool encoder_decoder;      /* sessions encode an input (hmoe_session_encode) before decoding */
  int32_t n_decoder_layer;   /* encoder-decoder: the decoder's blocks (n_layer: the encoder's); else 0 */
  int32_t decoder_start_id;  /* encoder-decoder: the token every answer starts from; else -1 */
} hmoe_model_info;

HMOE_API hmoe_status hmoe_model_get_info(const hmoe_model* model, hmoe_model_info* out_info);

/* The model's architecture ("gpt2-hypermoe", "switch-hypermoe"): static storage. NULL
 * only for a NULL model. */
HMOE_API const char* hmoe_model_architecture(const hmoe_model* model);
/* The hyper-parameters the model's architecture declares, by index from 0, in the order
 * `hmoe inspect` lists them: *out_name (static storage) and *out_value (integers, flags
 * as 0/1, and epsilons alike). An index past the last is HMOE_ERR_INVALID_ARGUMENT, so a
 * loop from 0 until it fails lists them all. Either output may be NULL. */
HMOE_API hmoe_status hmoe_model_get_hparam(const hmoe_model* model, size_t index, const char** out_name,
                                           double* out_value);

/* The value of a metadata key ("general.name") as a NUL-terminated string in `buf`.
 * *out_len (optional) receives its length without the NUL; when it does not fit
 * `capacity` the call fails with HMOE_ERR_BUFFER_TOO_SMALL and *out_len is still set.
 * A missing key is HMOE_ERR_INVALID_ARGUMENT. */
HMOE_API hmoe_status hmoe_model_get_metadata(const hmoe_model* model, const char* key, char* buf, size_t capacity,
                                             size_t* out_len);

typedef enum hmoe_hyper_cache_mode {
  HMOE_HYPER_CACHE_NONE = 0,        /* plain MoE model: no HyperExpert, no cache */
  HMOE_HYPER_CACHE_BAKED = 1,       /* the tables are read from the file */
  HMOE_HYPER_CACHE_PRECOMPUTED = 2, /* every HyperExpert was generated at load */
  HMOE_HYPER_CACHE_ON_DEMAND = 3    /* generated on first use, evicted least-recently-used */
} hmoe_hyper_cache_mode;

typedef struct hmoe_hyper_cache_stats {
  hmoe_hyper_cache_mode mode;  /* NONE: everything below is 0 */
  uint64_t hits;               /* lookups answered without running the hypernetwork */
  uint64_t misses;             /* HyperExperts generated on demand */
  uint64_t evictions;
  uint64_t entries;            /* held now */
  uint64_t bytes;              /* held now (baked: the tables' bytes in the file) */
  uint64_t budget_bytes;
  uint64_t entry_bytes;        /* one HyperExpert */
  uint64_t capacity_entries;   /* HyperExperts the budget holds */
  uint64_t patterns_per_layer; /* C(n_experts, top_k) */
} hmoe_hyper_cache_stats;

/* Shared by all sessions of the model; safe to call while they run. */
HMOE_API hmoe_status hmoe_model_get_hyper_cache_stats(const hmoe_model* model, hmoe_hyper_cache_stats* out_stats);

typedef struct hmoe_model_load_stats {
  double load_seconds;       /* hmoe_model_load* from call to return */
  double hyper_fill_seconds; /* of those, generating every HyperExpert (0 unless PRECOMPUTED) */
} hmoe_model_load_stats;

/* How long loading took, and how much of it filled the HyperExpert cache: on a
 * GPT-2-small model most of it, which hyper_precompute = false skips. */
HMOE_API hmoe_status hmoe_model_get_load_stats(const hmoe_model* model, hmoe_model_load_stats* out_stats);

/* ---------------------------------------------------------------------------------- */
/* Text (models with a tokenizer; others fail with HMOE_ERR_UNSUPPORTED)               */

enum {
  HMOE_TOKENIZE_SPECIAL = 1 << 0,            /* "<|endoftext|>" in the text becomes its id */
  HMOE_TOKENIZE_ALLOW_INVALID_UTF8 = 1 << 1, /* encode bytes that are not UTF-8 instead of failing */
};
enum {
  HMOE_DETOKENIZE_SKIP_SPECIAL = 1 << 0,
};

/* Tokenizes text[0, text_len) into `ids`. *out_n receives the number of ids, also when
 * `capacity` is too small (HMOE_ERR_BUFFER_TOO_SMALL), so a NULL/0 call sizes the buffer. */
HMOE_API hmoe_status hmoe_tokenize(const hmoe_model* model, const char* text, size_t text_len, uint32_t flags,
                                   int32_t* ids, size_t capacity, size_t* out_n);
/* The token's spelling in the vocabulary, NUL-terminated: GPT-2's byte-level alphabet
 * ("\xc4\xa0the", i.e. "Gthe" with a dotted G, for " the"; "<|endoftext|>" for
 * end-of-text). For the bytes a token stands for, use hmoe_detokenize. *out_len as for
 * hmoe_detokenize; an id outside the tokenizer's vocabulary is HMOE_ERR_INVALID_ARGUMENT. */
HMOE_API hmoe_status hmoe_token_text(const hmoe_model* model, int32_t id, char* buf, size_t capacity,
                                     size_t* out_len);
/* The bytes of `ids`, NUL-terminated. *out_len receives their length without the NUL,
 * also when `capacity` is too small (HMOE_ERR_BUFFER_TOO_SMALL). */
HMOE_API hmoe_status hmoe_detokenize(const hmoe_model* model, const int32_t* ids, size_t n_ids, uint32_t flags,
                                     char* buf, size_t capacity, size_t* out_len);

/* ---------------------------------------------------------------------------------- */
/* Sessions                                                                           */

typedef struct hmoe_session hmoe_session;

typedef enum hmoe_hyper_mode {
  HMOE_HYPER_TABLE = 0,     /* look HyperExperts up in the model's cache (fast) */
  HMOE_HYPER_PER_TOKEN = 1  /* run the hypernetwork for every token, as the paper's code */
} hmoe_hyper_mode;

/* Applied in this order: repetition penalty, temperature, top-k, top-p, draw.
 * Defaults (hmoe_sampling_default_params, also `hmoe run`'s, which prints them in its
 * --help): temperature 0.8, top_k 40, top_p 0.95 (llama.cpp's), repetition_penalty 1
 * (off; penalty_last_n 64 when it is on), seed 0 (`hmoe run` draws a random seed unless
 * given one, and prints it). Temperature 0 alone is then greedy decoding. */
typedef struct hmoe_sampling_params {
  float temperature;         /* >= 0; 0 is greedy (argmax, lowest id on ties) */
  int32_t top_k;             /* >= 0; 0 keeps every token */
  float top_p;               /* (0, 1]; 1 keeps every token */
  float repetition_penalty;  /* > 0; 1 is off, > 1 discourages repeats */
  int32_t penalty_last_n;    /* tokens of the history the penalty sees; -1 all */
  uint64_t seed;             /* the same seed and logits give the same tokens everywhere */
} hmoe_sampling_params;

HMOE_API hmoe_sampling_params hmoe_sampling_default_params(void);
/* HMOE_OK when hmoe_session_create and hmoe_session_set_sampling would accept the
 * params, else HMOE_ERR_INVALID_ARGUMENT naming the field: for a front end that checks
 * its options before it loads a model. */
HMOE_API hmoe_status hmoe_sampling_params_check(const hmoe_sampling_params* params);

typedef struct hmoe_session_params {
  int32_t n_threads;         /* [1, HMOE_MAX_THREADS]; default: OpenMP's */
  int32_t n_ctx;             /* context length in tokens; 0: the model's n_ctx_train */
  hmoe_hyper_mode hyper_mode;
  hmoe_sampling_params sampling;
} hmoe_session_params;

HMOE_API hmoe_session_params hmoe_session_default_params(void);

HMOE_API hmoe_status hmoe_session_create(const hmoe_model* model, const hmoe_session_params* params,
                                         hmoe_session** out_session);
HMOE_API void hmoe_session_free(hmoe_session* session);

/* Runs `ids` after the tokens already in the context and keeps the last token's logits
 * (hmoe_session_get_logits). Nothing changes when it fails (a token outside the
 * vocabulary: HMOE_ERR_INVALID_ARGUMENT; too many tokens: HMOE_ERR_CONTEXT_FULL).
 * HMOE_ERR_BAD_FILE: the model's weights proved unusable for an expert set first met
 * here (its generated HyperExpert does not fit the cache's precision); when the cache
 * is filled at load, hmoe_model_load refuses such a file instead. */
HMOE_API hmoe_status hmoe_session_eval(hmoe_session* session, const int32_t* ids, size_t n_ids);
/* Encoder-decoder models (hmoe_model_info.encoder_decoder), as llama.cpp's llama_encode:
 * runs the encoder over `ids` (the input's tokens, ending with its end token as the model
 * was trained) and empties the decoder's context, so the next eval or generate decodes an
 * answer to this input; hmoe_generate with an empty prompt then starts from the model's
 * decoder_start_id. The input stays until the next encode. HMOE_ERR_UNSUPPORTED for
 * decoder-only models; HMOE_ERR_CONTEXT_FULL for an input longer than n_ctx_train;
 * HMOE_ERR_INVALID_ARGUMENT for ids outside the vocabulary (nothing changes then). */
HMOE_API hmoe_status hmoe_session_encode(hmoe_session* session, const int32_t* ids, size_t n_ids);
/* As hmoe_session_eval, and writes the logits of every position, [n_ids, n_vocab]
 * row-major, to `logits`, which holds `capacity` floats. */
HMOE_API hmoe_status hmoe_session_eval_all_logits(hmoe_session* session, const int32_t* ids, size_t n_ids,
                                                  float* logits, size_t capacity);
/* The last evaluated token's logits, n_vocab of them, valid until the session's next
 * call. Fails when nothing was evaluated since creation, reset or truncate. */
HMOE_API hmoe_status hmoe_session_get_logits(const hmoe_session* session, const float** out_logits,
                                             size_t* out_n_vocab);

/* Draws the next token from the last logits with the session's sampling params; the
 * repetition penalty sees the tokens in the context. Does not evaluate the token. */
HMOE_API hmoe_status hmoe_session_sample(hmoe_session* session, int32_t* out_token);
/* Replaces the sampling params and restarts the random stream from their seed. */
HMOE_API hmoe_status hmoe_session_set_sampling(hmoe_session* session, const hmoe_sampling_params* params);

/* Empties the context. */
HMOE_API hmoe_status hmoe_session_reset(hmoe_session* session);
/* Keeps the first n_keep tokens of the context (rewinds a generation). */
HMOE_API hmoe_status hmoe_session_truncate(hmoe_session* session, size_t n_keep);

typedef struct hmoe_session_info {
  int32_t n_past;          /* tokens in the context */
  int32_t n_ctx;           /* the context's capacity */
  int32_t n_vocab;         /* logits per token */
  int32_t n_threads;
  hmoe_hyper_mode hyper_mode;
  uint64_t n_evaluated;    /* tokens evaluated since creation */
} hmoe_session_info;

HMOE_API hmoe_status hmoe_session_get_info(const hmoe_session* session, hmoe_session_info* out_info);
/* The tokens in the context, oldest first; *out_n as for hmoe_tokenize. */
HMOE_API hmoe_status hmoe_session_get_tokens(const hmoe_session* session, int32_t* ids, size_t capacity,
                                             size_t* out_n);

/* ---------------------------------------------------------------------------------- */
/* Generation                                                                         */

/* Called with each generated token and its bytes (a piece of UTF-8 that may end inside
 * a character; NULL and 0 when the model has no tokenizer). Return false to stop. It
 * runs on the calling thread and must not call functions on the same session. */
typedef bool (*hmoe_token_callback)(void* user_data, int32_t token, const char* piece, size_t piece_len);

typedef enum hmoe_stop_reason {
  HMOE_STOP_MAX_TOKENS = 0,
  HMOE_STOP_EOS = 1,          /* the model produced its end-of-sequence token */
  HMOE_STOP_CALLBACK = 2,     /* the callback returned false */
  HMOE_STOP_CONTEXT_FULL = 3, /* the context has no room for another token (and no context_shift) */
  HMOE_STOP_STRING = 4,       /* the generated text now contains one of stop_strings */
  HMOE_STOP_CANCELLED = 5     /* *cancel became non-zero */
} hmoe_stop_reason;

typedef struct hmoe_generate_params {
  int32_t max_tokens;          /* >= 0; default 64 */
  bool stop_at_eos;            /* default true; the EOS token is neither stored nor passed on */
  hmoe_token_callback on_token;  /* optional */
  void* user_data;
  /* --- appended in 0.2; hmoe_generate_default_params() sets them --- */
  /* true: the EOS token is never sampled (its logit is taken as -inf), so generation
   * goes on to max_tokens. Default false. */
  bool ignore_eos;
  /* Optional: n_stop_strings non-empty NUL-terminated strings (UTF-8 or any bytes).
   * Generation stops (HMOE_STOP_STRING) after the token whose bytes complete one of
   * them in the text generated by this call; that token was passed to on_token and is
   * in the context, like every token returned. Needs a tokenizer. */
  const char* const* stop_strings;
  size_t n_stop_strings;
  /* false (default): generation stops with HMOE_STOP_CONTEXT_FULL when the context is
   * full, and a prompt that does not fit is HMOE_ERR_CONTEXT_FULL. true: the context is
   * shifted instead, as llama.cpp does: the first n_keep tokens stay, the oldest half
   * of the others is dropped, and what is kept is evaluated again (positions are
   * absolute in GPT-2, so the kept tokens' keys and values change). A prompt that does
   * not fit makes room the same way (dropping more when needed); one that does not fit
   * after n_keep tokens is HMOE_ERR_CONTEXT_FULL. */
  bool context_shift;
  int32_t n_keep;              /* >= 0; default 0 */
  /* Optional: generation stops (HMOE_STOP_CANCELLED) before the next token once
   * *cancel is non-zero. Meant to be set by a signal handler (Ctrl-C); from another
   * thread, return false from on_token instead. */
  const volatile sig_atomic_t* cancel;
} hmoe_generate_params;

HMOE_API hmoe_generate_params hmoe_generate_default_params(void);

typedef struct hmoe_generate_result {
  size_t n_tokens;              /* generated (and stored in out_tokens when given) */
  hmoe_stop_reason stop_reason;
} hmoe_generate_result;

/* Evaluates `prompt` (may be empty to continue from the session's last logits), then
 * samples tokens with the session's sampling params. Every generated token is
 * evaluated into the context before this returns, so a later call continues the text.
 * `out_tokens` (optional) must hold max_tokens ids. On a failure after the prompt,
 * *out_result still counts the tokens generated so far. Logits that are NaN or +inf
 * (weights that overflow) are HMOE_ERR_BAD_FILE, never the caller's fault. */
HMOE_API hmoe_status hmoe_generate(hmoe_session* session, const int32_t* prompt, size_t n_prompt,
                                   const hmoe_generate_params* params, int32_t* out_tokens, size_t out_capacity,
                                   hmoe_generate_result* out_result);

#ifdef __cplusplus
}
#endif

#endif /* HYPERMOE_H */
