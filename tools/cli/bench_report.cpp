#include "tools/cli/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace hmoe::cli {

namespace {

std::vector<double> speeds(const BenchRow& r) {
  std::vector<double> v;
  for (double s : r.seconds) v.push_back(s > 0 ? r.n_tokens / s : 0.0);
  return v;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string ratio_text(double q) {
  if (std::isnan(q)) return "1 (baseline)";
  return fmt("%.3f", q) + " (" + fmt("%+.1f%%", 100.0 * (q - 1.0)) + ")";
}

std::string cpu_ratio_text(const BenchRow& r) {
  if (r.threads != 1) return "-";
  return ratio_text(r.cpu_ratio_median());
}

std::string cache_text(const BenchRow& r) {
  if (!r.has_cache) return "";
  const uint64_t n = r.cache_hits + r.cache_misses;
  return n ? fmt("%.1f%%", 100.0 * static_cast<double>(r.cache_hits) / static_cast<double>(n)) : "-";
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (c == '\n') o += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      o += buf;
    }
    else o += c;
  }
  return o;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt("%.6g", v);
}

// A JSON array of numbers.
std::string json_numbers(const std::vector<double>& v) {
  std::string o = "[";
  for (size_t j = 0; j < v.size(); ++j) o += (j ? ", " : "") + json_number(v[j]);
  return o + "]";
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double BenchRow::tps_mean() const {
  const std::vector<double> v = speeds(*this);
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double BenchRow::tps_sd() const {
  const std::vector<double> v = speeds(*this);
  if (v.size() < 2) return 0.0;
  const double m = tps_mean();
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

double BenchRow::tps_median() const { return median(speeds(*this)); }
double BenchRow::ms_median() const { return 1e3 * median(seconds); }
double BenchRow::ratio_median() const { return median(ratios); }
double BenchRow::cpu_ratio_median() const { return median(cpu_ratios); }
double BenchRow::hyper_share() const {
  const double total = std::accumulate(seconds.begin(), seconds.end(), 0.0);
  return total > 0 ? hyper_seconds / total : 0.0;
}

double BenchRow::weight_gbps() const {
  return weight_bytes_per_token > 0 ? weight_bytes_per_token * tps_median() / 1e9 : 0.0;
}
double BenchRow::read_gbps() const {
  if (!read_gbps_reps.empty()) return median(read_gbps_reps);
  return std::max(read_gbps_before, read_gbps_after);
}
double BenchRow::fraction_of_read(double bytes_per_token) const {
  if (!(bytes_per_token > 0)) return NAN;
  if (!read_gbps_reps.empty() && read_gbps_reps.size() == seconds.size()) {
    std::vector<double> fractions;
    for (size_t r = 0; r < seconds.size(); ++r)
      if (seconds[r] > 0 && read_gbps_reps[r] > 0)
        fractions.push_back(bytes_per_token * n_tokens / seconds[r] / 1e9 / read_gbps_reps[r]);
    if (fractions.size() == seconds.size()) return median(fractions);
  }
  return read_gbps() > 0 ? bytes_per_token * tps_median() / 1e9 / read_gbps() : NAN;
}
double BenchRow::bw_fraction() const { return fraction_of_read(weight_bytes_per_token); }
double BenchRow::bw_fraction_with_kv() const {
  return weight_bytes_per_token > 0 && kv_bytes_per_token > 0
             ? fraction_of_read(weight_bytes_per_token + kv_bytes_per_token)
             : NAN;
}

std::string report_markdown(const BenchReport& r) {
  std::string o;
  for (const std::string& h : r.header) o += h + "\n";
  if (!r.header.empty()) o += "\n";
  o += "| test | threads | weights | config | t/s (mean ± sd) | median t/s | median ms | time vs " + r.baseline +
       " | CPU time vs " + r.baseline +
       " | HyperExpert share | cache hits | weights GB/s | of read bw | with KV | other CPU |\n";
  o += "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  auto percent = [](double f) { return std::isnan(f) ? std::string("-") : fmt("%.0f%%", 100.0 * f); };
  for (const BenchRow& row : r.rows) {
    o += "| " + row.test + " | " + std::to_string(row.threads) + " | " + row.weights + " | " + row.config + " | " +
         fmt("%.2f", row.tps_mean()) + " ± " + fmt("%.2f", row.tps_sd()) + " | " + fmt("%.2f", row.tps_median()) +
         " | " + fmt("%.1f", row.ms_median()) + " | " + ratio_text(row.ratio_median()) + " | " + cpu_ratio_text(row) +
         " | " + (row.hyper_seconds > 0 ? fmt("%.2f%%", 100.0 * row.hyper_share()) : std::string("-")) + " | " +
         cache_text(row) + " | " + (row.weight_gbps() > 0 ? fmt("%.1f", row.weight_gbps()) : std::string("-")) +
         " | " + percent(row.bw_fraction()) + " | " + percent(row.bw_fraction_with_kv()) + " | " +
         (row.other_cpu < 0 ? std::string("?") : fmt("%.0f%%", 100.0 * row.other_cpu)) + " |\n";
  }
  if (!r.warnings.empty()) o += "\n";
  for (const std::string& w : r.warnings) o += "warning: " + w + "\n";
  return o;
}

std::string report_csv(const BenchReport& r) {
  std::string o =
      "test,n_tokens,threads,weights,config,reps,tps_mean,tps_sd,tps_median,ms_median,time_ratio,cpu_time_ratio,hyper_share,cache_hits,"
      "cache_misses,cache_evictions,weight_bytes_per_token,weight_gbps,read_gbps,bw_fraction,other_cpu,"
      "read_gbps_before,read_gbps_after,kv_bytes_per_token,bw_fraction_with_kv\n";
  for (const BenchRow& row : r.rows) {
    const double q = row.ratio_median();
    const double bw = row.bw_fraction();
    o += row.test + "," + std::to_string(row.n_tokens) + "," + std::to_string(row.threads) + "," + row.weights + "," +
         row.config + "," +
         std::to_string(row.seconds.size()) + "," + fmt("%.4f", row.tps_mean()) + "," + fmt("%.4f", row.tps_sd()) +
         "," + fmt("%.4f", row.tps_median()) + "," + fmt("%.4f", row.ms_median()) + "," +
         (std::isnan(q) ? std::string("1") : fmt("%.5f", q)) + "," +
         (std::isnan(row.cpu_ratio_median()) ? std::string("1") : fmt("%.5f", row.cpu_ratio_median())) + "," +
         fmt("%.5f", row.hyper_share()) + "," +
         (row.has_cache ? std::to_string(row.cache_hits) : "") + "," +
         (row.has_cache ? std::to_string(row.cache_misses) : "") + "," +
         (row.has_cache ? std::to_string(row.cache_evictions) : "") + "," +
         (row.weight_bytes_per_token > 0 ? fmt("%.0f", row.weight_bytes_per_token) : std::string("")) + "," +
         (row.weight_gbps() > 0 ? fmt("%.4f", row.weight_gbps()) : std::string("")) + "," +
         (row.read_gbps() > 0 ? fmt("%.4f", row.read_gbps()) : std::string("")) + "," +
         (std::isnan(bw) ? std::string("") : fmt("%.5f", bw)) + "," +
         (row.other_cpu < 0 ? std::string("") : fmt("%.4f", row.other_cpu)) + "," +
         (row.read_gbps_before > 0 ? fmt("%.4f", row.read_gbps_before) : std::string("")) + "," +
         (row.read_gbps_after > 0 ? fmt("%.4f", row.read_gbps_after) : std::string("")) + "," +
         (row.kv_bytes_per_token > 0 ? fmt("%.0f", row.kv_bytes_per_token) : std::string("")) + "," +
         (std::isnan(row.bw_fraction_with_kv()) ? std::string("") : fmt("%.5f", row.bw_fraction_with_kv())) + "\n";
  }
  return o;
}

std::string report_json(const BenchReport& r) {
  std::string o = "{\n  \"header\": [";
  for (size_t i = 0; i < r.header.size(); ++i) o += (i ? ", " : "") + std::string("\"") + json_escape(r.header[i]) + "\"";
  o += "],\n  \"baseline\": \"" + json_escape(r.baseline) + "\",\n  \"results\": [\n";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const BenchRow& row = r.rows[i];
    o += "    {\"test\": \"" + row.test + "\", \"n_tokens\": " + std::to_string(row.n_tokens) +
         ", \"threads\": " + std::to_string(row.threads) + ", \"weights\": \"" + json_escape(row.weights) +
         "\", \"config\": \"" + row.config + "\", \"seconds\": " + json_numbers(row.seconds);
    o += ", \"tps_mean\": " + json_number(row.tps_mean()) + ", \"tps_sd\": " + json_number(row.tps_sd()) +
         ", \"tps_median\": " + json_number(row.tps_median()) + ", \"time_ratio\": " +
         json_number(std::isnan(row.ratio_median()) ? 1.0 : row.ratio_median()) + ", \"cpu_time_ratio\": " +
         json_number(std::isnan(row.cpu_ratio_median()) ? 1.0 : row.cpu_ratio_median()) +
         ", \"hyper_share\": " + json_number(row.hyper_share()) +
         ", \"weight_bytes_per_token\": " + (row.weight_bytes_per_token > 0 ? fmt("%.0f", row.weight_bytes_per_token) : std::string("null")) +
         ", \"weight_gbps\": " + (row.weight_gbps() > 0 ? json_number(row.weight_gbps()) : std::string("null")) +
         ", \"read_gbps\": " + (row.read_gbps() > 0 ? json_number(row.read_gbps()) : std::string("null")) +
         ", \"bw_fraction\": " + json_number(row.bw_fraction()) +
         ", \"read_gbps_before\": " +
         (row.read_gbps_before > 0 ? json_number(row.read_gbps_before) : std::string("null")) +
         ", \"read_gbps_after\": " + (row.read_gbps_after > 0 ? json_number(row.read_gbps_after) : std::string("null")) +
         ", \"read_gbps_reps\": " + json_numbers(row.read_gbps_reps) +
         ", \"kv_bytes_per_token\": " +
         (row.kv_bytes_per_token > 0 ? fmt("%.0f", row.kv_bytes_per_token) : std::string("null")) +
         ", \"bw_fraction_with_kv\": " + json_number(row.bw_fraction_with_kv()) +
         ", \"round_trip_ns\": " + json_numbers(row.round_trip_ns) +
         ", \"other_cpu\": " + (row.other_cpu < 0 ? std::string("null") : json_number(row.other_cpu));
    if (row.has_cache)
      o += ", \"cache\": {\"hits\": " + std::to_string(row.cache_hits) + ", \"misses\": " +
           std::to_string(row.cache_misses) + ", \"evictions\": " + std::to_string(row.cache_evictions) + "}";
    o += std::string("}") + (i + 1 < r.rows.size() ? "," : "") + "\n";
  }
  o += "  ],\n  \"warnings\": [";
  for (size_t i = 0; i < r.warnings.size(); ++i)
    o += (i ? ", " : "") + std::string("\"") + json_escape(r.warnings[i]) + "\"";
  o += "]\n}\n";
  return o;
}

}  // namespace hmoe::cli
