/* The whole C API from C (this file is compiled as C, not C++), success and failure:
 * every bad input returns its status code and a message that names the problem.
 *
 *   test_api_c MODEL.hmoe REFERENCE.ref WORK_DIR [UNUSABLE.hmoe]
 *
 * MODEL is tests/api/make_api_models.py's n8k2.hmoe (with a tokenizer), REFERENCE its
 * n8k2.ref (the PyTorch reference's greedy continuation of a prompt). UNUSABLE is its
 * unusable_f16.hmoe, whose finite weights generate HyperExperts beyond f16
 * (tests/BAD_INPUTS.md row F21). */
#define _POSIX_C_SOURCE 200809L /* mkdir, mkfifo */
#include <hypermoe.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int g_failures = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                          \
    }                                                                        \
  } while (0)

/* The call returns `want` and hmoe_last_error() mentions `needle`. */
#define CHECK_ERR(call, want, needle) check_err((call), (want), (needle), #call, __LINE__)

static void check_err(hmoe_status got, hmoe_status want, const char* needle, const char* expr, int line) {
  const char* msg = hmoe_last_error();
  if (got != want) {
    fprintf(stderr, "%s:%d: %s returned %s, expected %s (message: %s)\n", __FILE__, line, expr,
            hmoe_status_name(got), hmoe_status_name(want), msg);
    ++g_failures;
    return;
  }
  if (want == HMOE_OK) {
    if (msg[0] != '\0') {
      fprintf(stderr, "%s:%d: %s succeeded but left the message '%s'\n", __FILE__, line, expr, msg);
      ++g_failures;
    }
    return;
  }
  if (msg[0] == '\0' || (needle && !strstr(msg, needle))) {
    fprintf(stderr, "%s:%d: %s: message '%s' does not mention '%s'\n", __FILE__, line, expr, msg,
            needle ? needle : "(anything)");
    ++g_failures;
  }
}

#define OK(call) CHECK_ERR(call, HMOE_OK, NULL)

/* ---------------------------------------------------------------------------------- */

typedef struct {
  char prompt[256];
  int32_t prompt_ids[64];
  size_t n_prompt;
  int32_t greedy[64];
  size_t n_greedy;
} Reference;

static size_t parse_ids(const char* s, int32_t* out, size_t cap) {
  size_t n = 0;
  char* end;
  for (;;) {
    long v = strtol(s, &end, 10);
    if (end == s || n == cap) break;
    out[n++] = (int32_t)v;
    s = end;
  }
  return n;
}

static int read_reference(const char* path, Reference* ref) {
  char line[1024];
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  memset(ref, 0, sizeof *ref);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "prompt ", 7) == 0) snprintf(ref->prompt, sizeof ref->prompt, "%.255s", line + 7);
    if (strncmp(line, "prompt_ids ", 11) == 0) ref->n_prompt = parse_ids(line + 11, ref->prompt_ids, 64);
    if (strncmp(line, "greedy ", 7) == 0) ref->n_greedy = parse_ids(line + 7, ref->greedy, 64);
  }
  fclose(f);
  return ref->n_prompt > 0 && ref->n_greedy > 0;
}

static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  unsigned char* buf;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (unsigned char*)malloc((size_t)n);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static void write_file(const char* path, const unsigned char* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, size, f);
  fclose(f);
}

