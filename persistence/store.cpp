#include "persistence/store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <shared_mutex>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "common/errc.hpp"
#include "common/fault_switch.hpp"
#include "common/time.hpp"
#include "common/log.hpp"
#include "messages/click_codec.hpp"

namespace adclick {

namespace {

/// The one place LevelDB's Status becomes our error.
caf::error to_error(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return {};
  return make_error(errc::storage, what + ": " + s.ToString());
}

// -- fault injection (testing) ------------------------------------------------------------

/// A file whose appends and syncs fail, tear or hang while the matching fault is active.
class faulty_file final : public leveldb::WritableFile {
 public:
  faulty_file(leveldb::WritableFile* target, std::string name, fault_switch& faults)
    : target_(target), name_(std::move(name)), faults_(faults) {}
  ~faulty_file() override { delete target_; }

  leveldb::Status Append(const leveldb::Slice& data) override {
    if (faults_.active("storage-full")) return leveldb::Status::IOError(name_, "No space left on device (injected)");
    if (is_log() && data.size() > 1 && faults_.active("storage-slow-append"))
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (is_log() && data.size() > 1 && faults_.active("storage-torn-append")) {
      // Half of the data reaches the file, then the write fails: a torn log record.
      auto s = target_->Append(leveldb::Slice(data.data(), data.size() / 2));
      if (s.ok()) s = target_->Flush();
      return leveldb::Status::IOError(name_, "write torn (injected)");
    }
    return target_->Append(data);
  }
  leveldb::Status Close() override { return target_->Close(); }
  leveldb::Status Flush() override { return target_->Flush(); }
  leveldb::Status Sync() override {
    while (faults_.active("storage-hang")) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (faults_.active("storage-sync-fail")) return leveldb::Status::IOError(name_, "fsync failed (injected)");
    return target_->Sync();
  }

 private:
  bool is_log() const { return name_.size() > 4 && name_.compare(name_.size() - 4, 4, ".log") == 0; }
  leveldb::WritableFile* target_;
  std::string name_;
  fault_switch& faults_;
};

// -- the files LevelDB reads and writes ---------------------------------------------------

/// A table file read with pread, not mapped: LevelDB's default maps up to 1000 of them,
/// and their pages then count in the process's RSS (1.1 GB of a 2 GB RSS in the steady
/// benchmark, 2026-11-29) though they are the kernel's page cache, which it would keep and
/// reclaim the same way after a pread.
class pread_file final : public leveldb::RandomAccessFile {
 public:
  pread_file(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~pread_file() override { ::close(fd_); }

  leveldb::Status Read(std::uint64_t offset, std::size_t n, leveldb::Slice* result, char* scratch) const override {
    std::size_t got = 0;
    while (got < n) {
      const auto r = ::pread(fd_, scratch + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        *result = leveldb::Slice(scratch, 0);
        return leveldb::Status::IOError(name_, std::strerror(errno));
      }
      if (r == 0) break;  // (the end of the file: LevelDB checks the length it got)
      got += static_cast<std::size_t>(r);
    }
    *result = leveldb::Slice(scratch, got);
    return leveldb::Status::OK();
  }

 private:
  std::string name_;
  int fd_;
};

/// LevelDB's default file system, but tables are read with pread, and with a fault switch
/// (testing) writes fail, tear or hang on demand.
class store_env final : public leveldb::EnvWrapper {
 public:
  explicit store_env(std::shared_ptr<fault_switch> faults)
    : leveldb::EnvWrapper(leveldb::Env::Default()), faults_(std::move(faults)) {}
  leveldb::Status NewRandomAccessFile(const std::string& f, leveldb::RandomAccessFile** r) override {
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // IOError even for a missing file: NotFound from a read would make the store take
      // a row as absent (a bucket at zero) when a table it needs has vanished.
      *r = nullptr;
      return leveldb::Status::IOError(f, std::strerror(errno));
    }
    *r = new pread_file(f, fd);
    return leveldb::Status::OK();
  }
  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override {
    return wrap(target()->NewWritableFile(f, r), f, r);
  }
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override {
    return wrap(target()->NewAppendableFile(f, r), f, r);
  }

 private:
  leveldb::Status wrap(leveldb::Status s, const std::string& f, leveldb::WritableFile** r) {
    if (s.ok() && faults_) *r = new faulty_file(*r, f, *faults_);
    return s;
  }
  std::shared_ptr<fault_switch> faults_;  ///< null: no faults
};

/// How many table files LevelDB may keep open (each holds a descriptor now that none is
/// mapped): its default of 1000, within half the process's descriptor limit.
int max_open_tables() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1000;
  return static_cast<int>(std::clamp<rlim_t>(limit.rlim_cur / 2, 64, 1000));
}

}  // namespace

// -- batch --------------------------------------------------------------------------------

struct store::batch::impl {
  leveldb::WriteBatch wb;
  std::size_t puts = 0;
  bool expiry_rows = true;
};

store::batch::batch() : impl_(std::make_unique<impl>()) {}
store::batch::~batch() = default;
store::batch::batch(batch&&) noexcept = default;
store::batch& store::batch::operator=(batch&&) noexcept = default;

namespace {
/// The expiry rows of a final minute row: its own, its hour's and its day's (the hour and
/// day rows are written again by later minutes; their expiry rows are the same keys).
void put_expiry(leveldb::WriteBatch& wb, std::uint64_t ad_id, std::int64_t minute_ms) {
  wb.Put(keys::expiry_key(granularity::minute, minute_ms, ad_id), {});
  wb.Put(keys::expiry_key(granularity::hour, bucket_start(minute_ms, hour_ms), ad_id), {});
  wb.Put(keys::expiry_key(granularity::day, bucket_start(minute_ms, day_ms), ad_id), {});
}
}  // namespace

