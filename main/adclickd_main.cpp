// adclickd: the adclick service. See README.md and config/adclick.example.ini.
#include <iostream>

#include <caf/actor_system.hpp>

#include "config/adclick_config.hpp"
#include "main/service.hpp"

int main(int argc, char** argv) {
  adclick::block_stop_signals();  // before any thread exists (see service.hpp)
  adclick::adclick_config cfg;
  if (auto problem = cfg.load(argc, argv); !problem.empty()) {
    std::cerr << "adclickd: " << problem << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed) return 0;
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    rc = adclick::run_service(sys, cfg);
  }  // waits for every actor to finish
  return rc;
}
