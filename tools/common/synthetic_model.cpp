#include "tools/common/synthetic_model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "formats/atomic_file.h"
#include "formats/file_prefix.h"
#include "formats/model_writer.h"
#include "runtime/model/arch.h"
#include "runtime/model/hyper/hyper_expert.h"

namespace hmoe {

namespace {

// How a tensor's values are drawn.
enum class Init { Matrix, Hyper, Bias, Ones, Embedding };

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
  bool matrix;  // stored in spec.dtype (else f32)
};

Init init_of(TensorRole role) {
  switch (role) {
    case TensorRole::Embedding: return Init::Embedding;
    case TensorRole::Norm: return Init::Ones;
    case TensorRole::Bias: return Init::Bias;
    case TensorRole::Hypernet:
    case TensorRole::HyperTable: return Init::Hyper;
    case TensorRole::LmHead:
    case TensorRole::Weight:
    case TensorRole::Router:
    case TensorRole::PositionBias: return Init::Matrix;
  }
  return Init::Matrix;
}

// The architecture's tensor table, in its order (each tensor's seed is its index).
std::vector<TensorSpec> tensor_specs(const SyntheticSpec& s) {
  std::vector<TensorSpec> t;
  for (const TensorDecl& d : arch_spec(s.arch).tensors(s.hparams(), /*baked=*/false))
    t.push_back({d.name, d.shape, init_of(d.role), d.matrix});
  return t;
}

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [-a, a) with a = std * sqrt(3): the requested standard deviation.
void fill_uniform(float* out, int64_t n, float stddev, float offset, uint64_t seed) {
  uint64_t state = seed;
  const float a = stddev * std::sqrt(3.f);
  for (int64_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(splitmix(state) >> 40) * (1.f / 16777216.f);  // [0, 1)
    out[i] = offset + a * (2.f * u - 1.f);
  }
}

// Values of rows [r0, r0 + rows) of matrix `slice` of tensor `index`: each block of
// rows has its own seed, so the values do not depend on how the work is split.
void fill_rows(const SyntheticSpec& s, const TensorSpec& t, size_t index, int64_t slice, int64_t r0, int64_t rows,
               int64_t cols, float* out) {
  float stddev = s.std, offset = 0.f;
  switch (t.init) {
    case Init::Matrix: break;
    case Init::Embedding: break;
    case Init::Bias: stddev = s.std; break;
    case Init::Ones: stddev = s.std; offset = 1.f; break;
    case Init::Hyper: stddev = s.hyper_std; break;
  }
  const uint64_t seed = s.seed * 0xD1B54A32D192ED03ull ^ (static_cast<uint64_t>(index) << 40) ^
                        (static_cast<uint64_t>(slice) << 24) ^ static_cast<uint64_t>(r0);
  fill_uniform(out, rows * cols, stddev, offset, seed);
}

constexpr int64_t kRowBlock = 64;

std::string default_dir() {
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : P_tmpdir;
}

}  // namespace

int64_t SyntheticSpec::n_head() const {
  if (heads > 0) return heads;
  return d % 64 == 0 ? d / 64 : 1;
}

HParams SyntheticSpec::hparams() const {
  HParams h;
  h.vocab_size = V;
  h.n_positions = P;
  h.n_embd = d;
  h.n_layer = L;
  h.n_head = n_head();
  h.n_experts = N;
  h.top_k = k;
  h.use_hypernet = hyper;
  if (arch == Arch::SwitchHyperMoE) {
    h.n_decoder_layer = Ld ? Ld : L;
    h.d_kv = dkv ? dkv : d / h.n_head;
    h.d_ff = ff ? ff : 4 * d;
    h.encoder_sparse_step = h.decoder_sparse_step = step;
    h.expert_capacity = cap;
    h.relative_attention_num_buckets = 32;
    h.relative_attention_max_distance = 128;
    h.tie_word_embeddings = tied;
    h.layer_norm_epsilon = 1e-6f;
    h.decoder_start_token_id = 0;
  }
  if (hyper) {
    h.experts_embedding_dim = e;
    h.process_dim = pd;
    h.hypernet_input = hin;
    h.hypernetwork_bottleneck = H;
    h.layer_emb_dim = le;
    h.adapter_dim = b;
  }
  return h;
}