void store::batch::put_bucket(std::uint32_t partition, std::uint64_t ad_id, const minute_count& m) {
  impl_->wb.Put(keys::count_key(ad_id, granularity::minute, m.minute_ms),
                keys::encode_bucket({m.count, m.state, m.version}));
  if (m.state == bucket_state::open) {
    impl_->wb.Put(keys::open_key(partition, m.minute_ms, ad_id), {});
  } else {
    impl_->wb.Delete(keys::open_key(partition, m.minute_ms, ad_id));
    if (impl_->expiry_rows) put_expiry(impl_->wb, ad_id, m.minute_ms);
  }
  ++impl_->puts;
}

void store::batch::omit_expiry_rows() { impl_->expiry_rows = false; }

void store::batch::put_ids(std::uint64_t ad_id, std::int64_t minute_ms, const std::vector<click_id>& ids,
                           std::uint64_t chunk) {
  if (ids.empty()) return;
  const auto level = keys::id_level_for(ids.size());
  if (level == 0) {  // contains_id binary-searches the row: it must be sorted
    const auto key = keys::id_chunk_key(minute_ms, ad_id, 0, 0, chunk);
    if (std::is_sorted(ids.begin(), ids.end())) {  // as recent_ids::take_changes gives them
      impl_->wb.Put(key, keys::encode_ids(ids));
    } else {
      auto sorted = ids;
      std::sort(sorted.begin(), sorted.end());
      impl_->wb.Put(key, keys::encode_ids(sorted));
    }
    ++impl_->puts;
    return;
  }
  // One row per shard, each sorted: a lookup reads only its id's shard.
  std::vector<std::pair<std::uint16_t, click_id>> by_shard;
  by_shard.reserve(ids.size());
  for (const auto& id : ids) by_shard.emplace_back(keys::id_shard(id, level), id);
  std::sort(by_shard.begin(), by_shard.end());
  std::vector<click_id> run;
  for (std::size_t i = 0; i < by_shard.size();) {
    const auto shard = by_shard[i].first;
    run.clear();
    for (; i < by_shard.size() && by_shard[i].first == shard; ++i) run.push_back(by_shard[i].second);
    impl_->wb.Put(keys::id_chunk_key(minute_ms, ad_id, level, shard, chunk), keys::encode_ids(run));
    ++impl_->puts;
  }
}

void store::batch::put_filter(std::uint64_t ad_id, const minute_filter& f) {
  impl_->wb.Put(keys::filter_key(ad_id, f.minute_ms), f.bytes);
  ++impl_->puts;
}

void store::batch::put_runs(std::uint64_t ad_id, const minute_runs& r) {
  impl_->wb.Put(keys::runs_key(ad_id, r.minute_ms), r.bytes);
  ++impl_->puts;
}

void store::batch::put_rollup(std::uint64_t ad_id, const rollup_count& r) {
  impl_->wb.Put(keys::count_key(ad_id, r.gran, r.start_ms), keys::encode_rollup(r.value));
  ++impl_->puts;
}

void store::batch::put_owner(std::uint64_t ad_id, std::uint64_t campaign_id, std::uint64_t advertiser_id) {
  impl_->wb.Put(keys::owner_key(ad_id), keys::encode_owner(campaign_id, advertiser_id));
  ++impl_->puts;
}

void store::batch::put_group(std::uint32_t partition, const group_count& g) {
  impl_->wb.Put(keys::group_key(g.kind, g.id, g.gran, g.start_ms, partition), keys::encode_rollup(g.value));
  ++impl_->puts;
}

void store::batch::put_ranking(std::uint32_t partition, const ranking& r) {
  impl_->wb.Put(keys::ranking_key(r.by, r.gran, r.start_ms, partition), keys::encode_ranking(r));
  ++impl_->puts;
}

void store::batch::put_outbox(std::uint32_t partition, const outbox_message& m) {
  impl_->wb.Put(keys::outbox_key(partition, m.seq), keys::encode_outbox(m));
  ++impl_->puts;
}

void store::batch::delete_outbox(std::uint32_t partition, std::uint64_t seq) {
  impl_->wb.Delete(keys::outbox_key(partition, seq));
  ++impl_->puts;
}

void store::batch::put_position(std::uint32_t partition, const keys::position& p) {
  impl_->wb.Put(keys::position_key(partition), keys::encode_position(p));
  ++impl_->puts;
}

bool store::batch::empty() const { return impl_->puts == 0; }

// -- store --------------------------------------------------------------------------------

struct store::impl {
  std::string dir;
  options opts;
  std::unique_ptr<leveldb::Env> env;  ///< store_env
  std::unique_ptr<const leveldb::FilterPolicy> bloom;
  /// Writes one at a time: a write must never enter LevelDB behind one that is failing,
  /// or it would be appended after a torn record and lost when the log is replayed.
  std::mutex write_mutex;
  /// Shared by reads and the write, exclusive for a reopen.
  std::shared_mutex mutex;
  std::unique_ptr<leveldb::DB> db;  ///< null after a reopen that failed
  std::atomic<bool> needs_reopen{false};
  std::atomic<std::uint64_t> id_reads{0};
  std::atomic<std::uint64_t> id_lookups{0};
  std::atomic<std::uint64_t> reopens{0};
  std::uint32_t format = keys::format_version;

  leveldb::Env* file_env() { return env.get(); }

  leveldb::Status open_db() {
    leveldb::Options o;
    o.create_if_missing = true;
    o.filter_policy = bloom.get();
    o.write_buffer_size = 32 << 20;
    o.max_open_files = max_open_tables();
    o.env = file_env();
    leveldb::DB* raw = nullptr;
    auto s = leveldb::DB::Open(o, dir, &raw);
    db.reset(raw);
    return s;
  }

