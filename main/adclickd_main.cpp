// adclickd: the adclick service. See README.md and config/adclick.example.ini.
#include <iostream>

#include <caf/actor_system.hpp>

#include "common/log.hpp"
#include "config/adclick_config.hpp"
#include "main/service.hpp"

int main(int argc, char** argv) {
  adclick::block_stop_signals();  // before any thread exists (see service.hpp)
  using action = adclick::adclick_config::action;
  adclick::adclick_config cfg;
  const auto problem = cfg.load(argc, argv);
  if (cfg.requested == action::help) {
    std::cout << cfg.help();
    return 0;
  }
  if (!problem.empty()) {
    std::cerr << "adclickd: " << problem << "\n";
    return 2;
  }
  if (cfg.requested == action::print_config) {
    std::cout << cfg.print();
    return 0;
  }
  if (cfg.requested == action::check_config) {
    std::cout << "adclickd: the configuration is valid\n";
    return 0;
  }
  adclick::set_log_level(cfg.log_level);
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    rc = adclick::run_service(sys, cfg);
  }  // waits for every actor to finish
  adclick::stop_finished();
  return rc;
}