std::string SyntheticSpec::to_string() const {
  std::ostringstream o;
  if (arch == Arch::SwitchHyperMoE) o << "arch=switch,";
  o << "d=" << d << ",L=" << L << ",N=" << N << ",k=" << k << ",b=" << b << ",H=" << H << ",V=" << V
    << ",P=" << P << ",heads=" << n_head() << ",e=" << e << ",pd=" << pd << ",hin=" << hin << ",le=" << le
    << ",hyper=" << (hyper ? 1 : 0) << ",dtype=" << dtype_name(dtype) << ",seed=" << seed << ",std=" << std
    << ",hyper_std=" << hyper_std;
  if (arch == Arch::SwitchHyperMoE) {
    const HParams h = hparams();
    o << ",Ld=" << h.n_decoder_layer << ",dkv=" << h.d_kv << ",ff=" << h.d_ff << ",step=" << step << ",cap=" << cap
      << ",tied=" << (tied ? 1 : 0);
  }
  return o.str();
}

uint64_t SyntheticSpec::file_bytes() const {
  uint64_t total = 0;
  for (const TensorSpec& t : tensor_specs(*this)) {
    const int64_t n = storage_bytes(t.matrix ? dtype : DType::F32, t.shape);
    total += n < 0 ? 0 : (static_cast<uint64_t>(n) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  }
  return total + kDataSectionAlignment;
}

SyntheticSpec parse_synthetic_spec(const std::string& text) {
  SyntheticSpec s;
  std::stringstream ss(text);
  std::string item;
  bool k_given = false, P_given = false;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw std::invalid_argument("synthetic spec item '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "arch") {
      if (val == "gpt2") s.arch = Arch::Gpt2HyperMoE;
      else if (val == "switch") s.arch = Arch::SwitchHyperMoE;
      else throw std::invalid_argument("synthetic spec: arch '" + val + "' is not gpt2 or switch");
      continue;
    }
    if (key == "dtype") {
      if (!dtype_from_name(val, &s.dtype) || s.dtype == DType::I32)
        throw std::invalid_argument("synthetic spec: dtype '" + val + "' is not one of f32 f16 bf16 q8 q4");
      continue;
    }
    if (key == "std" || key == "hyper_std") {
      char* end = nullptr;
      const float v = std::strtof(val.c_str(), &end);
      if (*end || !(v >= 0.f && v < 100.f))
        throw std::invalid_argument("synthetic spec: " + key + "=" + val + " is not a number in [0, 100)");
      (key == "std" ? s.std : s.hyper_std) = v;
      continue;
    }
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(val.c_str(), &end, 10);
    if (*end || errno || v < 0)
      throw std::invalid_argument("synthetic spec: " + key + "=" + val + " is not a non-negative integer");
    int64_t* field = key == "d" ? &s.d : key == "L" ? &s.L : key == "N" ? &s.N : key == "k" ? &s.k
                   : key == "b" ? &s.b : key == "H" ? &s.H : key == "V" ? &s.V : key == "P" ? &s.P
                   : key == "heads" ? &s.heads : key == "e" ? &s.e : key == "pd" ? &s.pd
                   : key == "hin" ? &s.hin : key == "le" ? &s.le : key == "Ld" ? &s.Ld : key == "dkv" ? &s.dkv
                   : key == "ff" ? &s.ff : key == "step" ? &s.step : key == "cap" ? &s.cap : nullptr;
    k_given = k_given || key == "k";
    P_given = P_given || key == "P";
    if (field) *field = v;
    else if (key == "hyper") s.hyper = v != 0;
    else if (key == "tied") s.tied = v != 0;
    else if (key == "seed") s.seed = static_cast<uint64_t>(v);
    else
      throw std::invalid_argument("synthetic spec: unknown key '" + key +
                                  "' (known: arch d L N k b H V P heads e pd hin le hyper seed dtype std hyper_std, "
                                  "and for arch=switch Ld dkv ff step cap tied)");
  }
  if (s.arch == Arch::SwitchHyperMoE) {  // Switch routes top-1; T5 promises 512 positions
    if (!k_given) s.k = 1;
    if (!P_given) s.P = 512;
  }
  try {
    arch_spec(s.arch).check(s.hparams());
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("synthetic spec '") + text + "': " + e.what());
  }
  if (dtype_is_quantized(s.dtype) && s.d % kQuantBlock != 0)
    throw std::invalid_argument(std::string("synthetic spec: dtype ") + dtype_name(s.dtype) + " needs d a multiple of " +
                                std::to_string(kQuantBlock) + ", got " + std::to_string(s.d));
  return s;
}