  /// Whether a 1 MiB file can be written and synced in the directory now.
  leveldb::Status probe_space() {
    const auto path = dir + "/space-probe";
    leveldb::WritableFile* raw = nullptr;
    auto s = file_env()->NewWritableFile(path, &raw);
    std::unique_ptr<leveldb::WritableFile> f{raw};
    if (s.ok()) s = f->Append(std::string(1 << 20, '\0'));
    if (s.ok()) s = f->Sync();
    if (f) f->Close();
    f.reset();
    file_env()->RemoveFile(path);
    return s;
  }

  /// Reopens the database after a failed write, once the directory takes writes again.
  /// Called with write_mutex held.
  caf::error reopen() {
    // Probed without blocking reads: a slow or hung disk must not stall queries.
    if (auto s = probe_space(); !s.ok())
      return to_error(s, "the data directory does not take writes yet");
    std::unique_lock<std::shared_mutex> lock{mutex};
    db.reset();  // releases the LOCK file
    auto s = open_db();
    if (!s.ok()) {
      log_error("store", "storage_reopen_failed").kv("dir", dir).kv("error", s.ToString());
      return to_error(s, "cannot reopen " + dir);
    }
    needs_reopen = false;
    reopens.fetch_add(1, std::memory_order_relaxed);
    log_warn("store", "storage_reopened").kv("dir", dir);
    return {};
  }

  /// Upgrading a directory written before expiry rows: puts them for every final minute
  /// row, in synced batches of at most 100,000 rows. Run once, at open, before the meta
  /// is marked with the current format (a crash in between runs it again: the rows are
  /// the same keys).
  caf::error index_expiry();
};

caf::error store::impl::index_expiry() {
  std::unique_ptr<leveldb::Iterator> it{db->NewIterator(leveldb::ReadOptions{})};
  leveldb::WriteBatch wb;
  std::size_t rows = 0, pending = 0;
  auto flush = [&]() -> caf::error {
    leveldb::WriteOptions w;
    w.sync = true;
    auto err = to_error(db->Write(w, &wb), "cannot write expiry rows");
    wb.Clear();
    pending = 0;
    return err;
  };
  for (it->Seek("c"); it->Valid() && it->key()[0] == 'c'; it->Next()) {
    auto k = keys::parse_count_key({it->key().data(), it->key().size()});
    if (!k || k->gran != granularity::minute) continue;
    auto v = keys::decode_bucket({it->value().data(), it->value().size()});
    if (!v) return make_error(errc::storage, "corrupt count row of ad " + std::to_string(k->ad_id));
    if (v->state == bucket_state::open) continue;  // its final write will put them
    put_expiry(wb, k->ad_id, k->bucket_start_ms);
    ++rows;
    if (++pending == 100'000)
      if (auto err = flush()) return err;
  }
  if (auto err = to_error(it->status(), "cannot read count rows")) return err;
  if (pending != 0)
    if (auto err = flush()) return err;
  log_info("store", "expiry_rows_indexed").kv("dir", dir).kv("final_minutes", rows);
  return {};
}

namespace {
caf::error closed_error(const std::string& dir) {
  return make_error(errc::storage, "the database in " + dir + " is closed after a failed reopen");
}
}  // namespace

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir, const options& opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::storage, "cannot create " + dir + ": " + ec.message());

  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->opts = opts;
  p->env = std::make_unique<store_env>(opts.faults);
  p->bloom.reset(leveldb::NewBloomFilterPolicy(10));
  auto s = p->open_db();
  if (!s.ok()) {
    // LevelDB reports a held LOCK file as an IO error mentioning "lock".
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
      return make_error(errc::storage_locked,
                        "data directory " + dir + " is in use by another process (" + s.ToString() + ")");
    return to_error(s, "cannot open " + dir);
  }

  std::string value;
  s = p->db->Get(leveldb::ReadOptions{}, keys::meta_key(), &value);
  keys::meta wanted;
  wanted.partitions = opts.partitions;
  wanted.rules = opts.rules;
  if (s.IsNotFound()) {
    leveldb::WriteOptions w;
    w.sync = true;
    auto created = wanted;
    if (opts.create_format != 0) created.format = p->format = opts.create_format;
    if (auto err = to_error(p->db->Put(w, keys::meta_key(), keys::encode_meta(created)), "cannot write meta"))
      return err;
    return std::unique_ptr<store>{new store(std::move(p))};
  }
  if (!s.ok()) return to_error(s, "cannot read meta");
  keys::meta stored;
  const bool readable = keys::decode_meta(value, stored) &&
                        keys::readable_format(stored.format);
  if (!readable)
    return make_error(errc::format_mismatch,
                      dir + " holds storage format " + std::to_string(stored.format) + ", this build reads format " +
                        std::to_string(keys::format_version) +
                        "; start on an empty storage.dir (the stream is counted again from its first message)");
  if (stored.partitions != opts.partitions)
    return make_error(errc::format_mismatch, dir + " was created with partitions.count=" +
                                               std::to_string(stored.partitions) + " but the configuration says " +
                                               std::to_string(opts.partitions));
  if (stored.rules != opts.rules) {
    auto describe_rules = [](const window_rules& r) {
      return "max-out-of-orderness=" + std::to_string(r.max_out_of_orderness_ms) + "ms allowed-lateness=" +
             std::to_string(r.allowed_lateness_ms) + "ms max-future-skew=" + std::to_string(r.max_future_skew_ms) +
             "ms dedup.horizon=" + std::to_string(r.dedup_horizon_ms) + "ms";
    };
    return make_error(errc::format_mismatch,
                      dir + " was counted with windows " + describe_rules(stored.rules) + " but the configuration says " +
                        describe_rules(opts.rules) +
                        ": a change would make billed counts depend on when it was made; start with the stored "
                        "values, or on an empty storage.dir");
  }
  if (stored.format != keys::format_version) {
    // Format 5 is format 6 without runs rows (its chunks hold every id): this build reads
    // it as it is. Formats 5 and 6 are 7 without expiry rows: they are written now for
    // every final minute row, in one pass over the count rows (once, before the meta
    // says 7). The meta then says 7, so that an older build, which would not see the runs
    // rows nor write expiry rows, refuses the directory.
    if (auto err = p->index_expiry()) return err;
    leveldb::WriteOptions w;
    w.sync = true;
    if (auto err = to_error(p->db->Put(w, keys::meta_key(), keys::encode_meta(wanted)), "cannot write meta")) return err;
  }
  return std::unique_ptr<store>{new store(std::move(p))};
}

