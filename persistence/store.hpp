// The durable state of adclick: counts, click ids, the outbox, stream positions and
// metadata in one LevelDB database. The only code in the project that includes LevelDB
// (see store.cpp); keys and values are persistence/FORMAT.md.
//
// The store speaks its own rows, like LevelDB's own API: a caller fills a store::batch and
// write() applies it atomically.
//
// After a failed write the store reopens the database before the next one: LevelDB's log
// may then hold a torn record (a write error can leave half a record behind, and later
// records appended after it are lost when the log is replayed), and after a failed sync
// LevelDB refuses every write until it is reopened. The reopen waits until a probe file
// can be written and synced in the directory, so a full disk keeps the database open for
// reads; if the reopen itself fails, every read and write fails until it succeeds (the
// actors then stop and the process exits, so that a restart replays from what is durable).
//
// Thread safety: a store may be used from many threads at once. Reads run concurrently
// with each other and with the one write at a time (writes are serialized, so that no
// write follows a failing one into the same log); a reopen waits for the reads. Ownership: open() hands the caller the only
// handle; the database and its directory lock are released when it is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/types.hpp"
#include "persistence/key_codec.hpp"

namespace adclick {

class fault_switch;

class store {
 public:
  struct options {
    std::uint32_t partitions = 16;  ///< must match what the directory was created with
    window_rules rules;             ///< likewise
    bool sync = true;               ///< fsync each write()
    /// Testing: faults injected into the database's file I/O (storage-*), or null.
    std::shared_ptr<fault_switch> faults;
    /// Testing: the format a new directory is marked with (0: keys::format_version).
    std::uint32_t create_format = 0;
  };

  /// Rows to write atomically (one LevelDB WriteBatch).
  class batch {
   public:
    batch();
    ~batch();
    batch(batch&&) noexcept;
    batch& operator=(batch&&) noexcept;

    /// One minute bucket (absolute), with the partition's open marker kept in step: put
    /// while the bucket is open, deleted once it is final or amended, when the expiry rows
    /// of the minute, its hour and its day are put (retention finds the buckets by them).
    void put_bucket(std::uint32_t partition, std::uint64_t ad_id, const minute_count& m);
    /// Testing: the buckets of this batch get no expiry rows, as a format-6 build wrote them.
    void omit_expiry_rows();
    /// The click ids an (ad, minute) gained, as chunk `chunk` (unique per (ad, minute)).
    void put_ids(std::uint64_t ad_id, std::int64_t minute_ms, const std::vector<click_id>& ids, std::uint64_t chunk);
    void put_filter(std::uint64_t ad_id, const minute_filter& f);
    /// The runs row of (ad, minute): the sequenced ids it holds, whole (replacing the last).
    void put_runs(std::uint64_t ad_id, const minute_runs& r);
    /// An ad's hour or day bucket (absolute).
    void put_rollup(std::uint64_t ad_id, const rollup_count& r);
    /// The campaign and advertiser an ad's counts roll up into.
    void put_owner(std::uint64_t ad_id, std::uint64_t campaign_id, std::uint64_t advertiser_id);
    /// One partition's share of a campaign's or advertiser's bucket (absolute).
    void put_group(std::uint32_t partition, const group_count& g);
    /// One partition's ranking of an hour or a day (whole).
    void put_ranking(std::uint32_t partition, const ranking& r);
    void put_outbox(std::uint32_t partition, const outbox_message& m);
    void delete_outbox(std::uint32_t partition, std::uint64_t seq);
    void put_position(std::uint32_t partition, const keys::position& p);
    bool empty() const;

   private:
    friend class store;
    struct impl;
    std::unique_ptr<impl> impl_;
  };