static int same_ids(const int32_t* a, const int32_t* b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void print_ids(const char* what, const int32_t* ids, size_t n) {
  size_t i;
  fprintf(stderr, "  %s:", what);
  for (i = 0; i < n; ++i) fprintf(stderr, " %d", ids[i]);
  fprintf(stderr, "\n");
}

static hmoe_session_params greedy_params(int32_t n_ctx) {
  hmoe_session_params p = hmoe_session_default_params();
  p.n_threads = 1;
  p.n_ctx = n_ctx;
  p.sampling.temperature = 0.0f;
  return p;
}

/* ---------------------------------------------------------------------------------- */

static void test_version(void) {
  CHECK(strlen(hmoe_version()) >= 5);
  CHECK(strchr(hmoe_version(), '.') != NULL);
  CHECK(strlen(hmoe_simd_target()) > 0);
  CHECK(strcmp(hmoe_status_name(HMOE_ERR_BAD_FILE), "HMOE_ERR_BAD_FILE") == 0);
  CHECK(strcmp(hmoe_status_name((hmoe_status)99), "unknown status") == 0);
  CHECK(strcmp(hmoe_status_name((hmoe_status)-1), "unknown status") == 0);
  CHECK(hmoe_last_error() != NULL);
}

static void test_bad_files(const char* model_path, const char* work) {
  hmoe_model* m = NULL;
  char path[1024];
  size_t size = 0;
  unsigned char* bytes = read_file(model_path, &size);
  CHECK(bytes != NULL && size > 4096);
  if (!bytes) return;

  CHECK_ERR(hmoe_model_load(NULL, NULL, &m), HMOE_ERR_INVALID_ARGUMENT, "path");
  CHECK_ERR(hmoe_model_load(model_path, NULL, NULL), HMOE_ERR_INVALID_ARGUMENT, "out_model");
  CHECK_ERR(hmoe_model_load("/nonexistent/model.hmoe", NULL, &m), HMOE_ERR_IO, "/nonexistent/model.hmoe");
  CHECK_ERR(hmoe_model_load(work, NULL, &m), HMOE_ERR_IO, "not a regular file");
  snprintf(path, sizeof path, "%s/fifo.hmoe", work); /* refused without opening (which would block) */
  remove(path);
  if (mkfifo(path, 0600) == 0) CHECK_ERR(hmoe_model_load(path, NULL, &m), HMOE_ERR_IO, "not a regular file");
  CHECK(m == NULL);

  /* Truncated in the tensor data, in the header, and to less than the prefix. */
  snprintf(path, sizeof path, "%s/truncated.hmoe", work);
  write_file(path, bytes, size / 2);
  CHECK_ERR(hmoe_model_load(path, NULL, &m), HMOE_ERR_BAD_FILE, "truncated.hmoe");
  write_file(path, bytes, 200);
  CHECK_ERR(hmoe_model_load(path, NULL, &m), HMOE_ERR_BAD_FILE, "truncated.hmoe");
  write_file(path, bytes, 10);
  CHECK_ERR(hmoe_model_load(path, NULL, &m), HMOE_ERR_BAD_FILE, "10 bytes");
  CHECK(m == NULL);

  CHECK_ERR(hmoe_model_load_from_memory(bytes, size - 1000, NULL, &m), HMOE_ERR_BAD_FILE, NULL);
  CHECK_ERR(hmoe_model_load_from_memory(NULL, size, NULL, &m), HMOE_ERR_INVALID_ARGUMENT, "data");
  bytes[0] ^= 0xff; /* the magic */
  CHECK_ERR(hmoe_model_load_from_memory(bytes, size, NULL, &m), HMOE_ERR_BAD_FILE, NULL);
  CHECK(m == NULL);
  free(bytes);
}

static void test_bad_model_params(const char* model_path) {
  hmoe_model* m = NULL;
  hmoe_model_params p = hmoe_model_default_params();
  CHECK(p.n_threads >= 1);
  CHECK(p.hyper_cache_mb > 0);
  CHECK(p.hyper_precompute);
  p.n_threads = 0;
  CHECK_ERR(hmoe_model_load(model_path, &p, &m), HMOE_ERR_INVALID_ARGUMENT, "n_threads is 0");
  p.n_threads = 1000000;
  CHECK_ERR(hmoe_model_load(model_path, &p, &m), HMOE_ERR_INVALID_ARGUMENT, "n_threads is 1000000");
  p.n_threads = 1;
  p.hyper_cache_mb = -1;
  CHECK_ERR(hmoe_model_load(model_path, &p, &m), HMOE_ERR_INVALID_ARGUMENT, "hyper_cache_mb is -1");
  p.hyper_cache_mb = 0; /* cannot hold one HyperExpert */
  CHECK_ERR(hmoe_model_load(model_path, &p, &m), HMOE_ERR_INVALID_ARGUMENT, "budget");
  /* A bool's byte set by memset (or by a binding from another language): C never reads
   * it here, the library refuses it rather than read a bool that is neither 0 nor 1. */
  p = hmoe_model_default_params();
  memset(&p.hyper_precompute, 2, 1);
  CHECK_ERR(hmoe_model_load(model_path, &p, &m), HMOE_ERR_INVALID_ARGUMENT, "hyper_precompute holds byte 2");
  CHECK(m == NULL);
}

static void test_null_handles(void) {
  hmoe_model_info mi;
  hmoe_session_info si;
  hmoe_hyper_cache_stats cs;
  hmoe_session* s = NULL;
  hmoe_generate_result r;
  const float* logits = NULL;
  int32_t tok = 0, ids[4] = {1, 2, 3, 4};
  size_t n = 0;
  char buf[16];

  hmoe_model_free(NULL);
  hmoe_session_free(NULL);
  CHECK_ERR(hmoe_model_get_info(NULL, &mi), HMOE_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_ERR(hmoe_model_get_hyper_cache_stats(NULL, &cs), HMOE_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_ERR(hmoe_model_get_metadata(NULL, "general.name", buf, sizeof buf, &n), HMOE_ERR_INVALID_ARGUMENT, "model");
  CHECK_ERR(hmoe_session_create(NULL, NULL, &s), HMOE_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK(s == NULL);
  CHECK_ERR(hmoe_session_eval(NULL, ids, 4), HMOE_ERR_INVALID_ARGUMENT, "session is NULL");
  CHECK_ERR(hmoe_session_eval_all_logits(NULL, ids, 4, NULL, 0), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_get_logits(NULL, &logits, &n), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_sample(NULL, &tok), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_set_sampling(NULL, NULL), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_reset(NULL), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_truncate(NULL, 0), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_get_info(NULL, &si), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_session_get_tokens(NULL, ids, 4, &n), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_generate(NULL, ids, 4, NULL, NULL, 0, &r), HMOE_ERR_INVALID_ARGUMENT, "session");
  CHECK_ERR(hmoe_tokenize(NULL, "a", 1, 0, ids, 4, &n), HMOE_ERR_INVALID_ARGUMENT, "model");
  CHECK_ERR(hmoe_detokenize(NULL, ids, 1, 0, buf, sizeof buf, &n), HMOE_ERR_INVALID_ARGUMENT, "model");
}

static void test_model_info(const hmoe_model* m) {
  hmoe_model_info i;
  char name[64];
  size_t len = 0;
  OK(hmoe_model_get_info(m, &i));
  CHECK(i.n_vocab == 512);
  CHECK(i.n_ctx_train == 128);
  CHECK(i.n_embd == 64);
  CHECK(i.n_layer == 2);
  CHECK(i.n_head == 4);
  CHECK(i.n_experts == 8);
  CHECK(i.top_k == 2);
  CHECK(i.use_hypernet);
  CHECK(!i.hyper_baked);
  CHECK(i.has_tokenizer);
  CHECK(i.eos_id > 0 && i.eos_id < i.n_vocab);
  CHECK(i.file_size > 1000000);
  CHECK_ERR(hmoe_model_get_info(m, NULL), HMOE_ERR_INVALID_ARGUMENT, "out_info");

  OK(hmoe_model_get_metadata(m, "general.name", name, sizeof name, &len));
  CHECK(strcmp(name, "n8k2") == 0 && len == 4);
  CHECK_ERR(hmoe_model_get_metadata(m, "general.name", name, 3, &len), HMOE_ERR_BUFFER_TOO_SMALL, "needs 5 bytes");
  CHECK(len == 4);
  CHECK_ERR(hmoe_model_get_metadata(m, "no.such.key", name, sizeof name, &len), HMOE_ERR_INVALID_ARGUMENT,
            "no.such.key");
}

static void test_text(const hmoe_model* m, const Reference* ref) {
  int32_t ids[128];
  char text[512];
  size_t n = 0, len = 0;
  const char bad_utf8[] = "caf\xe9 au lait";
  const int32_t beyond_tokenizer[] = {1, 510}; /* in the model's vocabulary, not the tokenizer's */

  OK(hmoe_tokenize(m, ref->prompt, strlen(ref->prompt), 0, ids, 128, &n));
  CHECK(n == ref->n_prompt && same_ids(ids, ref->prompt_ids, n));
  OK(hmoe_detokenize(m, ids, n, 0, text, sizeof text, &len));
  CHECK(len == strlen(ref->prompt) && strcmp(text, ref->prompt) == 0);

  /* Sizing calls. */
  CHECK_ERR(hmoe_tokenize(m, ref->prompt, strlen(ref->prompt), 0, NULL, 0, &n), HMOE_ERR_BUFFER_TOO_SMALL, "tokens");
  CHECK(n == ref->n_prompt);
  CHECK_ERR(hmoe_detokenize(m, ref->prompt_ids, ref->n_prompt, 0, text, 4, &len), HMOE_ERR_BUFFER_TOO_SMALL,
            "buffer holds 4");
  CHECK(len == strlen(ref->prompt));
  OK(hmoe_tokenize(m, "", 0, 0, NULL, 0, &n));
  CHECK(n == 0);

  CHECK_ERR(hmoe_tokenize(m, bad_utf8, strlen(bad_utf8), 0, ids, 128, &n), HMOE_ERR_INVALID_ARGUMENT, "UTF-8");
  OK(hmoe_tokenize(m, bad_utf8, strlen(bad_utf8), HMOE_TOKENIZE_ALLOW_INVALID_UTF8, ids, 128, &n));
  OK(hmoe_detokenize(m, ids, n, 0, text, sizeof text, &len));
  CHECK(len == strlen(bad_utf8) && memcmp(text, bad_utf8, len) == 0);
  CHECK_ERR(hmoe_tokenize(m, "a", 1, 0x80, ids, 128, &n), HMOE_ERR_INVALID_ARGUMENT, "flags 0x80");
  CHECK_ERR(hmoe_tokenize(m, NULL, 5, 0, ids, 128, &n), HMOE_ERR_INVALID_ARGUMENT, "text");
  CHECK_ERR(hmoe_detokenize(m, beyond_tokenizer, 2, 0, text, sizeof text, &len), HMOE_ERR_INVALID_ARGUMENT, "510");
}

static void test_bad_session_params(const hmoe_model* m) {
  hmoe_session* s = NULL;
  hmoe_session_params p;
#define BAD_SESSION(field, value, needle)                                            \
  do {                                                                               \
    p = hmoe_session_default_params();                                               \
    p.field = value;                                                                 \
    CHECK_ERR(hmoe_session_create(m, &p, &s), HMOE_ERR_INVALID_ARGUMENT, needle);    \
    CHECK(s == NULL);                                                                \
  } while (0)
  BAD_SESSION(n_threads, 0, "n_threads is 0");
  BAD_SESSION(n_threads, -3, "n_threads is -3");
  BAD_SESSION(n_threads, 5000, "n_threads is 5000");
  BAD_SESSION(n_ctx, -1, "n_ctx -1 is outside [0, n_positions=128]");
  BAD_SESSION(n_ctx, 129, "n_ctx 129 is outside [0, n_positions=128]");
  /* Any int may sit in a C enum field; the library reads it as an int, never as the enum. */
  BAD_SESSION(hyper_mode, (hmoe_hyper_mode)7, "hyper_mode is 7");
  BAD_SESSION(hyper_mode, (hmoe_hyper_mode)2, "hyper_mode is 2");
  BAD_SESSION(hyper_mode, (hmoe_hyper_mode)-1, "hyper_mode is -1");
  BAD_SESSION(hyper_mode, (hmoe_hyper_mode)INT_MAX, "hyper_mode is 2147483647");
  BAD_SESSION(hyper_mode, (hmoe_hyper_mode)INT_MIN, "hyper_mode is -2147483648");
  BAD_SESSION(sampling.temperature, -0.5f, "temperature");
  BAD_SESSION(sampling.temperature, NAN, "temperature");
  BAD_SESSION(sampling.top_p, 0.0f, "top_p");
  BAD_SESSION(sampling.top_p, 1.5f, "top_p");
  BAD_SESSION(sampling.top_k, -1, "top_k");
  BAD_SESSION(sampling.repetition_penalty, 0.0f, "repetition_penalty");
  BAD_SESSION(sampling.penalty_last_n, -2, "penalty_last_n");
#undef BAD_SESSION
  CHECK_ERR(hmoe_session_create(m, NULL, NULL), HMOE_ERR_INVALID_ARGUMENT, "out_session");
}

static void test_eval_errors(const hmoe_model* m) {
  hmoe_session* s = NULL;
  hmoe_session_params p = greedy_params(8);
  hmoe_session_info info;
  hmoe_sampling_params sp = hmoe_sampling_default_params();
  const int32_t nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int32_t out_of_vocab[3] = {1, 512, 3};
  const int32_t negative[2] = {4, -1};
  float small[10];
  const float* logits = NULL;
  int32_t tok;
  size_t n = 0;

  OK(hmoe_session_create(m, &p, &s));
  if (!s) return;
  CHECK_ERR(hmoe_session_get_logits(s, &logits, &n), HMOE_ERR_INVALID_ARGUMENT, "no logits");
  CHECK_ERR(hmoe_session_sample(s, &tok), HMOE_ERR_INVALID_ARGUMENT, "evaluate");
  CHECK_ERR(hmoe_session_eval(s, out_of_vocab, 3), HMOE_ERR_INVALID_ARGUMENT, "token id 512 at position 1");
  CHECK_ERR(hmoe_session_eval(s, negative, 2), HMOE_ERR_INVALID_ARGUMENT, "token id -1");
  CHECK_ERR(hmoe_session_eval(s, nine, 0), HMOE_ERR_INVALID_ARGUMENT, "no tokens");
  CHECK_ERR(hmoe_session_eval(s, NULL, 3), HMOE_ERR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_ERR(hmoe_session_eval(s, nine, 9), HMOE_ERR_CONTEXT_FULL, "context of 8");
  CHECK_ERR(hmoe_session_eval_all_logits(s, nine, 2, small, 10), HMOE_ERR_BUFFER_TOO_SMALL, "1024 floats");
  OK(hmoe_session_get_info(s, &info));
  CHECK(info.n_past == 0 && info.n_ctx == 8 && info.n_vocab == 512 && info.n_threads == 1);

  OK(hmoe_session_eval(s, nine, 5));
  CHECK_ERR(hmoe_session_eval(s, nine, 4), HMOE_ERR_CONTEXT_FULL, "5 tokens + 4 new exceed the context of 8");
  OK(hmoe_session_get_info(s, &info));
  CHECK(info.n_past == 5 && info.n_evaluated == 5);
  OK(hmoe_session_get_logits(s, &logits, &n)); /* the failed calls kept the logits */
  CHECK(logits != NULL && n == 512);

  CHECK_ERR(hmoe_session_truncate(s, 6), HMOE_ERR_INVALID_ARGUMENT, "holds 5");
  CHECK_ERR(hmoe_session_get_tokens(s, NULL, 0, &n), HMOE_ERR_BUFFER_TOO_SMALL, "holds 5");
  CHECK(n == 5);
  sp.top_p = 2.0f;
  CHECK_ERR(hmoe_session_set_sampling(s, &sp), HMOE_ERR_INVALID_ARGUMENT, "top_p must be in (0, 1]");
  CHECK_ERR(hmoe_session_set_sampling(s, NULL), HMOE_ERR_INVALID_ARGUMENT, "params");
  hmoe_session_free(s);
}

typedef struct {
  int32_t tokens[64];
  size_t n;
  size_t stop_after; /* 0: never */
  size_t piece_bytes;
} Collector;

static bool collect(void* user, int32_t token, const char* piece, size_t len) {
  Collector* c = (Collector*)user;
  if (c->n < 64) c->tokens[c->n++] = token;
  if (piece) c->piece_bytes += len;
  return c->stop_after == 0 || c->n < c->stop_after;
}

static void test_greedy(const hmoe_model* m, const Reference* ref, hmoe_hyper_mode mode) {
  hmoe_session* s = NULL;
  hmoe_session_params p = greedy_params(0);
  hmoe_generate_params g = hmoe_generate_default_params();
  hmoe_generate_result r;
  Collector c;
  int32_t out[64];
  size_t n = 0;

  p.hyper_mode = mode;
  OK(hmoe_session_create(m, &p, &s));
  if (!s) return;
  memset(&c, 0, sizeof c);
  g.max_tokens = (int32_t)ref->n_greedy;
  g.stop_at_eos = false;
  g.on_token = collect;
  g.user_data = &c;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, out, 64, &r));
  CHECK(r.n_tokens == ref->n_greedy && r.stop_reason == HMOE_STOP_MAX_TOKENS);
  if (!same_ids(out, ref->greedy, ref->n_greedy)) {
    fprintf(stderr, "greedy continuation differs from the reference (hyper mode %d)\n", (int)mode);
    print_ids("runtime  ", out, r.n_tokens);
    print_ids("reference", ref->greedy, ref->n_greedy);
    ++g_failures;
  }
  CHECK(c.n == ref->n_greedy && same_ids(c.tokens, out, c.n));
  CHECK(c.piece_bytes > 0);
  /* Every returned token is in the context. */
  OK(hmoe_session_get_tokens(s, out, 64, &n));
  CHECK(n == ref->n_prompt + ref->n_greedy);
  CHECK(same_ids(out + ref->n_prompt, ref->greedy, ref->n_greedy));

  /* Rewind to the prompt: the same continuation again. */
  OK(hmoe_session_truncate(s, ref->n_prompt));
  CHECK_ERR(hmoe_generate(s, NULL, 0, &g, out, 64, &r), HMOE_ERR_INVALID_ARGUMENT, "no logits");
  OK(hmoe_session_truncate(s, ref->n_prompt - 1));
  OK(hmoe_generate(s, ref->prompt_ids + ref->n_prompt - 1, 1, &g, out, 64, &r));
  CHECK(r.n_tokens == ref->n_greedy && same_ids(out, ref->greedy, ref->n_greedy));
  hmoe_session_free(s);
}

static void test_generate_stops(const hmoe_model* m, const Reference* ref) {
  hmoe_session* s = NULL;
  hmoe_session_params p = greedy_params(0);
  hmoe_generate_params g = hmoe_generate_default_params();
  hmoe_generate_result r;
  hmoe_session_info info;
  Collector c;
  int32_t out[64];

  OK(hmoe_session_create(m, &p, &s));
  if (!s) return;
  memset(&c, 0, sizeof c);
  c.stop_after = 3;
  g.max_tokens = 16;
  g.stop_at_eos = false;
  g.on_token = collect;
  g.user_data = &c;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, out, 64, &r));
  CHECK(r.n_tokens == 3 && r.stop_reason == HMOE_STOP_CALLBACK && same_ids(out, ref->greedy, 3));
  OK(hmoe_session_get_info(s, &info));
  CHECK((size_t)info.n_past == ref->n_prompt + 3);

  /* An empty prompt continues where the callback stopped. */
  g.on_token = NULL;
  g.max_tokens = (int32_t)ref->n_greedy - 3;
  OK(hmoe_generate(s, NULL, 0, &g, out, 64, &r));
  CHECK(r.n_tokens == ref->n_greedy - 3 && same_ids(out, ref->greedy + 3, r.n_tokens));

  /* Bad generate params. */
  g.max_tokens = -1;
  CHECK_ERR(hmoe_generate(s, NULL, 0, &g, out, 64, &r), HMOE_ERR_INVALID_ARGUMENT, "max_tokens is -1");
  g.max_tokens = 8;
  CHECK_ERR(hmoe_generate(s, NULL, 0, &g, out, 4, &r), HMOE_ERR_BUFFER_TOO_SMALL, "holds 4");
  CHECK_ERR(hmoe_generate(s, NULL, 0, &g, out, 64, NULL), HMOE_ERR_INVALID_ARGUMENT, "out_result");
  memset(&g.stop_at_eos, 0xff, 1);
  CHECK_ERR(hmoe_generate(s, NULL, 0, &g, out, 64, &r), HMOE_ERR_INVALID_ARGUMENT, "stop_at_eos holds byte 255");
  g.stop_at_eos = false;
  hmoe_session_free(s);

  /* A context with room for 4 generated tokens. */
  p = greedy_params((int32_t)ref->n_prompt + 4);
  OK(hmoe_session_create(m, &p, &s));
  if (!s) return;
  g.max_tokens = 16;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, out, 64, &r));
  CHECK(r.n_tokens == 4 && r.stop_reason == HMOE_STOP_CONTEXT_FULL && same_ids(out, ref->greedy, 4));
  CHECK_ERR(hmoe_generate(s, ref->prompt_ids, 1, &g, out, 64, &r), HMOE_ERR_CONTEXT_FULL, "context");
  OK(hmoe_session_reset(s));
  OK(hmoe_session_get_info(s, &info));
  CHECK(info.n_past == 0);
  g.max_tokens = 0;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, NULL, 0, &r));
  CHECK(r.n_tokens == 0 && r.stop_reason == HMOE_STOP_MAX_TOKENS);
  hmoe_session_free(s);
}

