// How busy the rest of the machine was during a measurement: on a shared machine, a
// benchmark whose OpenMP team waits for a descheduled thread reports nonsense, so the
// benchmark prints the load of other processes next to its figures.
#pragma once

namespace hmoe::bench {

class MachineLoad {
 public:
  MachineLoad();  // starts the interval
  // CPU time of other processes over the interval, in cores (0 = quiet). -1 if unknown.
  double others_cores() const;

 private:
  double wall_, busy_, self_;
};

}  // namespace hmoe::bench