caf::error store::apply(batch& b, bool sync) {
  std::lock_guard<std::mutex> serial{impl_->write_mutex};
  if (impl_->needs_reopen.load())
    if (auto err = impl_->reopen()) return err;
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  leveldb::WriteOptions w;
  w.sync = sync;
  auto s = impl_->db->Write(w, &b.impl_->wb);
  if (!s.ok()) impl_->needs_reopen = true;  // nothing more goes into this log
  return to_error(s, "write failed");
}

caf::error store::write(batch& b) { return apply(b, impl_->opts.sync); }
caf::error store::write_unsynced(batch& b) { return apply(b, false); }

caf::expected<keys::position> store::read_position(std::uint32_t partition) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::position_key(partition), &value);
  if (s.IsNotFound()) return keys::position{};
  if (!s.ok()) return to_error(s, "cannot read position");
  auto pos = keys::decode_position(value);
  if (!pos) return make_error(errc::storage, "corrupt position of partition " + std::to_string(partition));
  return *pos;
}

caf::expected<minute_count> store::read_minute(std::uint64_t ad_id, std::int64_t minute_ms) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::count_key(ad_id, granularity::minute, minute_ms), &value);
  if (s.IsNotFound()) return minute_count{minute_ms, 0, bucket_state::open, 0};
  if (!s.ok()) return to_error(s, "cannot read bucket");
  auto v = keys::decode_bucket(value);
  if (!v) return make_error(errc::storage, "corrupt bucket of ad " + std::to_string(ad_id));
  return minute_count{minute_ms, v->count, v->state, v->version};
}

caf::error store::scan_open(std::uint32_t partition, scan_step& at, std::size_t limit,
                            const std::function<void(std::int64_t, std::uint64_t)>& visit) {
  // A disk too slow to make progress; the caller paces its steps.
  if (impl_->opts.faults && impl_->opts.faults->active("storage-scan-stall")) return {};
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto prefix = keys::open_prefix(partition);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  std::size_t visited = 0;
  for (it->Seek(at.next.empty() ? prefix : at.next); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (visited == limit) {
      at.next = it->key().ToString();
      return {};
    }
    std::int64_t minute = 0;
    std::uint64_t ad = 0;
    if (!keys::parse_open_key({it->key().data(), it->key().size()}, minute, ad))
      return make_error(errc::storage, "corrupt open-bucket key");
    visit(minute, ad);
    ++visited;
  }
  if (auto err = to_error(it->status(), "open-bucket scan failed")) return err;
  at.done = true;
  return {};
}

namespace {
/// Each partition's stored watermark as of `ro` (none: it never judged a click, so none of
/// its ads has a row retention could delete).
caf::expected<std::vector<std::optional<std::int64_t>>> stored_watermarks(leveldb::DB& db,
                                                                           const leveldb::ReadOptions& ro,
                                                                           std::uint32_t partitions) {
  std::vector<std::optional<std::int64_t>> out(partitions);
  for (std::uint32_t p = 0; p < partitions; ++p) {
    std::string value;
    auto s = db.Get(ro, keys::position_key(p), &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return to_error(s, "cannot read position");
    auto pos = keys::decode_position(value);
    if (!pos) return make_error(errc::storage, "corrupt position of partition " + std::to_string(p));
    if (pos->has_watermark()) out[p] = pos->watermark_ms;
  }
  return out;
}

/// What retention of counts has deleted in `partition` as of `ro` (nothing: no row).
caf::expected<count_floor> stored_count_floor(leveldb::DB& db, const leveldb::ReadOptions& ro,
                                              std::uint32_t partition) {
  std::string value;
  count_floor out;
  auto s = db.Get(ro, keys::count_floor_key(partition), &value);
  if (s.IsNotFound()) return out;
  if (!s.ok()) return to_error(s, "cannot read a count floor");
  if (!keys::decode_count_floor(value, out))
    return make_error(errc::storage, "corrupt count floor of partition " + std::to_string(partition));
  return out;
}

/// A LevelDB snapshot released when it goes out of scope.
struct snapshot_guard {
  leveldb::DB* db;
  leveldb::ReadOptions ro;
  explicit snapshot_guard(leveldb::DB* d) : db(d) { ro.snapshot = db->GetSnapshot(); }
  ~snapshot_guard() { db->ReleaseSnapshot(ro.snapshot); }
  snapshot_guard(const snapshot_guard&) = delete;
  snapshot_guard& operator=(const snapshot_guard&) = delete;
};
}  // namespace

template <class Visit>
caf::error store::retention_step(scan_step& at, Visit&& visit) {
  batch b;
  bool more = false, deleted = false;
  {
    std::shared_lock<std::shared_mutex> lock{impl_->mutex};
    if (!impl_->db) return closed_error(impl_->dir);
    snapshot_guard snap{impl_->db.get()};
    auto watermarks = stored_watermarks(*impl_->db, snap.ro, impl_->opts.partitions);
    if (!watermarks) return watermarks.error();
    std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(snap.ro)};
    auto visited = visit(*it, snap.ro, *watermarks, b.impl_->wb, more);
    if (!visited) return visited.error();
    deleted = *visited;
  }
  if (deleted)
    if (auto err = write_unsynced(b)) return err;
  if (!more) {
    at.done = true;
    at.next.clear();
  }
  return {};
}