/* Manual loop: eval, sample, eval... gives the reference too; eval_all_logits agrees
 * with the last-token logits. */
static void test_manual_loop(const hmoe_model* m, const Reference* ref) {
  hmoe_session *s = NULL, *t = NULL;
  hmoe_session_params p = greedy_params(0);
  const float* last = NULL;
  float* all;
  size_t n_vocab = 0, i, v;
  int32_t got[64];
  double max_diff = 0, max_abs = 0;

  OK(hmoe_session_create(m, &p, &s));
  OK(hmoe_session_create(m, &p, &t));
  if (!s || !t) return;
  OK(hmoe_session_eval(s, ref->prompt_ids, ref->n_prompt));
  for (i = 0; i < ref->n_greedy; ++i) {
    OK(hmoe_session_sample(s, &got[i]));
    OK(hmoe_session_eval(s, &got[i], 1));
  }
  CHECK(same_ids(got, ref->greedy, ref->n_greedy));

  all = (float*)malloc(ref->n_prompt * 512 * sizeof(float));
  OK(hmoe_session_eval_all_logits(t, ref->prompt_ids, ref->n_prompt, all, ref->n_prompt * 512));
  OK(hmoe_session_get_logits(t, &last, &n_vocab));
  CHECK(n_vocab == 512);
  for (v = 0; v < 512; ++v) CHECK(all[(ref->n_prompt - 1) * 512 + v] == last[v]);
  OK(hmoe_session_reset(s));
  OK(hmoe_session_eval(s, ref->prompt_ids, ref->n_prompt));
  OK(hmoe_session_get_logits(s, &last, &n_vocab));
  for (v = 0; v < 512; ++v) {
    const double d = fabs((double)all[(ref->n_prompt - 1) * 512 + v] - last[v]);
    if (d > max_diff) max_diff = d;
    if (fabs(last[v]) > max_abs) max_abs = fabs(last[v]);
  }
  CHECK(max_diff <= 1e-5 * max_abs);
  free(all);
  hmoe_session_free(s);
  hmoe_session_free(t);
}

