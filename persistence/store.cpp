#include "persistence/store.hpp"

#include <atomic>
#include <filesystem>

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "common/errc.hpp"

namespace adclick {

struct store::impl {
  std::unique_ptr<const leveldb::FilterPolicy> bloom;
  std::unique_ptr<leveldb::DB> db;
  bool sync = true;
  std::atomic<std::uint64_t> id_reads{0};
};

namespace {

/// The one place LevelDB's Status becomes our error.
caf::error to_error(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return {};
  return make_error(errc::storage, what + ": " + s.ToString());
}

}  // namespace

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir, const options& opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::storage, "cannot create " + dir + ": " + ec.message());

  auto p = std::make_unique<impl>();
  p->sync = opts.sync;
  p->bloom.reset(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options o;
  o.create_if_missing = true;
  o.filter_policy = p->bloom.get();
  o.write_buffer_size = 32 << 20;
  leveldb::DB* raw = nullptr;
  auto s = leveldb::DB::Open(o, dir, &raw);
  if (!s.ok()) {
    // LevelDB reports a held LOCK file as an IO error mentioning "lock".
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
      return make_error(errc::storage_locked,
                        "data directory " + dir + " is in use by another process (" +
                          s.ToString() + ")");
    return to_error(s, "cannot open " + dir);
  }
  p->db.reset(raw);

  std::string meta;
  s = p->db->Get(leveldb::ReadOptions{}, keys::meta_key(), &meta);
  if (s.IsNotFound()) {
    leveldb::WriteOptions w;
    w.sync = true;
    if (auto err = to_error(p->db->Put(w, keys::meta_key(), keys::encode_meta(opts.partitions)),
                            "cannot write meta"))
      return err;
  } else if (!s.ok()) {
    return to_error(s, "cannot read meta");
  } else {
    std::uint32_t format = 0, partitions = 0;
    if (!keys::decode_meta(meta, format, partitions) || format != keys::format_version)
      return make_error(errc::format_mismatch,
                        dir + " holds storage format " + std::to_string(format) +
                          ", this build reads format " + std::to_string(keys::format_version));
    if (partitions != opts.partitions)
      return make_error(errc::format_mismatch,
                        dir + " was created with partitions.count=" + std::to_string(partitions) +
                          " but the configuration says " + std::to_string(opts.partitions));
  }
  return std::unique_ptr<store>{new store(std::move(p))};
}

caf::error store::write(const checkpoint& cp) {
  leveldb::WriteBatch batch;
  for (const auto& ad : cp.ads) {
    for (const auto& m : ad.minutes) {
      batch.Put(keys::count_key(ad.ad_id, granularity::minute, m.minute_ms),
                keys::encode_bucket({m.count, m.state, m.version}));
      if (m.state == bucket_state::open)
        batch.Put(keys::open_key(cp.partition, m.minute_ms, ad.ad_id), {});
      else
        batch.Delete(keys::open_key(cp.partition, m.minute_ms, ad.ad_id));
    }
    // Chunk numbers are the checkpoint's stream sequence: unique and increasing per
    // partition, and an ad belongs to one partition.
    for (const auto& m : ad.ids)
      batch.Put(keys::id_chunk_key(ad.ad_id, m.minute_ms, cp.stream_seq), keys::encode_ids(m.ids));
    for (const auto& f : ad.filters) batch.Put(keys::filter_key(ad.ad_id, f.minute_ms), f.bytes);
  }
  keys::position pos;
  pos.stream_seq = cp.stream_seq;
  pos.watermark_ms = cp.watermark_ms;
  pos.outcomes = cp.outcomes;
  batch.Put(keys::position_key(cp.partition), keys::encode_position(pos));
  leveldb::WriteOptions w;
  w.sync = impl_->sync;
  return to_error(impl_->db->Write(w, &batch), "checkpoint write failed");
}

caf::expected<keys::position> store::read_position(std::uint32_t partition) {
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::position_key(partition), &value);
  if (s.IsNotFound()) return keys::position{};
  if (!s.ok()) return to_error(s, "cannot read position");
  auto pos = keys::decode_position(value);
  if (!pos)
    return make_error(errc::storage, "corrupt position of partition " + std::to_string(partition));
  return *pos;
}

caf::expected<minute_count> store::read_minute(std::uint64_t ad_id, std::int64_t minute_ms) {
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{},
                          keys::count_key(ad_id, granularity::minute, minute_ms), &value);
  if (s.IsNotFound()) return minute_count{minute_ms, 0, bucket_state::open, 0};
  if (!s.ok()) return to_error(s, "cannot read bucket");
  auto v = keys::decode_bucket(value);
  if (!v) return make_error(errc::storage, "corrupt bucket of ad " + std::to_string(ad_id));
  return minute_count{minute_ms, v->count, v->state, v->version};
}

caf::error store::scan_open(std::uint32_t partition,
                            const std::function<void(std::int64_t, std::uint64_t)>& visit) {
  const auto prefix = keys::open_prefix(partition);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::int64_t minute = 0;
    std::uint64_t ad = 0;
    if (!keys::parse_open_key({it->key().data(), it->key().size()}, minute, ad))
      return make_error(errc::storage, "corrupt open-bucket key");
    visit(minute, ad);
  }
  return to_error(it->status(), "open-bucket scan failed");
}

std::uint64_t store::id_reads() const { return impl_->id_reads.load(std::memory_order_relaxed); }

caf::expected<std::string> store::read_filter(std::uint64_t ad_id, std::int64_t minute_ms) {
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::filter_key(ad_id, minute_ms), &value);
  if (s.IsNotFound()) return std::string{};
  if (!s.ok()) return to_error(s, "cannot read id filter");
  return value;
}

caf::error store::read_ids(std::uint64_t ad_id, std::int64_t minute_ms, std::vector<click_id>& out) {
  impl_->id_reads.fetch_add(1, std::memory_order_relaxed);
  const auto prefix = keys::id_chunk_prefix(ad_id, minute_ms);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    if (!keys::decode_ids({it->value().data(), it->value().size()}, out))
      return make_error(errc::storage, "corrupt id chunk of ad " + std::to_string(ad_id));
  return to_error(it->status(), "id scan failed");
}

caf::error store::scan_minutes(std::uint64_t ad_id, std::int64_t from_ms, std::int64_t to_ms,
                               std::vector<series_point>& out) {
  const auto first = keys::count_key(ad_id, granularity::minute, from_ms);
  const auto last = keys::count_key(ad_id, granularity::minute, to_ms);  // exclusive
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek(first); it->Valid() && it->key().compare(last) < 0; it->Next()) {
    auto k = keys::parse_count_key({it->key().data(), it->key().size()});
    auto v = keys::decode_bucket({it->value().data(), it->value().size()});
    if (!k || !v) return make_error(errc::storage, "corrupt bucket of ad " + std::to_string(ad_id));
    out.push_back({k->bucket_start_ms, v->count, v->state, v->version});
  }
  return to_error(it->status(), "scan failed");
}

}  // namespace adclick