void write_synthetic_model(const SyntheticSpec& s, const std::string& path) {
  const std::vector<TensorSpec> specs = tensor_specs(s);
  auto dtype_of = [&](const TensorSpec& t) {
    // A block type needs the input dimension to be a multiple of the block; the few
    // hypernetwork matrices where it is not stay f32.
    if (!t.matrix) return DType::F32;
    if (storage_bytes(s.dtype, t.shape) < 0) return DType::F32;
    return s.dtype;
  };

  // Pass 1: the writer lays out the header and the data section; the data it copies
  // comes from an untouched anonymous mapping, which reads as zeros without memory.
  uint64_t largest = 0;
  for (const TensorSpec& t : specs) largest = std::max<uint64_t>(largest, storage_bytes(dtype_of(t), t.shape));
  void* zeros = ::mmap(nullptr, largest, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (zeros == MAP_FAILED) throw std::runtime_error(std::string("mmap of zeros failed: ") + std::strerror(errno));
  ModelHeader header;
  header.arch = s.arch;
  header.hparams = s.hparams();
  header.metadata.emplace_back("general.name", "synthetic " + s.to_string());
  std::vector<TensorBlob> blobs;
  for (const TensorSpec& t : specs)
    blobs.push_back({t.name, dtype_of(t), t.shape, zeros, static_cast<uint64_t>(storage_bytes(dtype_of(t), t.shape))});
  // One temporary file for both passes, renamed into place only when the values are in:
  // a failure in either pass leaves nothing behind (formats/atomic_file.h).
  AtomicFile out(path);
  ModelLayout layout;
  try {
    layout = write_model_data(out, header, blobs);
  } catch (...) {
    ::munmap(zeros, largest);
    throw;
  }
  ::munmap(zeros, largest);

  // Pass 2: the values, one matrix at a time, at the offsets the writer chose.
  {
    std::vector<float> values;
    std::vector<uint8_t> encoded;
    for (size_t i = 0; i < specs.size(); ++i) {
      const TensorSpec& t = specs[i];
      const DType dt = dtype_of(t);
      const int64_t cols = t.shape.back();
      const int64_t rows = t.shape.size() >= 2 ? t.shape[t.shape.size() - 2] : 1;
      const int64_t slices = t.shape.size() == 3 ? t.shape[0] : 1;
      const uint64_t slice_bytes = static_cast<uint64_t>(storage_bytes(dt, {rows, cols}));
      values.resize(static_cast<size_t>(rows * cols));
      encoded.resize(slice_bytes);
      for (int64_t sl = 0; sl < slices; ++sl) {
#pragma omp parallel for schedule(static)
        for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock)
          fill_rows(s, t, i, sl, r0, std::min(kRowBlock, rows - r0), cols, values.data() + r0 * cols);
        const void* bytes = values.data();
        if (dt != DType::F32) {
          encode_matrix(dt, values.data(), rows, cols, encoded.data());
          bytes = encoded.data();
        }
        // A stacked block tensor holds every matrix's quants before all their scales.
        const uint64_t at = layout.data_offset + layout.offsets[i];
        const uint64_t sbytes = dtype_is_quantized(dt) ? static_cast<uint64_t>(rows * (cols / kQuantBlock)) * 2 : 0;
        const uint64_t qbytes = slice_bytes - sbytes, n = static_cast<uint64_t>(slices), i = static_cast<uint64_t>(sl);
        out.pwrite(bytes, qbytes, at + i * qbytes);
        if (sbytes) out.pwrite(static_cast<const uint8_t*>(bytes) + qbytes, sbytes, at + n * qbytes + i * sbytes);
      }
    }
  }
  out.commit();
}

std::shared_ptr<const Model> make_synthetic_model(const SyntheticSpec& spec, const ModelOptions& opts,
                                                  const std::string& dir_in) {
  static std::atomic<uint64_t> counter{0};
  const std::string dir = dir_in.empty() ? default_dir() : dir_in;
  const std::string path = dir + "/hmoe_synthetic_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter.fetch_add(1)) + ".hmoe";
  try {
    write_synthetic_model(spec, path);
    std::shared_ptr<const Model> m = Model::load(path, opts);
    std::remove(path.c_str());
    return m;
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
}

}  // namespace hmoe