/* Seeded sampling is reproducible, and a different seed is allowed to differ. */
static void test_sampling(const hmoe_model* m, const Reference* ref) {
  hmoe_session* s = NULL;
  hmoe_session_params p = greedy_params(0);
  hmoe_generate_params g = hmoe_generate_default_params();
  hmoe_generate_result r1, r2;
  int32_t a[32], b[32];

  p.sampling.temperature = 0.9f;
  p.sampling.top_k = 40;
  p.sampling.top_p = 0.95f;
  p.sampling.repetition_penalty = 1.3f;
  p.sampling.seed = 1234;
  g.max_tokens = 24;
  g.stop_at_eos = false;
  OK(hmoe_session_create(m, &p, &s));
  if (!s) return;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, a, 32, &r1));
  OK(hmoe_session_reset(s));
  OK(hmoe_session_set_sampling(s, &p.sampling)); /* restarts the random stream */
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, b, 32, &r2));
  CHECK(r1.n_tokens == 24 && r2.n_tokens == 24 && same_ids(a, b, 24));
  hmoe_session_free(s);
}

static void test_cache_stats(const char* model_path, const hmoe_model* m, const Reference* ref) {
  hmoe_hyper_cache_stats st;
  hmoe_model* lazy = NULL;
  hmoe_model_params mp = hmoe_model_default_params();
  hmoe_session* s = NULL;
  hmoe_session_params p = greedy_params(0);
  hmoe_generate_params g = hmoe_generate_default_params();
  hmoe_generate_result r;
  int32_t out[64];

  OK(hmoe_model_get_hyper_cache_stats(m, &st));
  CHECK(st.mode == HMOE_HYPER_CACHE_PRECOMPUTED);
  CHECK(st.patterns_per_layer == 28 && st.entries == 56 && st.misses == 0 && st.hits > 0);
  CHECK(st.bytes == st.entries * st.entry_bytes && st.bytes <= st.budget_bytes);
  CHECK(st.budget_bytes == (uint64_t)mp.hyper_cache_mb << 20);

  mp.n_threads = 1;
  mp.hyper_precompute = false;
  OK(hmoe_model_load(model_path, &mp, &lazy));
  if (!lazy) return;
  OK(hmoe_model_get_hyper_cache_stats(lazy, &st));
  CHECK(st.mode == HMOE_HYPER_CACHE_ON_DEMAND && st.entries == 0 && st.hits == 0 && st.misses == 0);
  OK(hmoe_session_create(lazy, &p, &s));
  /* A session outlives the handle of its model. */
  hmoe_model_free(lazy);
  g.max_tokens = (int32_t)ref->n_greedy;
  g.stop_at_eos = false;
  OK(hmoe_generate(s, ref->prompt_ids, ref->n_prompt, &g, out, 64, &r));
  CHECK(r.n_tokens == ref->n_greedy && same_ids(out, ref->greedy, ref->n_greedy));
  hmoe_session_free(s);
}

