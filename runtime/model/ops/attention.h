// Multi-head attention over keys and values already in a cache: the one attention
// kernel of every architecture (GPT-2's causal self-attention; T5's bidirectional and
// causal self-attention with a relative position bias, and its cross-attention).
#pragma once
#include <cstdint>
#include <vector>

namespace hmoe {

struct AttentionHeads {
  int64_t n_head = 0;
  int64_t head_dim = 0;
  float scale = 1.f;  // GPT-2: 1/sqrt(head_dim); T5: 1 (folded into the weights)
};

// Keys and values of positions [0, n): head h's key j at k + h * head_stride + j * ld
// (its head_dim floats side by side), and the same for v.
//
// The caches are position-major (a row of every head per key, as the products give them:
// ld = n_head * head_dim, head_stride = head_dim), and so is prefill's view of its own
// keys (the encoder: rows of the qkv product). attend() reads such keys with
// attention_heads (row_ops.h): every head's keys, then values, key by key, each read as
// one stream front to back. Head-major views (each head's keys one after another) are
// read head by head.
struct KvView {
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ld = 0;           // floats between one key's row of a head and the next key's
  int64_t head_stride = 0;  // floats between head h's first key and head h + 1's
};

// T5's relative position bias: score(h, i, j) += table[bucket(j - i), h].
struct PositionBias {
  const float* table = nullptr;  // [num_buckets, n_head]
  int64_t num_buckets = 0;
  int64_t max_distance = 0;
  bool bidirectional = false;  // the encoder's buckets; false: the decoder's (causal)
};

// T5's bucket of a relative position (key position - query position), computed in f32
// as the authors' PyTorch code does (log of the distance, truncated toward zero).
int64_t relative_position_bucket(int64_t relative_position, const PositionBias& pb);

// For each of T queries (row t of q, ldq floats apart, at position q_pos0 + t) and each
// head: softmax over the visible keys of (q . k) * scale (+ the position bias), then the
// values weighted by it, into row t of out (ldo floats apart). causal: query at position
// p sees keys [0, p]; otherwise all n_keys. Each (query, head) is computed in a fixed
// order whatever the thread count (one thread, or at decode from 64 keys on two threads
// each taking the same steps over one half of the keys), so results do not depend on it.
void attend(const float* q, int64_t ldq, int64_t T, int64_t q_pos0, const KvView& kv, int64_t n_keys, bool causal,
            const AttentionHeads& heads, const PositionBias* bias, float* out, int64_t ldo);

}  // namespace hmoe