caf::expected<store::purge_result> store::purge_expired_ids(scan_step& at, std::size_t limit) {
  purge_result out;
  const auto partitions = impl_->opts.partitions;
  auto err = retention_step(at, [&](leveldb::Iterator& iterator, const leveldb::ReadOptions&,
                                    const std::vector<std::optional<std::int64_t>>& watermarks,
                                    leveldb::WriteBatch& wb, bool& more) -> caf::expected<bool> {
    auto* it = &iterator;
    // Each partition's floor, as of the snapshot.
    std::vector<std::optional<std::int64_t>> floors(partitions);
    std::optional<std::int64_t> highest;
    for (std::uint32_t p = 0; p < partitions; ++p) {
      if (!watermarks[p]) continue;
      floors[p] = impl_->opts.rules.first_open_dedup_minute(*watermarks[p]);
      if (!out.floor_ms || *floors[p] < *out.floor_ms) {
        out.floor_ms = floors[p];
        out.held_by = p;
      }
      if (!highest || *floors[p] > *highest) highest = floors[p];
    }
    // The id chunks, the filters, then the runs: `at.next` says where this pass stands.
    std::size_t visited = 0;
    for (char tag : keys::dedup_tags) {
      if (!highest) break;
      if (!at.next.empty() && at.next[0] > tag) continue;  // done with this kind
      const auto end = keys::minute_range_end(tag, *highest);
      const std::string first(1, tag);
      for (it->Seek(!at.next.empty() && at.next[0] == tag ? at.next : first);
           it->Valid() && it->key()[0] == tag && it->key().compare(end) < 0; it->Next()) {
        if (visited == limit) {
          at.next = it->key().ToString();
          more = true;
          break;
        }
        ++visited;
        std::int64_t minute = 0;
        std::uint64_t ad = 0;
        if (!keys::parse_minute_ad({it->key().data(), it->key().size()}, minute, ad))
          return make_error(errc::storage, "corrupt id key");
        const auto& floor = floors[partition_of(ad, partitions)];
        if (!floor || minute >= *floor) continue;  // its partition may still ask about it
        wb.Delete(it->key());
        ++out.keys;
        out.bytes += it->key().size() + it->value().size();
        out.deleted_minutes.insert(minute);
      }
      if (auto err = to_error(it->status(), "retention scan failed")) return err;
      if (more) break;
      at.next = std::string(1, static_cast<char>(tag + 1));
    }
    return out.keys != 0;
  });
  if (err) return err;
  return out;
}

caf::expected<store::count_purge_result> store::purge_expired_counts(scan_step& at, std::size_t limit,
                                                                      const count_retention& keep) {
  count_purge_result out;
  const auto partitions = impl_->opts.partitions;
  auto err = retention_step(at, [&](leveldb::Iterator& iterator, const leveldb::ReadOptions& ro,
                                    const std::vector<std::optional<std::int64_t>>& watermarks,
                                    leveldb::WriteBatch& wb, bool& more) -> caf::expected<bool> {
    auto* it = &iterator;
    // Each partition's first kept bucket per granularity, and the highest of them.
    constexpr granularity grans[] = {granularity::minute, granularity::hour, granularity::day};
    auto index = [](granularity g) { return static_cast<std::size_t>(g); };
    std::vector<std::array<std::optional<std::int64_t>, 3>> kept_from(partitions);
    std::array<std::optional<std::int64_t>, 3> highest;
    for (std::uint32_t p = 0; p < partitions; ++p) {
      if (!watermarks[p]) continue;
      for (auto g : grans) {
        auto& f = kept_from[p][index(g)];
        f = keep.retained_from(g, *watermarks[p]);
        if (f && (!highest[index(g)] || *f > *highest[index(g)])) highest[index(g)] = f;
      }
    }
    auto expired = [&](std::uint32_t p, granularity g, std::int64_t start) {
      const auto& f = kept_from[p][index(g)];
      return f && start < *f;
    };
    // Each partition's floor is raised to what this step may delete, in the same batch as
    // its deletes, before any of them: a query reads its buckets, then the floor. The
    // minutes a partition keeps start at its floor so raised: the higher of its rule and
    // what is gone (after a restart with a longer retention, what is gone stays gone).
    bool floors_moved = false;
    for (std::uint32_t p = 0; p < partitions; ++p) {
      count_floor now;
      for (auto g : grans)
        if (const auto& f = kept_from[p][index(g)]) now.kept_from[index(g)] = *f;
      auto read = stored_count_floor(*impl_->db, ro, p);
      if (!read) return read.error();
      auto& stored = *read;
      if (stored.raise(now)) {
        wb.Put(keys::count_floor_key(p), keys::encode_count_floor(stored));
        floors_moved = true;
      }
      const auto minutes = stored.of(granularity::minute);  // raised: at least the rule
      if (minutes != count_floor::no_bucket && (!out.minutes_from_ms || minutes < *out.minutes_from_ms)) {
        out.minutes_from_ms = minutes;
        out.held_by = p;
      }
    }
    // The ranges a pass visits, in key order: the expiry rows of each granularity ('d',
    // 'h', 'm'), then the rankings of each kind ('a', 'c', 'v') and granularity ('d', 'h').
    struct range {
      std::string from, to;
      bool expiry;
    };
    std::vector<range> ranges;
    for (auto g : {granularity::day, granularity::hour, granularity::minute})
      if (highest[index(g)]) {
        auto to = keys::expiry_range_end(g, *highest[index(g)]);
        ranges.push_back({to.substr(0, 2), std::move(to), true});
      }
    for (auto by : {entity::ad, entity::campaign, entity::advertiser})
      for (auto g : {granularity::day, granularity::hour})
        if (highest[index(g)]) {
          auto to = keys::ranking_key(by, g, *highest[index(g)], 0);
          ranges.push_back({to.substr(0, 3), std::move(to), false});
        }
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> owners;  // this call's, by ad
    std::set<std::string> shares_deleted;
    std::size_t visited = 0;
    for (const auto& r : ranges) {
      if (!at.next.empty() && at.next >= r.to) continue;  // done with this range
      const leveldb::Slice to{r.to};
      for (it->Seek(at.next > r.from ? at.next : r.from); it->Valid() && it->key().compare(to) < 0; it->Next()) {
        if (visited == limit) {
          at.next = it->key().ToString();
          more = true;
          break;
        }
        ++visited;
        const std::string_view key{it->key().data(), it->key().size()};
        if (!r.expiry) {
          auto k = keys::parse_ranking_key(key);
          if (!k) return make_error(errc::storage, "corrupt ranking key");
          if (!expired(k->partition, k->gran, k->bucket_start_ms)) continue;
          wb.Delete(it->key());
          ++out.keys;
          continue;
        }
        auto k = keys::parse_expiry_key(key);
        if (!k) return make_error(errc::storage, "corrupt expiry key");
        const auto p = partition_of(k->ad_id, partitions);
        if (!expired(p, k->gran, k->bucket_start_ms)) continue;
        wb.Delete(it->key());
        wb.Delete(keys::count_key(k->ad_id, k->gran, k->bucket_start_ms));
        out.keys += 2;
        auto o = owners.find(k->ad_id);
        if (o == owners.end()) {
          std::pair<std::uint64_t, std::uint64_t> ids{0, 0};
          std::string value;
          auto s = impl_->db->Get(ro, keys::owner_key(k->ad_id), &value);
          if (!s.ok() && !s.IsNotFound()) return to_error(s, "cannot read owner");
          if (s.ok() && !keys::decode_owner(value, ids.first, ids.second))
            return make_error(errc::storage, "corrupt owner of ad " + std::to_string(k->ad_id));
          o = owners.emplace(k->ad_id, ids).first;
        }
        for (auto [kind, id] : {std::pair{entity::campaign, o->second.first}, std::pair{entity::advertiser, o->second.second}}) {
          if (id == 0) continue;  // not rolled up
          auto share = keys::group_key(kind, id, k->gran, k->bucket_start_ms, p);
          if (!shares_deleted.insert(share).second) continue;
          wb.Delete(share);
          ++out.keys;
        }
      }
      if (auto err = to_error(it->status(), "count retention scan failed")) return err;
      if (more) break;
      at.next = r.to;
    }
    return out.keys != 0 || floors_moved;
  });
  if (err) return err;
  return out;
}