/* Finite weights whose HyperExperts f16 cannot hold: a bad file, refused at load when the
 * cache is filled then, else by the first eval that meets an expert set, which leaves the
 * session as it was (tests/BAD_INPUTS.md, row F21). */
static void test_unusable_weights(const char* path) {
  hmoe_model* m = NULL;
  hmoe_session* s = NULL;
  hmoe_model_params mp = hmoe_model_default_params();
  hmoe_session_params sp = greedy_params(0);
  hmoe_session_info info;
  const float* logits = NULL;
  size_t n = 0;
  const int32_t ids[2] = {0, 1};

  mp.n_threads = 1;
  CHECK_ERR(hmoe_model_load(path, &mp, &m), HMOE_ERR_BAD_FILE, "expert set {");
  CHECK(m == NULL);
  mp.hyper_precompute = false;
  OK(hmoe_model_load(path, &mp, &m));
  if (!m) return;
  OK(hmoe_session_create(m, &sp, &s));
  if (s) {
    CHECK_ERR(hmoe_session_eval(s, ids, 2), HMOE_ERR_BAD_FILE, "cannot hold");
    CHECK(strstr(hmoe_last_error(), "f16") != NULL && strstr(hmoe_last_error(), "layer ") != NULL);
    OK(hmoe_session_get_info(s, &info));
    CHECK(info.n_past == 0);
    CHECK_ERR(hmoe_session_get_logits(s, &logits, &n), HMOE_ERR_INVALID_ARGUMENT, "no logits");
    sp.hyper_mode = HMOE_HYPER_PER_TOKEN; /* the same generator, the same refusal */
    hmoe_session_free(s);
    s = NULL;
    OK(hmoe_session_create(m, &sp, &s));
    if (s) CHECK_ERR(hmoe_session_eval(s, ids, 1), HMOE_ERR_BAD_FILE, "expert set {");
  }
  hmoe_session_free(s);
  hmoe_model_free(m);
}

