#include "tools/truth.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

namespace adclick {

void truth::merge(const truth& other) {
  clicks += other.clicks;
  outcomes += other.outcomes;
  for (const auto& [key, b] : other.counts) {
    auto& mine = counts[key];
    mine.count += b.count;
    mine.amendments += b.amendments;
    mine.final = mine.final || b.final;
  }
}

bool truth::save(const std::string& path, std::string& error) const {
  nlohmann::json j;
  j["version"] = 2;
  j["seed"] = seed;
  j["clicks"] = clicks;
  nlohmann::json oc = nlohmann::json::object();
  for (std::size_t i = 0; i < outcome_count; ++i) oc[to_string(static_cast<outcome>(i))] = outcomes.by_outcome[i];
  j["outcomes"] = oc;
  auto rows = nlohmann::json::array();
  for (const auto& [key, b] : counts) rows.push_back({key.first, key.second, b.count, b.amendments, b.final ? 1 : 0});
  j["counts"] = std::move(rows);
  std::ofstream out{path};
  out << j.dump() << "\n";
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  return true;
}

std::optional<truth> truth::load(const std::string& path, std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  try {
    auto j = nlohmann::json::parse(in);
    truth t;
    t.seed = j.at("seed").get<std::uint64_t>();
    t.clicks = j.at("clicks").get<std::uint64_t>();
    for (std::size_t i = 0; i < outcome_count; ++i) {
      auto name = to_string(static_cast<outcome>(i));
      if (j.at("outcomes").contains(name)) t.outcomes.by_outcome[i] = j["outcomes"][name].get<std::uint64_t>();
    }
    for (const auto& row : j.at("counts")) {
      expected_bucket b;
      b.count = row.at(2).get<std::uint64_t>();
      if (row.size() >= 5) {
        b.amendments = row.at(3).get<std::uint32_t>();
        b.final = row.at(4).get<int>() != 0;
      }
      t.counts[{row.at(0).get<std::uint64_t>(), row.at(1).get<std::int64_t>()}] = b;
    }
    return t;
  } catch (const std::exception& e) {
    error = path + ": " + e.what();
    return std::nullopt;
  }
}

}  // namespace adclick
