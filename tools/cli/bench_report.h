// Results of `hmoe bench` and their three renderings: a markdown table (for people and
// READMEs), CSV and JSON (for scripts). Speeds are tokens per second over repetitions;
// each configuration's cost is its time over the baseline's, paired repetition by
// repetition (the configurations of one repetition run back to back, so a slow moment
// of a shared machine hits both sides of a ratio).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe::cli {

struct BenchRow {
  std::string test;    // "pp128" (prompt processing) or "tg64" (generation)
  int n_tokens = 0;
  int threads = 0;
  std::string config;  // "moe", "cached", "pertoken"
  std::string weights;  // which model: its dtype (synthetic) or file name
  std::vector<double> seconds;  // one per repetition
  std::vector<double> ratios;   // seconds / the baseline's seconds, per repetition
  // The calling thread's CPU time per repetition and its ratio to the baseline's. With one
  // thread it is the work itself, whatever else the machine runs (time spent descheduled
  // does not count), so on a busy machine it is the more trustworthy ratio.
  std::vector<double> cpu_seconds, cpu_ratios;
  double hyper_seconds = 0;      // of all repetitions' time, spent on HyperExperts (Session counters)
  double other_cpu = -1;        // fraction of CPU time other processes used; -1 unknown
  bool has_cache = false;       // cache counters below apply
  uint64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0;
  // tg rows: the bytes of weights one token reads (decode_weight_traffic) and the read
  // bandwidth measured with this thread count right before and right after the test's
  // rows, in GB/s; 0 when unknown.
  double weight_bytes_per_token = 0, read_gbps_before = 0, read_gbps_after = 0;
  // tg rows: per repetition, the better of the probes right before and right after it
  // (the test's probes between its repetitions); empty when unknown.
  std::vector<double> read_gbps_reps;
  // tg rows: the bytes of keys and values a token's attention reads, averaged over the
  // test's tokens (Session::decode_kv_bytes); 0 when unknown. Decode reads them beside
  // the weights: a few percent of the weights' bytes for GPT-2 at 64 tokens, about a
  // tenth for an encoder-decoder's q4_0 weights (its cross-attention reads the encoded
  // input's keys and values at every token).
  double kv_bytes_per_token = 0;
  // tg rows at two threads or more: the threads' round trip in ns (thread_round_trip.h)
  // beside each probe, in order (before the first repetition, between, after the last).
  std::vector<double> round_trip_ns;

  double tps_mean() const;
  double tps_sd() const;
  double tps_median() const;
  double ms_median() const;     // per run
  double ratio_median() const;  // NaN for the baseline itself
  double cpu_ratio_median() const;
  // hyper_seconds over all repetitions' time: the HyperExpert's share of this configuration's
  // time, measured inside the same runs (1 / (1 - share) is then its cost over plain MoE).
  double hyper_share() const;
  double weight_gbps() const;  // bytes per token x tokens per second (median); 0 when unknown
  // The read bandwidth the fractions are of: the median of read_gbps_reps, or where
  // those are unknown the better of the probes before and after (STREAM keeps its best
  // pass).
  double read_gbps() const;
  // Each repetition's weights GB/s over the probe beside it (read_gbps_reps), the median
  // of those: on a machine whose memory changes speed from second to second, each
  // repetition is held to the bandwidth of its own moment. Without read_gbps_reps,
  // weight_gbps over read_gbps. NaN when unknown.
  double bw_fraction() const;
  // The same with the keys and values counted beside the weights: every byte a decode
  // token reads from memory. NaN when unknown.
  double bw_fraction_with_kv() const;

 private:
  double fraction_of_read(double bytes_per_token) const;
};

struct BenchReport {
  std::vector<std::string> header;    // lines about the model and the machine
  std::vector<BenchRow> rows;
  std::vector<std::string> warnings;  // e.g. other processes were busy
  std::string baseline = "moe";
};

std::string report_markdown(const BenchReport& r);
std::string report_csv(const BenchReport& r);
std::string report_json(const BenchReport& r);

double median(std::vector<double> v);

}  // namespace hmoe::cli