int main(int argc, char** argv) {
  Reference ref;
  hmoe_model* m = NULL;
  hmoe_model* from_memory = NULL;
  hmoe_model_params mp = hmoe_model_default_params();
  unsigned char* bytes;
  size_t size = 0;

  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s MODEL.hmoe REFERENCE.ref WORK_DIR [UNUSABLE.hmoe]\n", argv[0]);
    return 2;
  }
  if (!read_reference(argv[2], &ref)) {
    fprintf(stderr, "cannot read the reference '%s'\n", argv[2]);
    return 2;
  }
  mkdir(argv[3], 0755);

  test_version();
  test_bad_files(argv[1], argv[3]);
  test_bad_model_params(argv[1]);
  test_null_handles();
  if (argc == 5) test_unusable_weights(argv[4]);

  mp.n_threads = 1;
  OK(hmoe_model_load(argv[1], &mp, &m));
  if (!m) {
    fprintf(stderr, "cannot load '%s': %s\n", argv[1], hmoe_last_error());
    return 1;
  }
  bytes = read_file(argv[1], &size);
  OK(hmoe_model_load_from_memory(bytes, size, &mp, &from_memory));
  free(bytes); /* the model keeps its own copy */

  test_model_info(m);
  test_text(m, &ref);
  test_bad_session_params(m);
  test_eval_errors(m);
  test_greedy(m, &ref, HMOE_HYPER_TABLE);
  test_greedy(m, &ref, HMOE_HYPER_PER_TOKEN);
  if (from_memory) test_greedy(from_memory, &ref, HMOE_HYPER_TABLE);
  test_generate_stops(m, &ref);
  test_manual_loop(m, &ref);
  test_sampling(m, &ref);
  test_cache_stats(argv[1], m, &ref);

  hmoe_model_free(from_memory);
  hmoe_model_free(m);
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("test_api_c: all checks passed (hypermoe %s, SIMD %s)\n", hmoe_version(), hmoe_simd_target());
  return 0;
}