caf::error store::compact_ids(std::int64_t from_ms, std::int64_t to_ms) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  for (char tag : keys::dedup_tags) {
    const auto from = keys::minute_range_end(tag, from_ms);  // (minute, ad 0): the minute's first key
    const auto to = keys::minute_range_end(tag, to_ms + 60'000);
    leveldb::Slice a{from}, z{to};
    impl_->db->CompactRange(&a, &z);
  }
  return {};
}

store::disk_usage store::approximate_disk_usage() {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  disk_usage out;
  if (!impl_->db) return out;
  const std::string bounds[][2] = {{"d", "e"}, {"f", "g"}, {"s", "t"}, {"c", "d"}, {"e", "f"},
                                   {"r", "s"}, {"t", "u"}, {std::string(1, '\0'), std::string(1, '\x7f')}};
  constexpr int n = 8;
  leveldb::Range ranges[n];
  for (int i = 0; i < n; ++i) ranges[i] = leveldb::Range{bounds[i][0], bounds[i][1]};
  std::uint64_t sizes[n] = {};
  impl_->db->GetApproximateSizes(ranges, n, sizes);
  out.ids = sizes[0];
  out.filters = sizes[1];
  out.runs = sizes[2];
  out.counts = sizes[3] + sizes[4];
  out.rollups = sizes[5] + sizes[6];
  out.total = sizes[7];
  return out;
}

std::uint64_t store::id_reads() const { return impl_->id_reads.load(std::memory_order_relaxed); }
std::uint64_t store::id_lookups() const { return impl_->id_lookups.load(std::memory_order_relaxed); }
std::uint64_t store::reopens() const { return impl_->reopens.load(std::memory_order_relaxed); }
std::uint32_t store::format() const { return impl_->format; }

caf::expected<std::string> store::read_value(const std::string& key, const char* what) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, key, &value);
  if (s.IsNotFound()) return std::string{};
  if (!s.ok()) return to_error(s, std::string{"cannot read "} + what);
  return value;
}

caf::expected<std::string> store::read_filter(std::uint64_t ad_id, std::int64_t minute_ms) {
  return read_value(keys::filter_key(ad_id, minute_ms), "id filter");
}

caf::expected<std::string> store::read_runs(std::uint64_t ad_id, std::int64_t minute_ms) {
  return read_value(keys::runs_key(ad_id, minute_ms), "runs");
}

caf::error store::read_ids(std::uint64_t ad_id, std::int64_t minute_ms, std::vector<click_id>& out) {
  return visit_ids(ad_id, minute_ms, [&](const click_id& id) { out.push_back(id); });
}

caf::error store::visit_ids(std::uint64_t ad_id, std::int64_t minute_ms,
                            const std::function<void(const click_id&)>& visit) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  impl_->id_reads.fetch_add(1, std::memory_order_relaxed);
  const auto prefix = keys::id_minute_prefix(minute_ms, ad_id);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  std::vector<click_id> chunk;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    chunk.clear();
    if (!keys::decode_ids({it->value().data(), it->value().size()}, chunk))
      return make_error(errc::storage, "corrupt id chunk of ad " + std::to_string(ad_id));
    for (const auto& id : chunk) visit(id);
  }
  return to_error(it->status(), "id scan failed");
}