  /// Opens (creating if missing) the database in `dir`. Fails with errc::storage_locked
  /// if another process has it open, errc::format_mismatch if it was written by another
  /// format version, partition count or window rules.
  static caf::expected<std::unique_ptr<store>> open(const std::string& dir, const options& opts);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Applies `b` atomically, synced unless options::sync is off. Either all of it is
  /// durable or none of it is (see above for what a failure does to the next write).
  caf::error write(batch& b);
  /// Applies `b` atomically without waiting for fsync: for writes whose loss in an OS
  /// crash only repeats work (removing published outbox rows).
  caf::error write_unsynced(batch& b);

  /// The last checkpointed position of `partition` (all zero if it never checkpointed).
  caf::expected<keys::position> read_position(std::uint32_t partition);

  /// One minute bucket; count 0 and open if absent.
  caf::expected<minute_count> read_minute(std::uint64_t ad_id, std::int64_t minute_ms);

  /// Where a scan done in steps stands: the first key still to visit (empty: the start),
  /// and whether the range is exhausted.
  struct scan_step {
    std::string next;
    bool done = false;
  };
  /// Calls `visit(minute, ad)` for up to `limit` buckets of `partition` that are stored
  /// open, from `at`, and moves `at` past them. Recovery calls it until `at.done`, a step
  /// at a time, so that the partition answers (503 recovering) between steps.
  caf::error scan_open(std::uint32_t partition, scan_step& at, std::size_t limit,
                       const std::function<void(std::int64_t minute_ms, std::uint64_t ad_id)>& visit);

  /// Appends every stored click id of (ad, minute) to `out` (one range scan over its chunks).
  caf::error read_ids(std::uint64_t ad_id, std::int64_t minute_ms, std::vector<click_id>& out);
  /// Calls `visit` with every stored click id of (ad, minute), a chunk at a time: the same
  /// scan as read_ids without holding the minute's ids (seeding a filter from them).
  caf::error visit_ids(std::uint64_t ad_id, std::int64_t minute_ms, const std::function<void(const click_id&)>& visit);

  /// True if `id` is stored for (ad, minute): at each shard level, one seek to the id's
  /// shard and a binary search of each chunk there, so it reads about
  /// keys::id_shard_target ids per chunk however many the minute holds.
  caf::expected<bool> contains_id(std::uint64_t ad_id, std::int64_t minute_ms, const click_id& id);

  /// The stored Bloom filter of (ad, minute)'s ids; empty if there is none.
  caf::expected<std::string> read_filter(std::uint64_t ad_id, std::int64_t minute_ms);
  /// The stored runs row of (ad, minute); empty if there is none.
  caf::expected<std::string> read_runs(std::uint64_t ad_id, std::int64_t minute_ms);

