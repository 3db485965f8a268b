#include "tools/common/cpu_usage.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace hmoe::tools {

CpuSample sample_cpu() {
  CpuSample s;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  if (!(stat >> cpu) || cpu != "cpu") return s;
  for (uint64_t& x : v) stat >> x;
  if (!stat) return s;
  for (uint64_t x : v) s.total += x;
  s.busy = s.total - v[3] - v[4];
  // /proc/self/stat: fields 14 and 15 (utime, stime) follow the command name, which is
  // in parentheses and may contain spaces: parse after the last ')'.
  std::ifstream self("/proc/self/stat");
  std::string line;
  std::getline(self, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  s.self = utime + stime;
  s.ok = true;
  return s;
}

void OtherCpu::add(const CpuSample& a, const CpuSample& b) {
  if (!a.ok || !b.ok || b.total <= a.total) return;
  total_ += b.total - a.total;
  const uint64_t busy = b.busy - a.busy, self = b.self - a.self;
  other_ += busy > self ? busy - self : 0;
}

double OtherCpu::fraction() const {
  return total_ ? static_cast<double>(other_) / static_cast<double>(total_) : 0.0;
}

double load_average_1m() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double l = -1;
  if (std::fscanf(f, "%lf", &l) != 1) l = -1;
  std::fclose(f);
  return l;
}

}  // namespace hmoe::tools