caf::expected<bool> store::contains_id(std::uint64_t ad_id, std::int64_t minute_ms, const click_id& id) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  impl_->id_lookups.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (auto level : keys::id_levels) {
    const auto prefix = keys::id_shard_prefix(minute_ms, ad_id, level, keys::id_shard(id, level));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const auto v = it->value();
      if (v.size() % click_id_size != 0)
        return make_error(errc::storage, "corrupt id chunk of ad " + std::to_string(ad_id));
      // Sorted 16-byte ids: binary search on the raw bytes.
      std::size_t lo = 0, hi = v.size() / click_id_size;
      while (lo < hi) {
        const auto mid = lo + (hi - lo) / 2;
        const int c = std::memcmp(v.data() + mid * click_id_size, id.data(), click_id_size);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    if (auto err = to_error(it->status(), "id lookup failed")) return err;
  }
  return false;
}

caf::expected<store::id_totals> store::count_ids(std::uint64_t ad_id, std::uint64_t limit) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  // Ids are keyed by minute first: visit the ad's minutes (its minute count keys), then
  // each minute's chunks, keys and value sizes only.
  id_totals out;
  const auto minutes_prefix = keys::count_key(ad_id, granularity::minute, 0).substr(0, 10);
  std::unique_ptr<leveldb::Iterator> m{impl_->db->NewIterator(leveldb::ReadOptions{})};
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (m->Seek(minutes_prefix); m->Valid() && m->key().starts_with(minutes_prefix); m->Next()) {
    auto parts = keys::parse_count_key({m->key().data(), m->key().size()});
    if (!parts) return make_error(errc::storage, "corrupt count key of ad " + std::to_string(ad_id));
    const auto prefix = keys::id_minute_prefix(parts->bucket_start_ms, ad_id);
    bool any = false;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (out.ids >= limit) {
        out.complete = false;
        return out;
      }
      out.ids += it->value().size() / click_id_size;
      any = true;
    }
    if (auto err = to_error(it->status(), "id scan failed")) return err;
    std::string runs;
    auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::runs_key(ad_id, parts->bucket_start_ms), &runs);
    if (!s.IsNotFound()) {
      if (!s.ok()) return to_error(s, "cannot read runs");
      std::vector<id_span> spans;
      if (!keys::decode_runs_row(runs, spans)) return make_error(errc::storage, "corrupt runs of ad " + std::to_string(ad_id));
      for (const auto& r : spans) out.ids += r.ids();
      any = any || !spans.empty();
    }
    if (any) ++out.minutes;
  }
  if (auto err = to_error(m->status(), "id scan failed")) return err;
  return out;
}

caf::error store::scan_minutes(std::uint64_t ad_id, std::int64_t from_ms, std::int64_t to_ms,
                               std::vector<series_point>& out) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
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

caf::error store::scan_all_minutes(const std::function<void(std::uint64_t, const minute_count&)>& visit) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek("c"); it->Valid() && it->key().starts_with("c"); it->Next()) {
    auto k = keys::parse_count_key({it->key().data(), it->key().size()});
    if (!k) return make_error(errc::storage, "corrupt bucket key");
    if (k->gran != granularity::minute) continue;
    auto v = keys::decode_bucket({it->value().data(), it->value().size()});
    if (!v) return make_error(errc::storage, "corrupt bucket");
    visit(k->ad_id, {k->bucket_start_ms, v->count, v->state, v->version});
  }
  return to_error(it->status(), "scan failed");
}

namespace {
/// Reads one rollup value; all zero if absent.
caf::expected<rollup_value> get_rollup(leveldb::DB& db, const std::string& key, const char* what) {
  std::string value;
  auto s = db.Get(leveldb::ReadOptions{}, key, &value);
  if (s.IsNotFound()) return rollup_value{};
  if (!s.ok()) return to_error(s, std::string{"cannot read "} + what);
  auto v = keys::decode_rollup(value);
  if (!v) return make_error(errc::storage, std::string{"corrupt "} + what);
  return *v;
}
}  // namespace

struct store::snapshot::impl {
  store::impl* owner = nullptr;
  leveldb::DB* db = nullptr;  ///< the database it was taken from (a reopen makes another)
  const leveldb::Snapshot* snap = nullptr;
};

store::snapshot::snapshot(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

store::snapshot::~snapshot() {
  std::shared_lock<std::shared_mutex> lock{impl_->owner->mutex};
  if (impl_->owner->db.get() == impl_->db) impl_->db->ReleaseSnapshot(impl_->snap);
  // else: that database is gone, and its snapshots with it
}

std::unique_ptr<store::snapshot> store::take_snapshot() {
  while (impl_->opts.faults && impl_->opts.faults->active("storage-read-hang"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  auto p = std::make_unique<snapshot::impl>();
  p->owner = impl_.get();
  p->db = impl_->db.get();
  if (p->db) p->snap = p->db->GetSnapshot();
  return std::unique_ptr<snapshot>{new snapshot(std::move(p))};
}

namespace {
/// Read options at `at` (or now); an error if `at` was taken from a database since reopened.
caf::error read_at(const store::snapshot* at, const store::snapshot::impl* at_impl, leveldb::DB* db,
                   leveldb::ReadOptions& ro) {
  if (!at) return {};
  if (!at_impl->snap || at_impl->db != db) return make_error(errc::storage, "the store was reopened during the query");
  ro.snapshot = at_impl->snap;
  return {};
}
}  // namespace

caf::expected<rollup_value> store::read_rollup(std::uint64_t ad_id, granularity g, std::int64_t start_ms) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  return get_rollup(*impl_->db, keys::count_key(ad_id, g, start_ms), "rollup");
}

caf::error store::scan_rollups(std::uint64_t ad_id, granularity g, std::int64_t from_ms, std::int64_t to_ms,
                               std::vector<std::pair<std::int64_t, rollup_value>>& out, const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto last = keys::count_key(ad_id, g, to_ms);  // exclusive
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(ro)};
  for (it->Seek(keys::count_key(ad_id, g, from_ms)); it->Valid() && it->key().compare(last) < 0; it->Next()) {
    auto k = keys::parse_count_key({it->key().data(), it->key().size()});
    auto v = keys::decode_rollup({it->value().data(), it->value().size()});
    if (!k || !v) return make_error(errc::storage, "corrupt rollup of ad " + std::to_string(ad_id));
    out.emplace_back(k->bucket_start_ms, *v);
  }
  return to_error(it->status(), "rollup scan failed");
}

caf::expected<std::optional<store::owner>> store::read_owner(std::uint64_t ad_id) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::string value;
  auto s = impl_->db->Get(leveldb::ReadOptions{}, keys::owner_key(ad_id), &value);
  if (s.IsNotFound()) return std::optional<owner>{};
  if (!s.ok()) return to_error(s, "cannot read the owner of an ad");
  owner o;
  if (!keys::decode_owner(value, o.campaign_id, o.advertiser_id))
    return make_error(errc::storage, "corrupt owner of ad " + std::to_string(ad_id));
  return std::optional<owner>{o};
}