  /// Every stored id of an ad: how many, in how many minutes (admin inspect; per minute of
  /// the ad, a range scan over its id chunks, without decoding them, and its runs row).
  /// Stops once `limit` ids are counted (complete is then false): an ad's ids can be
  /// billions. An upper bound: a sequenced id a format-5 build wrote into chunks is also in
  /// the runs row once its minute was read back (persistence/FORMAT.md, runs).
  struct id_totals {
    std::uint64_t ids = 0;
    std::uint64_t minutes = 0;
    bool complete = true;
  };
  caf::expected<id_totals> count_ids(std::uint64_t ad_id, std::uint64_t limit);
  /// Retention of the dedup state: deletes the id chunks, runs and filters of every (minute,
  /// ad) whose partition cannot count a click of that minute any more: the minute is below
  /// window_rules::first_open_dedup_minute of that partition's stored watermark (its clicks
  /// are rejected as too old, and watermarks never go back). Up to `limit` keys per call,
  /// deletes and rows kept alike, resuming from `at` (a pass is done when `at.done`). Each
  /// call reads the positions and the rows from one LevelDB snapshot. Why no row it deletes
  /// can be written again: such a minute is final before the floor passes it (a horizon is
  /// longer than lateness plus a minute), its filter is rewritten only by an amendment, and
  /// an amendment is a click that is now too old. The minute leads both keys, so a pass
  /// visits only rows below the highest floor, never the rest of the store (a partition that
  /// stopped moving leaves its own rows to be visited again); the deletes are not synced (an
  /// OS crash only brings rows back for the next pass). Partitions not owned by this node
  /// count like the others: their rows go by their own stored watermark.
  struct purge_result {
    std::uint64_t keys = 0;
    std::uint64_t bytes = 0;  ///< of the keys and values deleted
    /// The lowest floor of a partition with a watermark: minutes before it hold no dedup
    /// state (none if no partition has a watermark), and the partition that sets it.
    std::optional<std::int64_t> floor_ms;
    std::uint32_t held_by = 0;
    /// The minutes this call deleted rows of (compaction needs no more).
    std::set<std::int64_t> deleted_minutes;
  };
  caf::expected<purge_result> purge_expired_ids(scan_step& at, std::size_t limit);
  /// Retention of counts: deletes the count rows (minute, hour, day) of every bucket before
  /// count_retention::retained_from of its partition's stored watermark, with the ad's group
  /// shares of the bucket (found through its owner row) and the rankings of such hours and
  /// days. The buckets are found through the expiry rows, where time leads: a pass visits
  /// the expiry rows and rankings below the highest partition's cutoff, never the rest of
  /// the store. Up to `limit` rows visited per call, resuming from `at`, each call from one
  /// snapshot; the deletes are not synced. Why no row it deletes can be written again:
  /// every retention is at least the dedup horizon (config checks it), so the bucket is
  /// final and a click of it is too old.
  struct count_purge_result {
    std::uint64_t keys = 0;  ///< rows deleted: counts, expiry rows, group shares, rankings
    /// The lowest partition's first kept minute: its floor, which is at least what the rule
    /// keeps and never below what was deleted (none while no partition has deleted or may
    /// delete a minute), and the partition that sets it.
    std::optional<std::int64_t> minutes_from_ms;
    std::uint32_t held_by = 0;
  };
  caf::expected<count_purge_result> purge_expired_counts(scan_step& at, std::size_t limit,
                                                         const count_retention& keep);
  /// Compacts the id chunks, runs and filters of minutes in [from_ms, to_ms], so that the files
  /// of rows purge_expired_ids deleted leave the disk (LevelDB keeps deleted rows until a
  /// compaction reaches them). Blocks while it runs: callers compact a slice at a time.
  caf::error compact_ids(std::int64_t from_ms, std::int64_t to_ms);
  /// LevelDB's estimate of the bytes on disk of each kind of row (files only: the last
  /// few MiB written are in the log and the memtable, not counted).
  struct disk_usage {
    std::uint64_t ids = 0;      ///< id chunks
    std::uint64_t filters = 0;  ///< id filters
    std::uint64_t runs = 0;     ///< runs rows
    std::uint64_t counts = 0;   ///< minute, hour and day buckets, and their expiry rows
    std::uint64_t rollups = 0;  ///< group shares and rankings
    std::uint64_t total = 0;    ///< every row
  };
  disk_usage approximate_disk_usage();

  /// How many times read_ids ran since open (a late click's disk cost, for tests and stats).
  std::uint64_t id_reads() const;
  /// How many times contains_id ran since open.
  std::uint64_t id_lookups() const;
  /// How many times the database was reopened after a failed write.
  std::uint64_t reopens() const;
  /// The format the directory is marked with (keys::format_version once open).
  std::uint32_t format() const;

  /// A consistent view of the database as of one moment, for reads that must agree with
  /// each other (a top-K: rankings and the totals that prove them). Reads given one see no
  /// later write; after a reopen they fail (errc::storage) and the caller asks again.
  class snapshot {
   public:
    ~snapshot();
    struct impl;

   private:
    friend class store;
    explicit snapshot(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
  };
  std::unique_ptr<snapshot> take_snapshot();