caf::error store::scan_owners(const std::function<void(std::uint64_t, const owner&)>& visit, const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(ro)};
  for (it->Seek("a"); it->Valid() && it->key().starts_with("a"); it->Next()) {
    std::uint64_t ad = 0;
    owner o;
    if (!keys::parse_owner_key({it->key().data(), it->key().size()}, ad) ||
        !keys::decode_owner({it->value().data(), it->value().size()}, o.campaign_id, o.advertiser_id))
      return make_error(errc::storage, "corrupt owner row");
    visit(ad, o);
  }
  return to_error(it->status(), "owner scan failed");
}

caf::expected<rollup_value> store::read_group(entity kind, std::uint64_t id, granularity g, std::int64_t start_ms,
                                              std::uint32_t partition) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  return get_rollup(*impl_->db, keys::group_key(kind, id, g, start_ms, partition), "group rollup");
}

caf::error store::scan_group(entity kind, std::uint64_t id, granularity g, std::int64_t from_ms, std::int64_t to_ms,
                             const std::function<void(std::int64_t, std::uint32_t, const rollup_value&)>& visit,
                             const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto last = keys::group_key(kind, id, g, to_ms, 0);  // exclusive
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(ro)};
  for (it->Seek(keys::group_key(kind, id, g, from_ms, 0)); it->Valid() && it->key().compare(last) < 0; it->Next()) {
    auto k = keys::parse_group_key({it->key().data(), it->key().size()});
    auto v = keys::decode_rollup({it->value().data(), it->value().size()});
    if (!k || !v) return make_error(errc::storage, "corrupt group rollup");
    visit(k->bucket_start_ms, k->partition, *v);
  }
  return to_error(it->status(), "group scan failed");
}

caf::expected<bool> store::group_exists(entity kind, std::uint64_t id) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto prefix = keys::group_prefix(kind, id);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  it->Seek(prefix);
  if (it->Valid() && it->key().starts_with(prefix)) return true;
  if (!it->status().ok()) return to_error(it->status(), "group lookup failed");
  return false;
}

caf::error store::scan_group_ids(entity kind, const std::function<void(std::uint64_t)>& visit, const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto prefix = keys::group_prefix(kind, 0).substr(0, 2);
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(ro)};
  it->Seek(prefix);
  while (it->Valid() && it->key().starts_with(prefix)) {
    auto k = keys::parse_group_key({it->key().data(), it->key().size()});
    if (!k) return make_error(errc::storage, "corrupt group key");
    visit(k->id);
    if (k->id == UINT64_MAX) break;
    it->Seek(keys::group_prefix(kind, k->id + 1));  // the next group
  }
  return to_error(it->status(), "group scan failed");
}

caf::expected<count_floor> store::read_count_floor(std::uint32_t partition, const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  return stored_count_floor(*impl_->db, ro, partition);
}

caf::expected<count_floor> store::highest_count_floor(const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  count_floor out;
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(ro)};
  for (it->Seek("k"); it->Valid() && it->key()[0] == 'k'; it->Next()) {
    count_floor f;
    if (!keys::decode_count_floor({it->value().data(), it->value().size()}, f))
      return make_error(errc::storage, "corrupt count floor");
    out.raise(f);
  }
  if (auto err = to_error(it->status(), "cannot read the count floors")) return err;
  return out;
}

caf::error store::read_ranking(std::uint32_t partition, ranking& r, const snapshot* at) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  std::string value;
  r.top.clear();
  r.unlisted_max = 0;
  leveldb::ReadOptions ro;
  if (auto err = read_at(at, at ? at->impl_.get() : nullptr, impl_->db.get(), ro)) return err;
  auto s = impl_->db->Get(ro, keys::ranking_key(r.by, r.gran, r.start_ms, partition), &value);
  if (s.IsNotFound()) return {};
  if (!s.ok()) return to_error(s, "cannot read a ranking");
  if (!keys::decode_ranking(value, r)) return make_error(errc::storage, "corrupt ranking");
  return {};
}

caf::error store::scan_outbox(std::uint32_t partition, std::uint64_t from_seq, std::size_t limit,
                              std::vector<outbox_message>& out) {
  std::shared_lock<std::shared_mutex> lock{impl_->mutex};
  if (!impl_->db) return closed_error(impl_->dir);
  const auto prefix = keys::outbox_prefix(partition);
  std::unique_ptr<leveldb::Iterator> it{impl_->db->NewIterator(leveldb::ReadOptions{})};
  std::size_t n = 0;
  for (it->Seek(keys::outbox_key(partition, from_seq)); n < limit && it->Valid() && it->key().starts_with(prefix);
       it->Next(), ++n) {
    outbox_message m;
    std::uint32_t p = 0;
    if (!keys::parse_outbox_key({it->key().data(), it->key().size()}, p, m.seq) ||
        !keys::decode_outbox({it->value().data(), it->value().size()}, m))
      return make_error(errc::storage, "corrupt outbox row of partition " + std::to_string(partition));
    out.push_back(std::move(m));
  }
  return to_error(it->status(), "outbox scan failed");
}

}  // namespace adclick