  /// An ad's stored hour or day bucket; all zero if absent.
  caf::expected<rollup_value> read_rollup(std::uint64_t ad_id, granularity g, std::int64_t start_ms);
  /// Appends an ad's stored hour or day buckets with start in [from_ms, to_ms), in order.
  caf::error scan_rollups(std::uint64_t ad_id, granularity g, std::int64_t from_ms, std::int64_t to_ms,
                          std::vector<std::pair<std::int64_t, rollup_value>>& out, const snapshot* at = nullptr);

  struct owner {
    std::uint64_t campaign_id = 0;
    std::uint64_t advertiser_id = 0;
  };
  /// The campaign and advertiser of an ad; nullopt if the ad never counted a click.
  caf::expected<std::optional<owner>> read_owner(std::uint64_t ad_id);
  /// Calls `visit(ad, owner)` for every ad that counted a click, in ad order.
  caf::error scan_owners(const std::function<void(std::uint64_t ad_id, const owner&)>& visit,
                         const snapshot* at = nullptr);

  /// One partition's stored share of a group's bucket; all zero if absent.
  caf::expected<rollup_value> read_group(entity kind, std::uint64_t id, granularity g, std::int64_t start_ms,
                                         std::uint32_t partition);
  /// Calls `visit(start, partition, share)` for every stored share of a group's buckets of
  /// granularity `g` with start in [from_ms, to_ms), in start order.
  caf::error scan_group(entity kind, std::uint64_t id, granularity g, std::int64_t from_ms, std::int64_t to_ms,
                        const std::function<void(std::int64_t start_ms, std::uint32_t partition,
                                                 const rollup_value&)>& visit,
                        const snapshot* at = nullptr);
  /// True if the group has any stored bucket (it counted a click).
  caf::expected<bool> group_exists(entity kind, std::uint64_t id);
  /// Calls `visit(id)` for every group of `kind` that counted a click, in id order.
  caf::error scan_group_ids(entity kind, const std::function<void(std::uint64_t id)>& visit,
                            const snapshot* at = nullptr);

  /// What retention of counts has deleted in `partition`, or (highest_count_floor) the
  /// highest over every partition. Read it after the buckets it guards: a bucket deleted
  /// before that read is below it (count_floor).
  caf::expected<count_floor> read_count_floor(std::uint32_t partition, const snapshot* at = nullptr);
  caf::expected<count_floor> highest_count_floor(const snapshot* at = nullptr);

  /// One partition's stored ranking of an hour or a day; empty if absent. `r`'s by, gran
  /// and start_ms name it.
  caf::error read_ranking(std::uint32_t partition, ranking& r, const snapshot* at = nullptr);

  /// Appends the stored minute buckets of `ad_id` with start in [from_ms, to_ms), in order.
  caf::error scan_minutes(std::uint64_t ad_id, std::int64_t from_ms, std::int64_t to_ms,
                          std::vector<series_point>& out);

  /// Calls `visit(ad_id, bucket)` for every stored minute bucket, in key order (the
  /// reconciler's scan of a scratch store).
  caf::error scan_all_minutes(const std::function<void(std::uint64_t ad_id, const minute_count&)>& visit);

  /// Appends up to `limit` outbox messages of `partition` with seq >= `from_seq`, in order.
  caf::error scan_outbox(std::uint32_t partition, std::uint64_t from_seq, std::size_t limit,
                         std::vector<outbox_message>& out);

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> p);
  caf::error apply(batch& b, bool sync);
  /// The frame of a retention step (purge_expired_ids, purge_expired_counts): under the
  /// read lock, from one snapshot and each partition's stored watermark as of it, `visit`
  /// puts deletes into a batch, says whether it put any and sets `more` if rows are left;
  /// the deletes are written unsynced, and `at` is done unless rows are left.
  template <class Visit>
  caf::error retention_step(scan_step& at, Visit&& visit);
  /// The value of `key`; empty if there is none.
  caf::expected<std::string> read_value(const std::string& key, const char* what);
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
